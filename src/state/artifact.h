// CI/CD artifacts as replicated state (issue 15 point 4; docs/ci.md "Artifacts").
//
//   71 create_artifact   repo_id varint | job varint | name str | sha256[32] | size varint |
//                        retention_days varint (0: kDefaultArtifactRetentionDays)
//                        Signed by the job's holder while the job is in progress. The bytes (a
//                        zip, stored method, made by the runner) are a blob in the BlobStore;
//                        state::blob_refs lists it, so every node hosting the repository holds
//                        it before applying the block. Names are unique within a run.
//   72 delete_artifact   repo_id varint | artifact varint. Write permission (scope push).
//
// Expiry is by block time: an artifact whose expires_ms is at or before the time of the last
// finalized block is expired (listings leave it out, its zip is 410 Gone), the same answer on
// every node.
//
// Layout, in the `governance` family, under the prefix "cia:":
//   cia:n                        → be64(next artifact id)
//   cia:a·be64(id)               → encode_artifact
//   cia:r·be64(repo)·be64(id)    → ""                 (artifacts of a repository, oldest first)
// Repository and artifact ids are never reused.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "codec/codec.h"
#include "crypto/ed25519.h"

namespace guts::state {

inline constexpr uint64_t kMaxArtifactBytes = 64ull << 20;  // 64 MiB per artifact (its zip)
inline constexpr size_t kMaxArtifactName = 200;
inline constexpr uint32_t kDefaultArtifactRetentionDays = 90;
inline constexpr uint32_t kMaxArtifactRetentionDays = 90;
inline constexpr size_t kMaxArtifactsPerRun = 100;
inline constexpr uint64_t kDayMs = 24ull * 60 * 60 * 1000;

struct CreateArtifact {
  uint64_t repo_id = 0;
  uint64_t job_id = 0;
  std::string name;
  std::array<uint8_t, 32> sha256{};
  uint64_t size = 0;
  uint32_t retention_days = 0;
};
struct DeleteArtifact {
  uint64_t repo_id = 0;
  uint64_t artifact_id = 0;
};

template <typename T>
inline constexpr bool kIsArtifactBody =
    std::is_same_v<T, CreateArtifact> || std::is_same_v<T, DeleteArtifact>;

void encode_artifact_body(codec::Writer& w, const CreateArtifact& b);
void encode_artifact_body(codec::Writer& w, const DeleteArtifact& b);
// Throw codec::DecodeError.
CreateArtifact decode_create_artifact(codec::Reader& r);
DeleteArtifact decode_delete_artifact(codec::Reader& r);

// GitHub's rule: 1-200 bytes, none of " : < > | * ? \ / and no control characters.
bool valid_artifact_name(std::string_view name);

struct Artifact {
  uint64_t id = 0;
  uint64_t repo_id = 0;
  uint64_t run_id = 0;
  uint64_t job_id = 0;
  std::string name;
  std::array<uint8_t, 32> sha256{};
  uint64_t size = 0;
  crypto::PublicKey runner{};
  uint64_t created_ms = 0, expires_ms = 0;
  bool operator==(const Artifact&) const = default;
};
std::string encode_artifact(const Artifact& a);
Artifact decode_artifact(std::string_view data);  // throws codec::DecodeError

std::string artifact_key(uint64_t id);
std::string repo_artifact_prefix(uint64_t repo_id);
std::string repo_artifact_key(uint64_t repo_id, uint64_t id);
inline constexpr std::string_view kNextArtifactKey = "cia:n";

}  // namespace guts::state
