#include "verify/verify.h"

#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "consensus/head.h"
#include "core/status.h"
#include "crypto/hash.h"
#include "state/block.h"
#include "state/validator_set.h"

namespace guts::verify {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw Error(Code::kInvalidArgument, "proof rejected: " + what);
}

// The header as state/block.cpp reads it; the caller checks that it re-encodes to `data`.
state::BlockHeader decode_header(ByteView data) {
  codec::Reader r(data);
  state::BlockHeader h;
  h.version = r.u8();
  h.chain_id = r.str(state::kMaxChainIdBytes, "chain id");
  h.height = r.varint();
  h.parent = r.fixed<32>();
  h.view = r.varint();
  h.timestamp_ms = r.varint();
  h.proposer = r.fixed<32>();
  h.tx_root = r.fixed<32>();
  h.state_root = r.fixed<32>();
  h.tx_count = r.varint_max(state::kMaxBlockTxs, "transaction count");
  r.finish();
  return h;
}

// A hex field of a JSON object from a node (`what` names the response in errors).
Bytes hex_field(const nlohmann::json& o, const char* name, const char* what) {
  auto it = o.find(name);
  if (it == o.end() || !it->is_string()) fail(std::string(what) + " lacks " + name);
  auto b = hex_decode(it->get<std::string>());
  if (!b) fail(std::string(what) + ": " + name + " is not hex");
  return *b;
}

Digest digest_field(const nlohmann::json& o, const char* name, const char* what) {
  Bytes b = hex_field(o, name, what);
  if (b.size() != 32) fail(std::string(what) + ": " + name + " is not 32 bytes");
  Digest d{};
  std::copy(b.begin(), b.end(), d.begin());
  return d;
}

std::string fold(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

}  // namespace

TrustAnchor TrustAnchor::from_genesis(const state::Genesis& g) {
  TrustAnchor a;
  a.chain_id = g.chain_id;
  for (const auto& v : g.validators) a.validators.push_back(v.key);
  return a;
}

const std::vector<crypto::PublicKey>* TrustAnchor::set_of(uint64_t epoch) const {
  if (epoch == 0) return &validators;
  return epoch <= later_epochs.size() ? &later_epochs[epoch - 1] : nullptr;
}

uint64_t certificate_epoch(ByteView certificate) {
  try {
    return consensus::decode_certificate(certificate).round().epoch;
  } catch (const codec::DecodeError& e) {
    fail(std::string("malformed finalization certificate: ") + e.what());
  }
}

namespace {

struct FinalizedRoot {
  state::BlockHeader header;
  Digest id{};
  consensus::FinalityHead head;
};

// Steps 1-3: a canonical version-2 header of the anchor's chain, finalized by a certificate of
// the validator set of the certificate's epoch, whose state root is history ‖ repos_root.
FinalizedRoot verify_finalized_root(const TrustAnchor& anchor, const Bytes& header_bytes,
                                    const Bytes& certificate, const Digest& history,
                                    const Digest& repos_root) {
  // 1. The header.
  FinalizedRoot out;
  auto& header = out.header;
  try {
    header = decode_header(header_bytes);
  } catch (const codec::DecodeError& e) {
    fail(std::string("malformed block header: ") + e.what());
  }
  if (header.encode() != header_bytes) fail("block header is not canonical");
  if (header.version < state::kHeaderV2)
    fail("block header version " + std::to_string(header.version) +
         " does not commit to the repository tree");
  if (header.chain_id != anchor.chain_id)
    fail("block of chain '" + header.chain_id + "', not of the trusted genesis' '" +
         anchor.chain_id + "'");
  out.id = crypto::sha256(header_bytes);

  // 2. The finalization certificate, against the set of its epoch.
  if (certificate.size() > consensus::kMaxCertificateBytes) fail("certificate too large");
  codec::Writer body;
  body.u64be(header.height).bytes(certificate);
  std::optional<consensus::FinalityHead> head;
  const uint64_t epoch = certificate_epoch(certificate);
  const auto* set = anchor.set_of(epoch);
  if (!set)
    fail("the finalization certificate is signed by the validator set of epoch " +
         std::to_string(epoch) + ", which this client has not followed (known: epochs 0-" +
         std::to_string(anchor.later_epochs.size()) + ")");
  try {
    head = consensus::verify_head(body.data(), anchor.consensus_namespace(), *set);
  } catch (const codec::DecodeError& e) {
    fail(std::string("malformed finalization certificate: ") + e.what());
  }
  if (!head)
    fail("the finalization certificate does not verify against the " +
         (epoch == 0 ? std::string("genesis validators")
                     : "validators of epoch " + std::to_string(epoch)));
  if (head->block != out.id)
    fail("the finalization certificate finalizes block " + hex_encode(head->block) +
         ", not the header's " + hex_encode(out.id));
  out.head = *head;

  // 3. The state root's two halves.
  if (state::authenticated_state_root(history, repos_root) != header.state_root)
    fail("history and repos_root do not make the header's state root");
  return out;
}

state::SmtClaim evaluate_proof(const Bytes& proof_bytes, const Digest& key,
                               const Digest& repos_root) {
  state::SmtProof proof;
  try {
    proof = state::decode_smt_proof(proof_bytes);
  } catch (const codec::DecodeError& e) {
    fail(std::string("malformed Merkle proof: ") + e.what());
  }
  state::SmtClaim claim;
  try {
    claim = state::smt_evaluate(proof, key);
  } catch (const Error& e) {
    fail(e.status().message());
  }
  if (claim.root != repos_root)
    fail("the Merkle proof does not lead to the block's repository root");
  return claim;
}

}  // namespace

void follow_epochs(TrustAnchor& anchor, const std::vector<EpochLink>& links) {
  for (const auto& link : links) {
    const uint64_t next = anchor.later_epochs.size() + 1;
    if (link.epoch < next) continue;  // known already
    if (link.epoch != next)
      fail("the validator-set chain skips from epoch " + std::to_string(next - 1) + " to " +
           std::to_string(link.epoch));
    // The hand-over: the last block of epoch next-1, finalized by that epoch's set.
    if (certificate_epoch(link.certificate) != next - 1)
      fail("the hand-over of epoch " + std::to_string(next - 1) +
           " is certified by another epoch's set");
    auto root =
        verify_finalized_root(anchor, link.header, link.certificate, link.history, link.repos_root);
    // Its tree holds the change that activates right after it: epoch `next`'s set.
    const uint64_t activation = root.header.height + 1;
    auto claim = evaluate_proof(link.proof, state::validator_tree_key(activation), link.repos_root);
    if (!claim.value)
      fail("the hand-over block at height " + std::to_string(root.header.height) +
           " schedules no validator set from height " + std::to_string(activation));
    if (crypto::sha256(link.change) != *claim.value)
      fail("the validator set change does not hash to the proven leaf value");
    state::ValidatorChange change;
    try {
      change = state::decode_validator_change(to_string(link.change));
    } catch (const codec::DecodeError& e) {
      fail(std::string("malformed validator set change: ") + e.what());
    }
    if (change.activation_height != activation)
      fail("the proven change activates at " + std::to_string(change.activation_height) +
           ", not after the hand-over block");
    if (auto e = state::validator_set_error(change.validators)) fail("validator set: " + *e);
    std::vector<crypto::PublicKey> keys;
    for (const auto& v : change.validators) keys.push_back(v.key);
    anchor.later_epochs.push_back(std::move(keys));
  }
}

VerifiedRepo verify_repo_proof(const TrustAnchor& anchor, const RepoProofBundle& bundle,
                               std::string_view owner, std::string_view name) {
  auto root = verify_finalized_root(anchor, bundle.header, bundle.certificate, bundle.history,
                                    bundle.repos_root);
  const auto& header = root.header;
  const Digest id = root.id;
  const auto* head = &root.head;

  // 4. The Merkle proof.
  Digest key = state::repo_tree_key(owner, name);
  state::SmtClaim claim = evaluate_proof(bundle.proof, key, bundle.repos_root);

  VerifiedRepo out;
  out.height = header.height;
  out.block = id;
  out.view = head->view;
  out.timestamp_ms = header.timestamp_ms;
  // 5. The repository's state.
  if (!claim.value) {
    if (bundle.state) fail("the proof proves absence but a repository state was given");
    return out;
  }
  if (!bundle.state) fail("the proof proves the repository exists but no state was given");
  state::RepoState st;
  try {
    st = state::decode_repo_state(*bundle.state);
  } catch (const codec::DecodeError& e) {
    fail(std::string("malformed repository state: ") + e.what());
  }
  // Version 2 hashes the state; version 3 its fields and the root of its refs' tree.
  if (state::repo_leaf_value(st, header.version) != *claim.value)
    fail("the repository state does not give the proven leaf value");
  if (fold(st.owner_login) != fold(owner) || fold(st.name) != fold(name))
    fail("the proven state is of " + st.owner_login + "/" + st.name);
  out.repo = std::move(st);
  return out;
}

std::vector<EpochLink> epoch_links_from_json(std::string_view text) {
  if (text.size() > (64u << 20)) fail("validator proofs response too large");
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("epochs") || !j["epochs"].is_array())
    fail("validator proofs response has no epochs");
  std::vector<EpochLink> out;
  for (const auto& e : j["epochs"]) {
    if (!e.is_object() || !e.contains("epoch") || !e["epoch"].is_number_unsigned())
      fail("validator proofs response: an epoch without its number");
    constexpr const char* kWhat = "validator proof";
    auto hex = [&](const char* name) { return hex_field(e, name, kWhat); };
    auto digest = [&](const char* name) { return digest_field(e, name, kWhat); };
    EpochLink l;
    l.epoch = e["epoch"].get<uint64_t>();
    l.header = hex("header");
    l.certificate = hex("certificate");
    l.history = digest("history");
    l.repos_root = digest("repos_root");
    l.proof = hex("proof");
    l.change = hex("change");
    out.push_back(std::move(l));
  }
  return out;
}

RepoProofBundle bundle_from_json(std::string_view text) {
  if (text.size() > (64u << 20)) fail("proof response too large");
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) fail("proof response is not a JSON object");
  constexpr const char* kWhat = "proof response";
  RepoProofBundle b;
  b.header = hex_field(j, "header", kWhat);
  b.certificate = hex_field(j, "certificate", kWhat);
  b.history = digest_field(j, "history", kWhat);
  b.repos_root = digest_field(j, "repos_root", kWhat);
  b.proof = hex_field(j, "proof", kWhat);
  auto repo = j.find("repository");
  if (repo != j.end() && repo->is_object()) b.state = hex_field(*repo, "state", kWhat);
  return b;
}

}  // namespace guts::verify
