// Reading and applying SSH keys (layout and rules in state/ssh_keys.h).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/status.h"
#include "crypto/ed25519.h"
#include "state/kv.h"
#include "state/ssh_keys.h"
#include "state/view.h"

namespace guts::state {

struct Transaction;

std::optional<SshKey> ssh_key(const StateView& view, uint64_t id);
// A user's registered keys, by id.
std::vector<SshKey> ssh_keys_of(const StateView& view, const crypto::PublicKey& user);

// Who a presented SSH key authenticates: the owner of a registered key with the same blob, or,
// for an ssh-ed25519 key, the registered account whose identity key it is. nullopt: nobody.
struct SshKeyOwner {
  crypto::PublicKey user{};
  uint64_t key_id = 0;  // 0: the user's identity key
};
std::optional<SshKeyOwner> ssh_key_owner(const StateView& view, const SshPublicKey& key);

// Validity and application of kinds 60-61; rejections leave `state` untouched.
Status apply_add_ssh_key(const Schema& schema, Overlay& state, const Transaction& tx,
                         const AddSshKey& body, uint64_t now_ms);
Status apply_delete_ssh_key(const Schema& schema, Overlay& state, const Transaction& tx,
                            const DeleteSshKey& body);

}  // namespace guts::state
