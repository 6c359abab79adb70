// Reading and applying CI runners' logs and secrets (layout and rules in state/ci_runner.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "state/ci_runner.h"
#include "state/kv.h"
#include "state/view.h"

namespace guts::state {

struct Transaction;

std::optional<JobLog> job_log(const StateView& view, uint64_t job_id);
// The repository's secrets, by name.
std::vector<ActionsSecret> actions_secrets(const StateView& view, uint64_t repo_id);
std::optional<ActionsSecret> actions_secret(const StateView& view, uint64_t repo_id,
                                            std::string_view name);

// Validity and application of kinds 68-70; a rejection leaves `state` untouched.
Status apply_ci_runner(const Schema& schema, Overlay& state, const Transaction& tx,
                       uint64_t now_ms);

}  // namespace guts::state
