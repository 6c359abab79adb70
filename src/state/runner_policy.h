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

// Kind 64, admin permission (delegation scope `repo`). Replaces the policy; an empty list
// means "any runner registered by a current admin".
struct SetRunnerPolicy {
  uint64_t repo_id = 0;
  std::vector<crypto::PublicKey> trusted_runners;
};

struct RunnerPolicy {
  uint64_t repo_id = 0;
  std::vector<crypto::PublicKey> trusted_runners;
  crypto::PublicKey updated_by{};
  uint64_t updated_ms = 0;
};

void encode_runner_policy_body(codec::Writer& w, const SetRunnerPolicy& b);
SetRunnerPolicy decode_runner_policy_body(codec::Reader& r);  // throws codec::DecodeError
std::string encode_runner_policy(const RunnerPolicy& p);
RunnerPolicy decode_runner_policy(std::string_view data);

std::string runner_policy_key(uint64_t repo_id);
std::optional<RunnerPolicy> runner_policy(const StateView& view, uint64_t repo_id);
// Whether `status` may satisfy a required status check (see the top of this file).
bool status_trusted(const StateView& view, const CommitStatus& status);

}  // namespace guts::state
