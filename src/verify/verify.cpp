#include "verify/verify.h"

#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "consensus/head.h"
#include "core/status.h"
#include "crypto/hash.h"
#include "state/block.h"

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

VerifiedRepo verify_repo_proof(const TrustAnchor& anchor, const RepoProofBundle& bundle,
                               std::string_view owner, std::string_view name) {
  // 1. The header.
  state::BlockHeader header;
  try {
    header = decode_header(bundle.header);
  } catch (const codec::DecodeError& e) {
    fail(std::string("malformed block header: ") + e.what());
  }
  if (header.encode() != bundle.header) fail("block header is not canonical");
  if (header.version != state::kHeaderV2)
    fail("block header version " + std::to_string(header.version) +
         " does not commit to the repository tree");
  if (header.chain_id != anchor.chain_id)
    fail("block of chain '" + header.chain_id + "', not of the trusted genesis' '" +
         anchor.chain_id + "'");
  Digest id = crypto::sha256(bundle.header);

  // 2. The finalization certificate.
  if (bundle.certificate.size() > consensus::kMaxCertificateBytes) fail("certificate too large");
  codec::Writer body;
  body.u64be(header.height).bytes(bundle.certificate);
  std::optional<consensus::FinalityHead> head;
  try {
    head = consensus::verify_head(body.data(), anchor.consensus_namespace(), anchor.validators);
  } catch (const codec::DecodeError& e) {
    fail(std::string("malformed finalization certificate: ") + e.what());
  }
  if (!head) fail("the finalization certificate does not verify against the genesis validators");
  if (head->block != id)
    fail("the finalization certificate finalizes block " + hex_encode(head->block) +
         ", not the header's " + hex_encode(id));

  // 3. The state root's two halves.
  if (state::authenticated_state_root(bundle.history, bundle.repos_root) != header.state_root)
    fail("history and repos_root do not make the header's state root");

  // 4. The Merkle proof.
  state::SmtProof proof;
  try {
    proof = state::decode_smt_proof(bundle.proof);
  } catch (const codec::DecodeError& e) {
    fail(std::string("malformed Merkle proof: ") + e.what());
  }
  Digest key = state::repo_tree_key(owner, name);
  state::SmtClaim claim;
  try {
    claim = state::smt_evaluate(proof, key);
  } catch (const Error& e) {
    fail(e.status().message());
  }
  if (claim.root != bundle.repos_root)
    fail("the Merkle proof does not lead to the block's repository root");

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
  if (crypto::sha256(*bundle.state) != *claim.value)
    fail("the repository state does not hash to the proven leaf value");
  state::RepoState st;
  try {
    st = state::decode_repo_state(*bundle.state);
  } catch (const codec::DecodeError& e) {
    fail(std::string("malformed repository state: ") + e.what());
  }
  if (fold(st.owner_login) != fold(owner) || fold(st.name) != fold(name))
    fail("the proven state is of " + st.owner_login + "/" + st.name);
  out.repo = std::move(st);
  return out;
}

RepoProofBundle bundle_from_json(std::string_view text) {
  if (text.size() > (64u << 20)) fail("proof response too large");
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) fail("proof response is not a JSON object");
  auto hex_field = [&](const nlohmann::json& o, const char* name) -> Bytes {
    auto it = o.find(name);
    if (it == o.end() || !it->is_string()) fail(std::string("proof response lacks ") + name);
    auto b = hex_decode(it->get<std::string>());
    if (!b) fail(std::string("proof response: ") + name + " is not hex");
    return *b;
  };
  auto digest_field = [&](const char* name) {
    Bytes b = hex_field(j, name);
    if (b.size() != 32) fail(std::string("proof response: ") + name + " is not 32 bytes");
    Digest d{};
    std::copy(b.begin(), b.end(), d.begin());
    return d;
  };
  RepoProofBundle b;
  b.header = hex_field(j, "header");
  b.certificate = hex_field(j, "certificate");
  b.history = digest_field("history");
  b.repos_root = digest_field("repos_root");
  b.proof = hex_field(j, "proof");
  auto repo = j.find("repository");
  if (repo != j.end() && repo->is_object()) b.state = hex_field(*repo, "state");
  return b;
}

}  // namespace guts::verify
