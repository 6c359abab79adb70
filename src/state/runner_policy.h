// Which runners a repository trusts for its required status checks (issue 15 point 6;
// docs/ci.md "Runner trust").
//
// A commit status whose creator is a runner registered to the repository (a status its job
// wrote) satisfies a required status check in branch protection only when the runner is
// trusted: named in the repository's policy, or, when the policy names nobody (or there is
// none), registered with a token whose creator is still an admin of the repository. Statuses
// of untrusted runners are still stored and shown (REST, web); they just do not count.
// Statuses posted by people with write permission (kind 36) are unchanged.
//
// Agreeing runners (for reproducible jobs): with `agreeing` = N > 1, a job of the repository is
// completed only when N distinct trusted runners reported the same conclusion; until then each
// completion puts the job back in the queue for another runner (a runner reports a job once).
// Results of untrusted runners are recorded but never count; after kMaxJobResults results
// without agreement the job fails ("the runners disagree").
//
// Layout, in the `governance` family (CI tag "W", sub-tag "P"):
//   WP be64(repo) -> RunnerPolicy
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crypto/ed25519.h"

namespace guts::codec {
class Writer;
class Reader;
}  // namespace guts::codec

namespace guts::state {

class StateView;
struct CommitStatus;

inline constexpr size_t kMaxTrustedRunners = 64;
inline constexpr uint32_t kMaxAgreeingRunners = 5;

// Kind 64, admin permission (delegation scope `repo`). Replaces the policy; an empty list
// means "any runner registered by a current admin".
// `agreeing` (1..kMaxAgreeingRunners, default 1) is encoded after the list only when it is not 1,
// so earlier policies keep their bytes; an explicit 1 does not decode (canonical).
struct SetRunnerPolicy {
  uint64_t repo_id = 0;
  std::vector<crypto::PublicKey> trusted_runners;
  uint32_t agreeing = 1;
};

struct RunnerPolicy {
  uint64_t repo_id = 0;
  std::vector<crypto::PublicKey> trusted_runners;
  crypto::PublicKey updated_by{};
  uint64_t updated_ms = 0;
  uint32_t agreeing = 1;  // encoded last, only when not 1
};

void encode_runner_policy_body(codec::Writer& w, const SetRunnerPolicy& b);
SetRunnerPolicy decode_runner_policy_body(codec::Reader& r);  // throws codec::DecodeError
std::string encode_runner_policy(const RunnerPolicy& p);
RunnerPolicy decode_runner_policy(std::string_view data);

std::string runner_policy_key(uint64_t repo_id);
std::optional<RunnerPolicy> runner_policy(const StateView& view, uint64_t repo_id);
// Whether `status` may satisfy a required status check (see the top of this file).
bool status_trusted(const StateView& view, const CommitStatus& status);
// Whether the repository trusts runner `key` (registered to it) for required checks.
bool runner_trusted(const StateView& view, uint64_t repo_id, const crypto::PublicKey& key);
// How many agreeing runners the repository's jobs need (1 without a policy).
uint32_t agreeing_runners(const StateView& view, uint64_t repo_id);

}  // namespace guts::state
