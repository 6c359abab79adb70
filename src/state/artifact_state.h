// Reading and applying CI/CD artifacts (layout and rules in state/artifact.h).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/status.h"
#include "state/artifact.h"
#include "state/kv.h"
#include "state/view.h"

namespace guts::state {

struct Transaction;

// Whether `a` has expired at block time `now_ms` (the last finalized block's timestamp).
inline bool artifact_expired(const Artifact& a, uint64_t now_ms) {
  return a.expires_ms <= now_ms;
}
std::optional<Artifact> artifact(const StateView& view, uint64_t id);
// The repository's artifacts, newest first; expired ones are left out (block time `now_ms`).
// `run_id` != 0: only that run's.
std::vector<Artifact> artifacts_of_repo(const StateView& view, uint64_t repo_id, uint64_t now_ms,
                                        uint64_t run_id = 0);

// Validity and application of kinds 71-72; a rejection leaves `state` untouched.
Status apply_artifact(const Schema& schema, Overlay& state, const Transaction& tx, uint64_t now_ms);

}  // namespace guts::state
