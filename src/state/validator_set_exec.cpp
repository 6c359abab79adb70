// Kind 74 set_validator_set, and the reads of the schedule (state/validator_set.h).
#include <algorithm>

#include "crypto/did.h"
#include "state/block.h"
#include "state/rejections.h"
#include "state/tx.h"
#include "state/validator_set_state.h"

namespace guts::state {

std::optional<NetworkGovernance> network_governance(const StateView& view) {
  auto v = view.kv().get(view.schema().governance, kNetworkGovernanceKey);
  if (!v) return std::nullopt;
  return decode_network_governance(*v);
}

std::vector<ValidatorChange> validator_changes(const StateView& view) {
  std::vector<ValidatorChange> out;
  view.kv().scan_prefix(view.schema().governance, kValidatorChangePrefix,
                        [&](std::string_view, std::string_view value) {
                          out.push_back(decode_validator_change(value));
                          return true;
                        });
  return out;
}

ValidatorSchedule validator_schedule(const StateView& view, const Genesis& genesis) {
  ValidatorSchedule s(genesis, validator_changes(view));
  if (auto g = network_governance(view)) s.set_epoch_length(g->epoch_length);
  return s;
}

bool may_change_validator_schedule(const Block& block) {
  return std::any_of(block.txs.begin(), block.txs.end(), [](const Transaction& tx) {
    return std::holds_alternative<SetValidatorSet>(tx.body) ||
           std::holds_alternative<VoteProposal>(tx.body) ||
           std::holds_alternative<CreateProposal>(tx.body);
  });
}

Status apply_set_validator_set(const Schema& s, Overlay& state, const Transaction& tx,
                               const SetValidatorSet& b, uint64_t height, uint64_t now_ms) {
  StateView view(s, state);
  auto gov = network_governance(view);
  if (!gov)
    return reject::not_mergeable(
        "this network's validator set is fixed: its genesis names no governing organization");
  auto m = view.org_membership(gov->org, tx.author);
  if (!m || m->role != kOrgOwner || m->state != kMembershipActive)
    return reject::denied("only an owner of the network's governing organization (" +
                          crypto::did_from_key(gov->org) + ") can change the validator set");
  if (auto e = validator_set_error(b.validators)) return reject::invalid(*e);
  const uint64_t l = gov->epoch_length;
  if (b.activation_height == 0 || b.activation_height % l != 0)
    return reject::invalid("activation_height: must be a multiple of the epoch length (" +
                           std::to_string(l) + " blocks)");
  // Two epochs ahead: every node that builds or verifies a block of the new epoch has this
  // change in its state (state/validator_set.h).
  if (b.activation_height < height + 2 * l)
    return reject::invalid("activation_height: must be at least two epochs (" +
                           std::to_string(2 * l) + " blocks) after this block (height " +
                           std::to_string(height) + "): " + std::to_string(height + 2 * l) +
                           " at the earliest, rounded up to a multiple of " + std::to_string(l));
  auto changes = validator_changes(view);
  if (!changes.empty() && changes.back().activation_height >= b.activation_height)
    return reject::conflict("a validator set change is already scheduled at height " +
                            std::to_string(changes.back().activation_height) +
                            ": a new change must activate after it");
  state.put(
      s.governance, validator_change_key(b.activation_height),
      encode_validator_change({b.activation_height, b.validators, tx.author, height, now_ms}));
  return Status::Ok();
}

}  // namespace guts::state
