// Changes of a network's validator set by its governing organization (issue 14 point 4;
// docs/governance.md "Validator set changes").
//
// A genesis may name a governing organization (Genesis::governance): the organization is created
// with the genesis, owned by the named genesis accounts, and from then on its owners — under its
// quorum policy when one covers `change_validator_set` — decide the validator set. Kind 74
// `set_validator_set` schedules the set that validates from `activation_height` on. Heights are
// cut into epochs of `epoch_length` blocks; a change activates at an epoch boundary at least two
// epochs after the block that executes it, so the set of any height h is fixed by the state at
// height h − 2·epoch_length: a node that is less than two epochs behind the block it builds or
// verifies knows who must sign it, and every node numbers the epochs alike.
//
// Epochs: epoch 0 is the genesis set from height 1; epoch k is the k-th scheduled change, from
// its activation height until the next one. Consensus runs one engine per epoch (its votes sign
// the epoch in their round), and the last block of an epoch is finalized by the old set: that
// finalization is the hand-over proof a client follows from one set to the next.
//
// Layout in the `governance` family, under the tag 'V':
//   Vg            → NetworkGovernance (written with the genesis; absent: the set is fixed)
//   Vc·be64(h)    → ValidatorChange activating at height h
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"
#include "state/genesis.h"

namespace guts::codec {
class Writer;
class Reader;
}  // namespace guts::codec

namespace guts::state {

inline constexpr size_t kMaxValidators = 100;
inline constexpr size_t kMaxP2pAddress = 255;

// ---- transaction body (kind 74) ----

struct SetValidatorSet {
  uint64_t activation_height = 0;
  std::vector<Validator> validators;  // key and p2p address (host:port)
};

void encode_set_validator_set(codec::Writer& w, const SetValidatorSet& b);
SetValidatorSet decode_set_validator_set(codec::Reader& r);  // throws codec::DecodeError

// ---- records ----

struct NetworkGovernance {
  crypto::PublicKey org{};  // the governing organization (state::org_key)
  uint64_t epoch_length = 0;
};

struct ValidatorChange {
  uint64_t activation_height = 0;
  std::vector<Validator> validators;
  crypto::PublicKey author{};  // who signed it (or the proposer whose proposal executed it)
  uint64_t executed_height = 0;
  uint64_t executed_ms = 0;
};

std::string encode_network_governance(const NetworkGovernance& g);
NetworkGovernance decode_network_governance(std::string_view data);
std::string encode_validator_change(const ValidatorChange& c);
ValidatorChange decode_validator_change(std::string_view data);

inline constexpr std::string_view kNetworkGovernanceKey = "Vg";
inline constexpr std::string_view kValidatorChangePrefix = "Vc";
std::string validator_change_key(uint64_t activation_height);

// A set's shape: 1 to kMaxValidators distinct keys, each with a host:port address. The error
// names the offending field ("validators[2].p2p_address: ...").
std::optional<std::string> validator_set_error(const std::vector<Validator>& validators);

// ---- the schedule: which set validates which height (pure; no state access) ----

struct ValidatorEpoch {
  uint64_t number = 0;
  uint64_t first_height = 1;  // activation height (1 for epoch 0)
  std::vector<Validator> validators;
  std::vector<crypto::PublicKey> keys() const;
};

class ValidatorSchedule {
 public:
  ValidatorSchedule() = default;
  // The genesis set, then `changes` in ascending activation height (as stored).
  ValidatorSchedule(const Genesis& genesis, const std::vector<ValidatorChange>& changes);
  // A set that never changes.
  static ValidatorSchedule fixed(std::vector<Validator> validators);

  const std::vector<ValidatorEpoch>& epochs() const { return epochs_; }
  // The epoch validating height h (h >= 1; height 0 answers epoch 0).
  const ValidatorEpoch& at_height(uint64_t h) const;
  // Epoch `number`, if scheduled.
  const ValidatorEpoch* epoch(uint64_t number) const;
  // The last height of epoch `number` when the next epoch is scheduled.
  std::optional<uint64_t> last_height(uint64_t number) const;
  uint64_t epoch_length() const { return epoch_length_; }
  void set_epoch_length(uint64_t l) { epoch_length_ = l; }

 private:
  std::vector<ValidatorEpoch> epochs_;
  uint64_t epoch_length_ = 0;
};

}  // namespace guts::state
