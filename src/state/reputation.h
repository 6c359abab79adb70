// Reputation (issue 14 point 5; docs/reputation.md): a deterministic score per identity (global)
// and per identity × repository, computed from finalized history only, maintained incrementally
// by the executor as blocks apply, and used twice:
//   - consensus: repository interaction limits (tx kind 41, SetInteractionLimit): identities
//     below a repository's minimum cannot open issues or pull requests, comment, review or
//     react there (collaborators with write permission are exempt);
//   - node-local policy: a per-identity token bucket at the mempool door for identities below
//     a threshold (DoorLimiter, used by state::Mempool).
//
// Layout in the `governance` family, under the tag 'Z' (docs/reputation.md "State"):
//   Zg·user(32)             → Identity (registration height and time, global counters)
//   Zr·user(32)·repo(be64)  → Counts of the user in that repository
//   Zc·repo(be64)·num(be64) → — (the issue's "closed as completed" credit was given: once only)
//   Zl·repo(be64)           → InteractionLimit
// Every value comes from the block's context (height, timestamp): never the wall clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "crypto/ed25519.h"

namespace guts::codec {
class Writer;
class Reader;
}  // namespace guts::codec

namespace guts::state {

struct Schema;
class Overlay;
class StateView;
struct Transaction;
struct Issue;

// ---- the transaction (kind 41) ----

// What GitHub's interaction-limit names become (docs/reputation.md "Interaction limits").
enum InteractionLimitKind : uint8_t {
  kLimitNone = 0,               // removes the limit
  kLimitExistingUsers = 1,      // GitHub's existing_users: min_reputation (default 1)
  kLimitContributorsOnly = 2,   // GitHub's contributors_only: min_reputation (default 10)
  kLimitCollaboratorsOnly = 3,  // GitHub's collaborators_only: write permission needed
  kLimitCustom = 4,             // Guts: min_reputation only
};
const char* interaction_limit_name(uint8_t limit);  // "existing_users", ..., "custom", ""
std::optional<uint8_t> interaction_limit_of(std::string_view name);
// The minimum reputation a GitHub limit name maps onto (0 for collaborators_only / none).
uint64_t default_min_reputation(uint8_t limit);
inline constexpr uint64_t kMaxMinReputation = 1000000;

// Set by an admin of the repository. limit 0 removes; 1, 2, 4 need 1 <= min_reputation <=
// kMaxMinReputation; 3 needs min_reputation 0. expires_ms: 0 never, else after the block's time.
struct SetInteractionLimit {
  uint64_t repo_id = 0;
  uint8_t limit = kLimitNone;
  uint64_t min_reputation = 0;
  uint64_t expires_ms = 0;
  bool operator==(const SetInteractionLimit&) const = default;
};
void encode_reputation_body(codec::Writer& w, const SetInteractionLimit& b);
SetInteractionLimit decode_interaction_limit_body(codec::Reader& r);

namespace reputation {

// ---- the formula (docs/reputation.md) ----
inline constexpr uint64_t kWeightMergedPr = 10;
inline constexpr uint64_t kCapMergedPrs = 50;
inline constexpr uint64_t kWeightApproval = 3;
inline constexpr uint64_t kCapApprovals = 100;
inline constexpr uint64_t kWeightIssue = 2;
inline constexpr uint64_t kCapIssues = 100;
inline constexpr uint64_t kAgeDayMs = 24ull * 60 * 60 * 1000;
inline constexpr uint64_t kCapAgeDays = 7;  // one point per full day of account age

struct Counts {
  uint64_t merged_prs = 0;        // pull requests authored, merged by someone else
  uint64_t approvals = 0;         // approving reviews on pull requests that were merged
  uint64_t issues_completed = 0;  // issues authored, closed as completed by someone else
  bool operator==(const Counts&) const = default;
};
struct Identity {
  uint64_t registered_height = 0;
  uint64_t registered_ms = 0;
  Counts counts;
  bool operator==(const Identity&) const = default;
};
struct Score {
  Counts counts;
  uint64_t age_days = 0, age_blocks = 0;
  uint64_t merged_pr_points = 0, approval_points = 0, issue_points = 0, age_points = 0;
  uint64_t total = 0;
};
// The formula: counts (capped, weighted) plus age points (global score only).
Score score_of(const Counts& counts, std::optional<uint64_t> age_days);

// ---- reads (any state: committed or an execution overlay) ----
std::optional<Identity> identity(const StateView& view, const crypto::PublicKey& who);
Counts repo_counts(const StateView& view, const crypto::PublicKey& who, uint64_t repo_id);
// Every repository the identity has counts in, by repository id.
std::vector<std::pair<uint64_t, Counts>> repos_of(const StateView& view,
                                                  const crypto::PublicKey& who);
// The global score at (now_ms, height): the block's, or the head's for API reads. Age comes
// from the account's registration time (0 for an unregistered identity).
Score global_score(const StateView& view, const crypto::PublicKey& who, uint64_t now_ms,
                   uint64_t height);
Score repo_score(const StateView& view, const crypto::PublicKey& who, uint64_t repo_id);

// ---- the executor's hooks (one call each; they only add to the block's overlay) ----
void on_register(const Schema& s, Overlay& state, const crypto::PublicKey& who, uint64_t height,
                 uint64_t now_ms);
// A pull request was merged by `merger` (`pr` as stored before the merge's changes or after:
// only its repository, number and author are read).
void on_merge(const Schema& s, Overlay& state, const Issue& pr, const crypto::PublicKey& merger);
// An issue went from `old_state` to its current state, by `closer`.
void on_issue_state(const Schema& s, Overlay& state, const Issue& issue, uint8_t old_state,
                    const crypto::PublicKey& closer);

// ---- interaction limits ----
struct InteractionLimit {
  uint8_t limit = kLimitNone;
  uint64_t min_reputation = 0;
  uint64_t expires_ms = 0;  // 0: never
  crypto::PublicKey set_by{};
  uint64_t set_ms = 0;
  bool operator==(const InteractionLimit&) const = default;
};
// The repository's limit in force at now_ms (nullopt: none, or expired).
std::optional<InteractionLimit> interaction_limit(const StateView& view, uint64_t repo_id,
                                                  uint64_t now_ms);
// Called by the executor before a collaboration transaction: refuses (kPermissionDenied) one
// that a repository's limit forbids to its author. Anything else passes (its own rules follow).
Status check_interaction(const StateView& view, const Transaction& tx, uint64_t now_ms,
                         uint64_t height);
// Validity and application of SetInteractionLimit.
Status apply_set_interaction_limit(const Schema& s, Overlay& state, const Transaction& tx,
                                   const SetInteractionLimit& b, uint64_t now_ms);

// Key builders (tests and the API).
std::string identity_key(const crypto::PublicKey& who);
std::string repo_counts_key(const crypto::PublicKey& who, uint64_t repo_id);
std::string limit_key(uint64_t repo_id);

// ---- the mempool door's rate limit (node-local policy, not consensus) ----
struct DoorLimitOptions {
  uint64_t min_reputation = 10;  // identities below it are limited; 0: nobody
  uint64_t burst = 500;          // bucket size (transactions)
  uint64_t per_minute = 60;      // refill (transactions per minute); 0: limit off
  bool enabled() const { return min_reputation > 0 && per_minute > 0 && burst > 0; }
};

// One token bucket per identity. A sans-I/O core: the caller passes a steady clock's time and
// holds its own lock (the mempool's).
class DoorLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  explicit DoorLimiter(DoorLimitOptions options, size_t max_tracked = 100000);
  const DoorLimitOptions& options() const { return options_; }
  // Takes one token of `who` at `now`: nullopt when allowed, else how long until one is there.
  std::optional<std::chrono::milliseconds> take(const crypto::PublicKey& who, TimePoint now);
  size_t tracked() const { return buckets_.size(); }

 private:
  static constexpr uint64_t kTick = 60000;  // one token = 60,000 ticks; refill per_minute/ms
  struct Bucket {
    uint64_t ticks = 0;
    TimePoint last{};
  };
  uint64_t refilled(const Bucket& b, TimePoint now) const;
  DoorLimitOptions options_;
  size_t max_tracked_;
  std::map<crypto::PublicKey, Bucket> buckets_;
};
// The door's rejection: kRateLimited with "retry after N s" (api/errors.cpp sets Retry-After).
Status rate_limited(const Score& score, uint64_t min_reputation, std::chrono::milliseconds wait);

}  // namespace reputation
}  // namespace guts::state
