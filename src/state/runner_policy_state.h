// Applying kind 64 (layout and trust rule in state/runner_policy.h).
#pragma once

#include <cstdint>

#include "core/status.h"
#include "state/kv.h"
#include "state/runner_policy.h"

namespace guts::state {

struct Transaction;

// Validity and application of SetRunnerPolicy: admin on the repository, valid keys, none twice,
// at most kMaxTrustedRunners. Rejections leave `state` untouched.
Status apply_set_runner_policy(const Schema& schema, Overlay& state, const Transaction& tx,
                               const SetRunnerPolicy& body, uint64_t now_ms);

}  // namespace guts::state
