// CI runners' logs and secrets as replicated state (issue 15 points 3-4; docs/ci.md "Logs",
// "Secrets").
//
//   68 set_job_log              repo_id varint | job varint | sha256[32] | size varint
//                               (≤ kMaxJobLogBytes). The job's runner (holder, or the runner
//                               that completed it) names the full log it stored in the
//                               BlobStore; state::blob_refs lists it, so every hosting node
//                               holds the log before applying the block and any node serves it.
//   69 set_actions_secret       repo_id varint | name str | count ‖ (runner pk32 | sealed bytes)
//                               Admin permission. `sealed` is crypto_box_seal of the value to
//                               the runner's Ed25519 key converted to X25519: nodes never see
//                               the value. Every runner named is registered to the repository.
//   70 delete_actions_secret    repo_id varint | name str. Admin permission.
//
// Layout, in the `governance` family, under the prefix "cir:":
//   cir:l·be64(job)             → sha256[32] | varint size            (the job's stored log)
//   cir:s·be64(repo)·name       → encode_actions_secret               (secrets by name)
// Repository and job ids are never reused, so a deleted repository's entries are inert.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "codec/codec.h"
#include "core/bytes.h"
#include "crypto/ed25519.h"

namespace guts::state {

inline constexpr uint64_t kMaxJobLogBytes = 16ull << 20;  // 16 MiB per job
inline constexpr size_t kMaxSecretNameBytes = 100;
inline constexpr size_t kMaxSecretValueBytes = 48 * 1024;  // GitHub's limit
inline constexpr size_t kSealOverheadBytes = 48;           // crypto_box_SEALBYTES
inline constexpr size_t kMaxSecretRecipients = 64;
inline constexpr size_t kMaxSecretsPerRepo = 100;

struct SetJobLog {
  uint64_t repo_id = 0;
  uint64_t job_id = 0;
  std::array<uint8_t, 32> sha256{};
  uint64_t size = 0;
};
struct SealedValue {
  crypto::PublicKey runner{};
  Bytes sealed;
  bool operator==(const SealedValue&) const = default;
};
struct SetActionsSecret {
  uint64_t repo_id = 0;
  std::string name;
  std::vector<SealedValue> sealed;
};
struct DeleteActionsSecret {
  uint64_t repo_id = 0;
  std::string name;
};

template <typename T>
inline constexpr bool kIsCiRunnerBody =
    std::is_same_v<T, SetJobLog> || std::is_same_v<T, SetActionsSecret> ||
    std::is_same_v<T, DeleteActionsSecret>;

void encode_ci_runner_body(codec::Writer& w, const SetJobLog& b);
void encode_ci_runner_body(codec::Writer& w, const SetActionsSecret& b);
void encode_ci_runner_body(codec::Writer& w, const DeleteActionsSecret& b);
// Throw codec::DecodeError.
SetJobLog decode_set_job_log(codec::Reader& r);
SetActionsSecret decode_set_actions_secret(codec::Reader& r);
DeleteActionsSecret decode_delete_actions_secret(codec::Reader& r);

// GitHub's rule: letters, digits, `_`; not starting with a digit nor GITHUB_ (nor GUTS_).
bool valid_secret_name(std::string_view name);

// ---- records (ci_runner.cpp) ----
struct JobLog {
  std::array<uint8_t, 32> sha256{};
  uint64_t size = 0;
};
struct ActionsSecret {
  uint64_t repo_id = 0;
  std::string name;
  std::vector<SealedValue> sealed;
  crypto::PublicKey creator{};
  uint64_t created_ms = 0, updated_ms = 0;
};
std::string encode_job_log(const JobLog& l);
JobLog decode_job_log(std::string_view data);
std::string encode_actions_secret(const ActionsSecret& s);
ActionsSecret decode_actions_secret(std::string_view data);
std::string job_log_key(uint64_t job_id);
std::string actions_secret_prefix(uint64_t repo_id);
std::string actions_secret_key(uint64_t repo_id, std::string_view name);

}  // namespace guts::state
