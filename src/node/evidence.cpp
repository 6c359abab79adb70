#include "node/evidence.h"

#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "core/status.h"
#include "crypto/did.h"
#include "crypto/ed25519.h"

namespace guts::node {

namespace {

constexpr std::string_view kPrefix = "evidence/";
constexpr uint8_t kFormat = 1;
constexpr size_t kMaxVoteBytes = 4096;

std::string key_for(uint64_t seq) {
  return std::string(kPrefix) + storage::be64(seq);
}

consensus::Kind vote_kind_of_second(consensus::FaultKind k) {
  switch (k) {
    case consensus::FaultKind::kConflictingNotarize:
      return consensus::Kind::kNotarize;
    case consensus::FaultKind::kConflictingFinalize:
    case consensus::FaultKind::kNullifyFinalize:
      return consensus::Kind::kFinalize;
  }
  return consensus::Kind::kNotarize;
}

}  // namespace

std::string encode_evidence(const EvidenceRecord& r) {
  codec::Writer w;
  w.u8(kFormat).varint(r.seq).varint(r.detected_ms);
  w.u8(static_cast<uint8_t>(r.fault.kind)).varint(r.fault.signer);
  w.bytes(consensus::encode_vote(r.fault.first)).bytes(consensus::encode_vote(r.fault.second));
  return to_string(w.data());
}

EvidenceRecord decode_evidence(std::string_view bytes) {
  codec::Reader rd(as_bytes(bytes));
  if (rd.u8() != kFormat) throw codec::DecodeError("evidence: unknown record format");
  EvidenceRecord r;
  r.seq = rd.varint();
  r.detected_ms = rd.varint();
  uint8_t kind = rd.u8();
  if (kind > static_cast<uint8_t>(consensus::FaultKind::kNullifyFinalize))
    throw codec::DecodeError("evidence: unknown fault kind");
  r.fault.kind = static_cast<consensus::FaultKind>(kind);
  r.fault.signer = static_cast<uint32_t>(rd.varint_max(UINT32_MAX, "signer"));
  r.fault.first = consensus::decode_vote(rd.bytes_view(kMaxVoteBytes, "first vote"));
  r.fault.second = consensus::decode_vote(rd.bytes_view(kMaxVoteBytes, "second vote"));
  if (!rd.done()) throw codec::DecodeError("evidence: trailing bytes");
  return r;
}

EvidenceLog::EvidenceLog(storage::Db& db, storage::Cf cf, std::string ns,
                         std::vector<crypto::PublicKey> validators)
    : db_(db), cf_(cf), ns_(std::move(ns)), epochs_{std::move(validators)} {
  auto it = db_.iterate(cf_);
  it->seek_for_prev(std::string(kPrefix) + std::string(8, '\xff'));
  if (it->valid() && it->key().starts_with(kPrefix) && it->key().size() == kPrefix.size() + 8) {
    MutexLock l(mu_);
    next_seq_ = storage::read_be64(it->key().substr(kPrefix.size())) + 1;
  }
}

void EvidenceLog::record(const consensus::Fault& fault, uint64_t now_ms) {
  MutexLock l(mu_);
  bool seen = false;
  db_.scan_prefix(cf_, kPrefix, [&](std::string_view, std::string_view v) {
    try {
      auto r = decode_evidence(v);
      seen = r.fault.first == fault.first && r.fault.second == fault.second;
    } catch (const codec::DecodeError&) {
    }
    return !seen;
  });
  if (seen) return;
  EvidenceRecord r{next_seq_++, now_ms, fault};
  db_.put(cf_, key_for(r.seq), encode_evidence(r), /*sync=*/true);
}

std::vector<EvidenceRecord> EvidenceLog::list(size_t limit) const {
  std::vector<EvidenceRecord> out;
  auto it = db_.iterate(cf_);
  for (it->seek_for_prev(std::string(kPrefix) + std::string(8, '\xff'));
       it->valid() && it->key().starts_with(kPrefix) && out.size() < limit; it->prev()) {
    try {
      out.push_back(decode_evidence(it->value()));
    } catch (const codec::DecodeError&) {
      // A record this build cannot read is skipped, never fatal: evidence is advisory.
    }
  }
  return out;
}

size_t EvidenceLog::count() const {
  size_t n = 0;
  db_.scan_prefix(cf_, kPrefix, [&](std::string_view, std::string_view) {
    ++n;
    return true;
  });
  return n;
}

void EvidenceLog::set_epochs(std::vector<std::vector<crypto::PublicKey>> epochs) {
  MutexLock lock(epochs_mu_);
  epochs_ = std::move(epochs);
}

std::optional<crypto::PublicKey> EvidenceLog::key_of(consensus::Epoch epoch,
                                                     uint32_t signer) const {
  MutexLock lock(epochs_mu_);
  if (epoch >= epochs_.size() || signer >= epochs_[epoch].size()) return std::nullopt;
  return epochs_[epoch][signer];
}

bool EvidenceLog::verify(const consensus::Fault& f) const {
  auto pk = key_of(f.first.round().epoch, f.signer);
  if (!pk) return false;
  if (f.first.signer != f.signer || f.second.signer != f.signer) return false;
  if (f.first.round() != f.second.round()) return false;
  if (f.second.kind != vote_kind_of_second(f.kind)) return false;
  switch (f.kind) {
    case consensus::FaultKind::kConflictingNotarize:
    case consensus::FaultKind::kConflictingFinalize:
      if (f.first.kind != f.second.kind || consensus::same_subject(f.first, f.second)) return false;
      break;
    case consensus::FaultKind::kNullifyFinalize:
      if (f.first.kind != consensus::Kind::kNullify) return false;
      break;
  }
  consensus::VerifyFn verify = [](const crypto::PublicKey& pk, ByteView msg,
                                  const crypto::Signature& sig) {
    return crypto::verify_raw(pk, msg, sig);
  };
  return consensus::verify_vote(verify, ns_, *pk, f.first) &&
         consensus::verify_vote(verify, ns_, *pk, f.second);
}

std::string EvidenceLog::to_json(size_t limit) const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : list(limit)) {
    const auto& f = r.fault;
    nlohmann::json j{{"seq", r.seq},
                     {"detected_ms", r.detected_ms},
                     {"kind", consensus::fault_name(f.kind)},
                     {"epoch", f.first.round().epoch},
                     {"view", f.first.view()},
                     {"signer_index", f.signer},
                     {"signer", nullptr},
                     {"first_vote", hex_encode(consensus::encode_vote(f.first))},
                     {"second_vote", hex_encode(consensus::encode_vote(f.second))},
                     {"verified", verify(f)}};
    if (auto pk = key_of(f.first.round().epoch, f.signer)) j["signer"] = crypto::did_from_key(*pk);
    rows.push_back(std::move(j));
  }
  return nlohmann::json{{"count", count()}, {"namespace", ns_}, {"evidence", rows}}.dump();
}

}  // namespace guts::node
