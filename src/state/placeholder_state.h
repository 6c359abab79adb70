// Reading and applying placeholder claims and confirmations (layout in state/placeholder.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "crypto/ed25519.h"
#include "state/kv.h"
#include "state/placeholder.h"
#include "state/view.h"

namespace guts::state {

struct Transaction;

// Every claim of HOST/LOGIN, by claimant key (ascending).
std::vector<std::pair<crypto::PublicKey, PlaceholderClaim>> placeholder_claims(
    const StateView& view, std::string_view host, std::string_view login);
std::optional<PlaceholderClaim> placeholder_claim(const StateView& view, std::string_view host,
                                                  std::string_view login,
                                                  const crypto::PublicKey& claimant);

struct NamedConfirmation {
  std::string host;
  std::string login;
  PlaceholderConfirmation confirmation;
};
// The repository's confirmations, by placeholder name.
std::vector<NamedConfirmation> placeholder_confirmations(const StateView& view, uint64_t repo_id);
std::optional<PlaceholderConfirmation> placeholder_confirmation(const StateView& view,
                                                                uint64_t repo_id,
                                                                std::string_view host,
                                                                std::string_view login);

// Who a migrated item of `repo_id` written by `author` with `body` is shown as: the claimant
// when the body's origin line names a placeholder confirmed in this repository for items of
// `author`, and the claimant's claim still stands; otherwise nullopt (show `author`).
std::optional<crypto::PublicKey> claimed_author(const StateView& view, uint64_t repo_id,
                                                const crypto::PublicKey& author,
                                                std::string_view body);

// Validity and application of kinds 65 and 66 (state/placeholder.h). Rejections leave `state`
// untouched.
Status apply_claim_placeholder(const Schema& schema, Overlay& state, const Transaction& tx,
                               const ClaimPlaceholder& body, uint64_t now_ms);
Status apply_confirm_placeholder(const Schema& schema, Overlay& state, const Transaction& tx,
                                 const ConfirmPlaceholder& body, uint64_t now_ms);

}  // namespace guts::state
