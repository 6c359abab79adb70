// The action a proposal transaction executed (state/proposal.h): the vote (or the creation)
// that brings a proposal to its threshold runs the action in the same transaction, as if the
// proposer had signed it. Rules that need git facts (state/protection.h,
// protection_fact_check) are checked on that action exactly as on a direct one — a failing
// fact refuses the vote itself, so the proposal stays open and nothing changes
// (docs/governance.md "Git facts").
#pragma once

#include <optional>

#include "state/tx.h"

namespace guts::state {

class StateView;

// The transaction `tx` executed through a proposal, when `tx` is a vote or a creation whose
// proposal is open in `before` (or absent) and executed in `after`; nullopt otherwise.
std::optional<Transaction> executed_action(const StateView& before, const StateView& after,
                                           const Transaction& tx);

}  // namespace guts::state
