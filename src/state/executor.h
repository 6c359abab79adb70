// The deterministic state machine: validity of a transaction is a function of (state, tx,
// block context) only, and applying a valid one writes into an overlay. The same function
// runs at the mempool door (so clients hear "rejected: reason" at once) and when a block is
// built or verified.
#pragma once

#include <optional>

#include "core/status.h"
#include "state/git_facts.h"
#include "state/kv.h"
#include "state/tx.h"

namespace guts::state {

struct BlockContext {
  std::string chain_id;
  uint64_t height = 0;
  uint64_t timestamp_ms = 0;
};

// How far a transaction's timestamp may lie from its block's (deterministic bounds).
inline constexpr uint64_t kMaxTxFutureMs = 5 * 60 * 1000;
inline constexpr uint64_t kMaxTxAgeMs = 24 * 60 * 60 * 1000;

struct ApplyOptions {
  bool signature_verified = false;  // skip re-verifying a signature this node already checked
  // At the mempool door, the nonce expected after this author's pending transactions.
  std::optional<uint64_t> expected_nonce;
};

class Executor {
 public:
  Executor(const Schema& schema, BlockContext ctx) : s_(schema), ctx_(std::move(ctx)) {}

  // Validates `tx` against `state` and, if valid, applies it to `state`. On rejection `state`
  // is unchanged and the status says why (kInvalidArgument, kPermissionDenied, kConflict, ...).
  Status apply(Overlay& state, const Transaction& tx, const ApplyOptions& options = {}) const;
  // Git facts for the rules that need them (state/git_facts.h): set by the Chain on the check
  // paths (door, build, verify), never when applying a finalized block.
  void set_git_facts(FactsUse use) { facts_ = use; }

 private:
  // `guarded`: refuse an action a quorum policy covers (quorum_guard); false only when a
  // proposal approved by its quorum executes the action (proposal_exec.cpp).
  Status apply_body(Overlay& state, const Transaction& tx, bool guarded = true) const;
  // Collaboration kinds (collab_exec.cpp).
  Status apply_collab(Overlay& state, const Transaction& tx) const;
  // Governance kinds (org_exec.cpp).
  Status apply_org(Overlay& state, const Transaction& tx) const;
  // Webhook kinds (hooks_exec.cpp).
  Status apply_hooks(Overlay& state, const Transaction& tx) const;
  // Branch protection and commit statuses (protection_exec.cpp).
  Status apply_protection(Overlay& state, const Transaction& tx) const;
  // Quorum decisions (proposal_exec.cpp): policies, proposals and votes; a vote reaching the
  // threshold runs the proposal's action through apply_body(..., guarded = false).
  Status apply_proposal(Overlay& state, const Transaction& tx) const;
  // CI/CD runs, jobs and runners (ci_exec.cpp).
  Status apply_ci(Overlay& state, const Transaction& tx) const;
  // A branch of `repo_id` moved: every open pull request with that head records a revision.
  void record_pull_heads(Overlay& state, uint64_t repo_id, std::string_view ref,
                         const Bytes& new_oid) const;
  const Schema& s_;
  BlockContext ctx_;
  FactsUse facts_;
};

}  // namespace guts::state
