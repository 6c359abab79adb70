#include "state/ci_runner.h"

namespace guts::state {

namespace {

constexpr uint8_t kRecordVersion = 1;

std::string be64(uint64_t v) {
  std::string k;
  for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>(v >> shift));
  return k;
}

std::string take_string(codec::Writer& w) {
  auto v = w.take();
  return std::string(v.begin(), v.end());
}

void put_sealed(codec::Writer& w, const std::vector<SealedValue>& sealed) {
  w.varint(sealed.size());
  for (const auto& s : sealed) w.fixed(s.runner).bytes(s.sealed);
}

std::vector<SealedValue> get_sealed(codec::Reader& r) {
  size_t n = r.count(kMaxSecretRecipients, "sealed values");
  std::vector<SealedValue> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    SealedValue s;
    s.runner = r.fixed<32>();
    s.sealed = r.bytes(kMaxSecretValueBytes + kSealOverheadBytes, "sealed value");
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

void encode_ci_runner_body(codec::Writer& w, const SetJobLog& b) {
  w.varint(b.repo_id).varint(b.job_id).fixed(b.sha256).varint(b.size);
}
void encode_ci_runner_body(codec::Writer& w, const SetActionsSecret& b) {
  w.varint(b.repo_id).str(b.name);
  put_sealed(w, b.sealed);
}
void encode_ci_runner_body(codec::Writer& w, const DeleteActionsSecret& b) {
  w.varint(b.repo_id).str(b.name);
}

SetJobLog decode_set_job_log(codec::Reader& r) {
  SetJobLog b;
  b.repo_id = r.varint();
  b.job_id = r.varint();
  b.sha256 = r.fixed<32>();
  b.size = r.varint_max(kMaxJobLogBytes, "log size");
  return b;
}

SetActionsSecret decode_set_actions_secret(codec::Reader& r) {
  SetActionsSecret b;
  b.repo_id = r.varint();
  b.name = r.str(kMaxSecretNameBytes, "secret name");
  b.sealed = get_sealed(r);
  return b;
}

DeleteActionsSecret decode_delete_actions_secret(codec::Reader& r) {
  DeleteActionsSecret b;
  b.repo_id = r.varint();
  b.name = r.str(kMaxSecretNameBytes, "secret name");
  return b;
}

bool valid_secret_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxSecretNameBytes) return false;
  if (name[0] >= '0' && name[0] <= '9') return false;
  for (char c : name) {
    bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  auto upper_prefix = [&](std::string_view p) {
    if (name.size() < p.size()) return false;
    for (size_t i = 0; i < p.size(); ++i) {
      char c = name[i];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (c != p[i]) return false;
    }
    return true;
  };
  return !upper_prefix("GITHUB_") && !upper_prefix("GUTS_");
}

std::string encode_job_log(const JobLog& l) {
  codec::Writer w;
  w.u8(kRecordVersion).fixed(l.sha256).varint(l.size);
  return take_string(w);
}

JobLog decode_job_log(std::string_view data) {
  codec::Reader r(as_bytes(data));
  if (r.u8() != kRecordVersion) throw codec::DecodeError("job log record: unknown version");
  JobLog l;
  l.sha256 = r.fixed<32>();
  l.size = r.varint();
  r.finish();
  return l;
}

std::string encode_actions_secret(const ActionsSecret& s) {
  codec::Writer w;
  w.u8(kRecordVersion).varint(s.repo_id).str(s.name);
  put_sealed(w, s.sealed);
  w.fixed(s.creator).varint(s.created_ms).varint(s.updated_ms);
  return take_string(w);
}

ActionsSecret decode_actions_secret(std::string_view data) {
  codec::Reader r(as_bytes(data));
  if (r.u8() != kRecordVersion) throw codec::DecodeError("secret record: unknown version");
  ActionsSecret s;
  s.repo_id = r.varint();
  s.name = r.str(kMaxSecretNameBytes, "secret name");
  s.sealed = get_sealed(r);
  s.creator = r.fixed<32>();
  s.created_ms = r.varint();
  s.updated_ms = r.varint();
  r.finish();
  return s;
}

std::string job_log_key(uint64_t job_id) {
  return "cir:l" + be64(job_id);
}
std::string actions_secret_prefix(uint64_t repo_id) {
  return "cir:s" + be64(repo_id);
}
std::string actions_secret_key(uint64_t repo_id, std::string_view name) {
  return actions_secret_prefix(repo_id) + std::string(name);
}

}  // namespace guts::state
