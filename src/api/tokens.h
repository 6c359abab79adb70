// API tokens issued by this node to identities that delegated to it. Node-local (never
// replicated); stored hashed (SHA-256 of the token, which is 32 CSPRNG bytes), revocable.
//
// Two kinds (docs/api.md "Tokens and scopes"):
//   login     made by `guts auth login` from a request signed by the identity key; holds every
//             scope, never expires (the delegation's expiry bounds it);
//   personal  a personal access token minted with a login token: a note, scopes
//             (api/scopes.h), an optional expiry and optionally a list of repositories it is
//             limited to (fine-grained: other repositories are as to an anonymous caller).
//
// Layout in the node's `local` family: "token/" + sha256(token) → owner pk32 | created varint
// [| kind u8 | note str | scopes list | expires_ms varint | repo ids list]. Records written
// before personal tokens existed end after `created` and read as login tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/ed25519.h"
#include "storage/db.h"

namespace guts::api {

enum class TokenKind : uint8_t { kLogin = 0, kPersonal = 1 };

struct TokenInfo {
  std::string id;  // hex prefix of the token's hash: safe to log and show
  crypto::PublicKey owner{};
  uint64_t created_ms = 0;
  TokenKind kind = TokenKind::kLogin;
  std::string note;
  std::vector<std::string> scopes;  // personal tokens; a login token holds all (scopes())
  uint64_t expires_ms = 0;          // 0: never
  std::vector<uint64_t> repo_ids;   // empty: every repository the owner may reach

  // The scopes the token holds (every known scope for a login token).
  std::vector<std::string> granted_scopes() const;
  bool expired(uint64_t now_ms) const { return expires_ms != 0 && now_ms >= expires_ms; }
  bool limited_to_repos() const { return !repo_ids.empty(); }
  bool allows_repo(uint64_t id) const;
};

// What a personal access token is created with.
struct PersonalTokenSpec {
  std::string note;
  std::vector<std::string> scopes;  // normalized (api/scopes.h)
  uint64_t expires_ms = 0;
  std::vector<uint64_t> repo_ids;
};

class TokenStore {
 public:
  TokenStore(storage::Db& db, storage::Cf cf) : db_(db), cf_(cf) {}
  // Returns the new login token ("guts_" + 64 hex); only its hash is stored.
  std::string issue(const crypto::PublicKey& owner, uint64_t now_ms, TokenInfo* info = nullptr);
  // A personal access token of `owner`.
  std::string issue_personal(const crypto::PublicKey& owner, const PersonalTokenSpec& spec,
                             uint64_t now_ms, TokenInfo* info = nullptr);
  std::optional<TokenInfo> lookup(std::string_view token) const;
  // The same by SHA-256 of the token (32 raw bytes), for browser sessions opened with a token.
  std::optional<TokenInfo> lookup_hash(std::string_view sha256) const;
  // SHA-256 of a token (what lookup_hash takes).
  static std::string hash_of(std::string_view token);
  bool revoke(std::string_view token);
  // The tokens of `owner`, oldest first (ids and metadata, never the tokens).
  std::vector<TokenInfo> list(const crypto::PublicKey& owner) const;
  // Revokes `owner`'s token with this id; false when there is none.
  bool revoke_id(const crypto::PublicKey& owner, std::string_view id);

  // Called after a token is issued ("token.create") or revoked ("token.revoke"): the node's
  // audit log records it (state/audit.h). Set before serving.
  using Listener = std::function<void(std::string_view action, const TokenInfo& info)>;
  void set_listener(Listener listener) { listener_ = std::move(listener); }

 private:
  static std::string key_for(std::string_view token);
  std::string store(const crypto::PublicKey& owner, uint64_t now_ms, TokenKind kind,
                    const PersonalTokenSpec& spec, TokenInfo* info);
  void erase(const std::string& key, const TokenInfo& info);
  storage::Db& db_;
  storage::Cf cf_;
  Listener listener_;
};

// Decodes a stored record (throws codec::DecodeError on malformed input). `id` is not set.
TokenInfo decode_token_record(std::string_view value);

}  // namespace guts::api
