// Reads of branch protection for the API's branch shapes (kept out of state/protection.h, which
// every transaction user includes).
#pragma once

#include <cstdint>
#include <string_view>

namespace guts::state {

class StateView;

// Whether a rule applies to `branch` (GET /branches "protected").
bool branch_is_protected(const StateView& view, uint64_t repo_id, std::string_view branch);

}  // namespace guts::state
