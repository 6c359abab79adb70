// Kind 64 set_runner_policy: application, and the trust rule required status checks apply to
// runners' statuses (state/runner_policy.h).
#include <algorithm>

#include "crypto/did.h"
#include "state/ci.h"
#include "state/permission.h"
#include "state/protection.h"
#include "state/rejections.h"
#include "state/runner_policy_state.h"
#include "state/tx.h"
#include "state/view.h"
#include "storage/db.h"

namespace guts::state {

std::string runner_policy_key(uint64_t repo_id) {
  return "WP" + storage::be64(repo_id);
}

std::optional<RunnerPolicy> runner_policy(const StateView& view, uint64_t repo_id) {
  auto v = view.kv().get(view.schema().governance, runner_policy_key(repo_id));
  if (!v) return std::nullopt;
  return decode_runner_policy(*v);
}

bool runner_trusted(const StateView& view, uint64_t repo_id, const crypto::PublicKey& key) {
  auto runner = runs::runner(view.schema(), view.kv(), repo_id, key);
  if (!runner) return false;
  auto policy = runner_policy(view, repo_id);
  if (policy && !policy->trusted_runners.empty()) {
    const auto& keys = policy->trusted_runners;
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  }
  auto repo = view.repo(repo_id);
  return repo && effective_permission(view, *repo, runner->token_creator) >= Permission::kAdmin;
}

bool status_trusted(const StateView& view, const CommitStatus& status) {
  if (!runs::runner(view.schema(), view.kv(), status.repo_id, status.creator))
    return true;  // not a runner's status: a writer's (kind 36), counted as before
  return runner_trusted(view, status.repo_id, status.creator);
}

uint32_t agreeing_runners(const StateView& view, uint64_t repo_id) {
  auto policy = runner_policy(view, repo_id);
  return policy ? policy->agreeing : 1;
}

Status apply_set_runner_policy(const Schema& s, Overlay& state, const Transaction& tx,
                               const SetRunnerPolicy& b, uint64_t now) {
  StateView view(s, state);
  if (auto st = require_repo_admin(view, b.repo_id, tx.author); !st.ok()) return st;
  if (b.trusted_runners.size() > kMaxTrustedRunners)
    return reject::invalid("trusted_runners: at most " + std::to_string(kMaxTrustedRunners));
  for (size_t i = 0; i < b.trusted_runners.size(); ++i) {
    if (!crypto::is_valid_public_key(b.trusted_runners[i]))
      return reject::invalid("trusted_runners: " + crypto::did_from_key(b.trusted_runners[i]) +
                             " is not a valid key");
    for (size_t j = 0; j < i; ++j)
      if (b.trusted_runners[j] == b.trusted_runners[i])
        return reject::invalid("trusted_runners: " + crypto::did_from_key(b.trusted_runners[i]) +
                               " is listed twice");
  }
  if (b.agreeing < 1 || b.agreeing > kMaxAgreeingRunners)
    return reject::invalid("agreeing_runners: 1-" + std::to_string(kMaxAgreeingRunners));
  if (!b.trusted_runners.empty() && b.trusted_runners.size() < b.agreeing)
    return reject::invalid("agreeing_runners: " + std::to_string(b.agreeing) +
                           " agreeing runners need at least as many trusted runners");
  RunnerPolicy p;
  p.repo_id = b.repo_id;
  p.trusted_runners = b.trusted_runners;
  p.agreeing = b.agreeing;
  p.updated_by = tx.author;
  p.updated_ms = now;
  state.put(s.governance, runner_policy_key(b.repo_id), encode_runner_policy(p));
  return Status::Ok();
}

}  // namespace guts::state
