// API tokens issued by this node to identities that delegated to it. Node-local (never
// replicated); stored hashed (SHA-256 of the token, which is 32 CSPRNG bytes), revocable.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "crypto/ed25519.h"
#include "storage/db.h"

namespace guts::api {

struct TokenInfo {
  std::string id;  // hex prefix of the token's hash: safe to log and show
  crypto::PublicKey owner{};
  uint64_t created_ms = 0;
};

class TokenStore {
 public:
  TokenStore(storage::Db& db, storage::Cf cf) : db_(db), cf_(cf) {}
  // Returns the new token ("guts_" + 64 hex); only its hash is stored.
  std::string issue(const crypto::PublicKey& owner, uint64_t now_ms, TokenInfo* info = nullptr);
  std::optional<TokenInfo> lookup(std::string_view token) const;
  bool revoke(std::string_view token);

  // Called after a token is issued ("token.create") or revoked ("token.revoke"): the node's
  // audit log records it (state/audit.h). Set before serving.
  using Listener = std::function<void(std::string_view action, const TokenInfo& info)>;
  void set_listener(Listener listener) { listener_ = std::move(listener); }

 private:
  static std::string key_for(std::string_view token);
  storage::Db& db_;
  storage::Cf cf_;
  Listener listener_;
};

}  // namespace guts::api
