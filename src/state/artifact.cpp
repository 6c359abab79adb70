// Wire encodings of CI/CD artifacts (state/artifact.h).
#include "state/artifact.h"

namespace guts::state {

namespace {

constexpr uint8_t kRecordVersion = 1;

std::string be64(uint64_t v) {
  std::string k;
  for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>(v >> shift));
  return k;
}

}  // namespace

void encode_artifact_body(codec::Writer& w, const CreateArtifact& b) {
  w.varint(b.repo_id).varint(b.job_id).str(b.name).fixed(b.sha256).varint(b.size);
  w.varint(b.retention_days);
}
void encode_artifact_body(codec::Writer& w, const DeleteArtifact& b) {
  w.varint(b.repo_id).varint(b.artifact_id);
}

CreateArtifact decode_create_artifact(codec::Reader& r) {
  CreateArtifact b;
  b.repo_id = r.varint();
  b.job_id = r.varint();
  b.name = r.str(kMaxArtifactName, "artifact name");
  b.sha256 = r.fixed<32>();
  b.size = r.varint_max(kMaxArtifactBytes, "artifact size");
  b.retention_days =
      static_cast<uint32_t>(r.varint_max(kMaxArtifactRetentionDays, "retention days"));
  return b;
}

DeleteArtifact decode_delete_artifact(codec::Reader& r) {
  DeleteArtifact b;
  b.repo_id = r.varint();
  b.artifact_id = r.varint();
  return b;
}

bool valid_artifact_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxArtifactName) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
    if (std::string_view("\":<>|*?\\/").find(c) != std::string_view::npos) return false;
  }
  return true;
}

std::string encode_artifact(const Artifact& a) {
  codec::Writer w;
  w.u8(kRecordVersion).varint(a.id).varint(a.repo_id).varint(a.run_id).varint(a.job_id);
  w.str(a.name).fixed(a.sha256).varint(a.size).fixed(a.runner);
  w.varint(a.created_ms).varint(a.expires_ms);
  auto v = w.take();
  return std::string(v.begin(), v.end());
}

Artifact decode_artifact(std::string_view data) {
  codec::Reader r(as_bytes(data));
  if (r.u8() != kRecordVersion) throw codec::DecodeError("artifact record: unknown version");
  Artifact a;
  a.id = r.varint();
  a.repo_id = r.varint();
  a.run_id = r.varint();
  a.job_id = r.varint();
  a.name = r.str(kMaxArtifactName, "artifact name");
  a.sha256 = r.fixed<32>();
  a.size = r.varint_max(kMaxArtifactBytes, "artifact size");
  a.runner = r.fixed<32>();
  a.created_ms = r.varint();
  a.expires_ms = r.varint();
  r.finish();
  return a;
}

std::string artifact_key(uint64_t id) {
  return "cia:a" + be64(id);
}
std::string repo_artifact_prefix(uint64_t repo_id) {
  return "cia:r" + be64(repo_id);
}
std::string repo_artifact_key(uint64_t repo_id, uint64_t id) {
  return repo_artifact_prefix(repo_id) + be64(id);
}

}  // namespace guts::state
