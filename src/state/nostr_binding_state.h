// Reading and applying Nostr key bindings (layout in state/nostr_binding.h).
#pragma once

#include <optional>

#include "core/status.h"
#include "crypto/ed25519.h"
#include "state/kv.h"
#include "state/nostr_binding.h"
#include "state/view.h"

namespace guts::state {

struct Transaction;

std::optional<NostrBinding> nostr_binding_of(const StateView& view, const crypto::PublicKey& user);
std::optional<crypto::PublicKey> nostr_key_owner(const StateView& view,
                                                 const crypto::XOnlyPublicKey& pubkey);

// Validity and application of kind 75. Rejections leave `state` untouched.
Status apply_bind_nostr_key(const Schema& schema, Overlay& state, const Transaction& tx,
                            const BindNostrKey& body, uint64_t now_ms);

}  // namespace guts::state
