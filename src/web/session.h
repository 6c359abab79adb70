// Browser sessions and device-code sign-in (docs/web.md "Sign-in and sessions"). Node-local
// (never replicated, no transaction kind), like API tokens (api/tokens.h).
//
// A session is named by a random 32-byte id (libsodium CSPRNG) carried in the HttpOnly cookie
// `guts_session` as 64 hex digits; only SHA-256 of the id is stored. A session was opened either
// by the device-code flow (the CLI approved the code with the identity key: every scope, like a
// login token) or by pasting a token (it carries that token's scopes and repositories and dies
// with the token).
//
// Device-code flow: the browser asks for a code (POST /-/signin/device) and gets a random
// secret in the cookie `guts_device` plus a short user code ("BCDF-GHJK", shown on the page);
// `guts auth web BCDF-GHJK` approves the code with a request signed by the identity key
// (web/session_approval.h); the waiting page then trades its approved device secret for a session.
//
// Layout in the node's `local` family (keys prefixed, values codec-encoded):
//   "websession/" + sha256(id)     → owner pk32 | created varint | expires varint | kind u8
//                                    | token hash str (kind token) | agent str
//   "webdevice/" + sha256(secret)  → code str | created varint | expires varint
//                                    | approved u8 [| owner pk32]
//   "webcode/" + code              → sha256(secret) (the device request a code names)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/ed25519.h"
#include "storage/db.h"

namespace guts::web {

enum class SessionKind : uint8_t { kDevice = 0, kToken = 1 };

struct SessionInfo {
  std::string id;  // hex prefix of the id's hash: safe to show and log, names it for revocation
  crypto::PublicKey owner{};
  uint64_t created_ms = 0;
  uint64_t expires_ms = 0;
  SessionKind kind = SessionKind::kDevice;
  std::string token_hash;  // kind token: SHA-256 of the token it was opened with (raw bytes)
  std::string agent;       // the browser's User-Agent when it signed in (bounded)
  bool expired(uint64_t now_ms) const { return now_ms >= expires_ms; }
};

struct DeviceRequest {
  std::string code;  // "BCDF-GHJK"
  uint64_t created_ms = 0, expires_ms = 0;
  std::optional<crypto::PublicKey> approved_by;
};

// Device codes live this long (the page shows the deadline).
inline constexpr uint64_t kDeviceCodeLifetimeMs = 10ull * 60 * 1000;

class SessionStore {
 public:
  SessionStore(storage::Db& db, storage::Cf cf) : db_(db), cf_(cf) {}

  // Opens a session; returns the cookie value (64 hex digits), of which only the hash is kept.
  std::string open(const crypto::PublicKey& owner, SessionKind kind, std::string_view token_hash,
                   std::string_view agent, uint64_t now_ms, uint64_t lifetime_ms,
                   SessionInfo* info = nullptr);
  // The live session a cookie value names (nullopt when unknown, malformed or expired; an
  // expired record is deleted).
  std::optional<SessionInfo> lookup(std::string_view cookie, uint64_t now_ms);
  // Ends the session a cookie names; false when there was none.
  bool close(std::string_view cookie);
  // The live sessions of `owner`, oldest first.
  std::vector<SessionInfo> list(const crypto::PublicKey& owner, uint64_t now_ms) const;
  // Revokes `owner`'s session with this id; false when there is none.
  bool revoke_id(const crypto::PublicKey& owner, std::string_view id);

  // Starts a device-code sign-in: returns the secret for the browser's cookie (64 hex digits)
  // and fills *code with the code to show.
  std::string start_device(uint64_t now_ms, std::string* code);
  // The request a device cookie names (nullopt when unknown or expired).
  std::optional<DeviceRequest> device(std::string_view secret, uint64_t now_ms) const;
  // Marks the live request with this user code (any case, dash and spaces optional) approved
  // by `owner`; false when no live request has it.
  bool approve(std::string_view code, const crypto::PublicKey& owner, uint64_t now_ms);
  // Forgets a device request (after it became a session).
  void finish_device(std::string_view secret);

  // The canonical form of a user code ("bcdf ghjk" → "BCDF-GHJK"); nullopt when malformed.
  static std::optional<std::string> normalize_code(std::string_view code);
  // The session id (hex prefix of the hash) of a cookie value.
  static std::string id_of(std::string_view cookie);

 private:
  static std::optional<std::string> key_hash(std::string_view hex_secret);
  storage::Db& db_;
  storage::Cf cf_;
};

// Decodes a stored session record (throws codec::DecodeError on malformed input); `id` unset.
SessionInfo decode_session_record(std::string_view value);

// A Set-Cookie value: HttpOnly, SameSite=Lax, Path=/, Secure when `secure`; max_age_s 0 deletes.
std::string set_cookie(std::string_view name, std::string_view value, uint64_t max_age_s,
                       bool secure);

}  // namespace guts::web
