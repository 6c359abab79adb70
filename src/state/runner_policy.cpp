// Kind 64 set_runner_policy: wire encodings of the body and the record
// (state/runner_policy.h).
#include "state/runner_policy.h"

#include "codec/codec.h"
#include "core/bytes.h"

namespace guts::state {

namespace {
constexpr uint8_t kRecordVersion = 1;

void put_keys(codec::Writer& w, const std::vector<crypto::PublicKey>& keys) {
  w.varint(keys.size());
  for (const auto& k : keys) w.fixed(k);
}
std::vector<crypto::PublicKey> get_keys(codec::Reader& r) {
  size_t n = r.count(kMaxTrustedRunners, "trusted runners");
  std::vector<crypto::PublicKey> out(n);
  for (auto& k : out) k = r.fixed<32>();
  return out;
}
// The optional trailing count: present only when not 1 (one encoding per value).
uint32_t get_agreeing(codec::Reader& r) {
  uint64_t n = r.varint();
  if (n == 1 || n > kMaxAgreeingRunners)
    throw codec::DecodeError("agreeing runners: 2-" + std::to_string(kMaxAgreeingRunners) +
                             " when present");
  return static_cast<uint32_t>(n);
}
}  // namespace

void encode_runner_policy_body(codec::Writer& w, const SetRunnerPolicy& b) {
  w.varint(b.repo_id);
  put_keys(w, b.trusted_runners);
  if (b.agreeing != 1) w.varint(b.agreeing);
}

SetRunnerPolicy decode_runner_policy_body(codec::Reader& r) {
  SetRunnerPolicy b;
  b.repo_id = r.varint();
  b.trusted_runners = get_keys(r);
  if (!r.done()) b.agreeing = get_agreeing(r);
  return b;
}

std::string encode_runner_policy(const RunnerPolicy& p) {
  codec::Writer w;
  w.u8(kRecordVersion).varint(p.repo_id);
  put_keys(w, p.trusted_runners);
  w.fixed(p.updated_by).varint(p.updated_ms);
  if (p.agreeing != 1) w.varint(p.agreeing);
  return guts::to_string(w.data());
}

RunnerPolicy decode_runner_policy(std::string_view data) {
  codec::Reader r(as_bytes(data));
  if (r.u8() != kRecordVersion) throw codec::DecodeError("unsupported runner policy version");
  RunnerPolicy p;
  p.repo_id = r.varint();
  p.trusted_runners = get_keys(r);
  p.updated_by = r.fixed<32>();
  p.updated_ms = r.varint();
  if (!r.done()) p.agreeing = get_agreeing(r);
  r.finish();
  return p;
}

}  // namespace guts::state
