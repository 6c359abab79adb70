// Reading and applying validator set changes (layout in state/validator_set.h).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/status.h"
#include "state/kv.h"
#include "state/validator_set.h"
#include "state/view.h"

namespace guts::state {

struct Transaction;
struct Block;

// The network's governance, when its genesis named a governing organization.
std::optional<NetworkGovernance> network_governance(const StateView& view);
// Every executed change, ascending by activation height.
std::vector<ValidatorChange> validator_changes(const StateView& view);
// The schedule the state knows: the genesis set and every executed change.
ValidatorSchedule validator_schedule(const StateView& view, const Genesis& genesis);

// Whether applying `block` may have changed the schedule: it holds a kind 74, or a proposal
// creation or vote (which can execute one). Readers of the schedule re-read it only then.
bool may_change_validator_schedule(const Block& block);

// Validity and application of kind 74 in a block at `height` (state/validator_set.h).
// Rejections leave `state` untouched.
Status apply_set_validator_set(const Schema& schema, Overlay& state, const Transaction& tx,
                               const SetValidatorSet& body, uint64_t height, uint64_t now_ms);

}  // namespace guts::state
