// The signed approval of a device code (docs/web.md "Sign-in and sessions"): what
// `guts auth web CODE` signs with the identity key so that the node opens a browser session for
// that identity. Like the token request (state/token_request.h) it proves possession of the
// key, names the chain and the node (no replay on another node or network), carries a
// timestamp the node accepts within ±5 minutes, and names the code it approves. Header-only:
// shared by the CLI (which has no server code) and the node (web/signin_pages.cpp).
#pragma once

#include <cstdint>
#include <string_view>

#include "codec/codec.h"
#include "core/bytes.h"
#include "crypto/ed25519.h"

namespace guts::web {

inline constexpr std::string_view kDeviceApprovalDomain = "guts/web-device-approval";

// chain_id str | node pk32 | user pk32 | timestamp_ms varint | code str ("BCDF-GHJK")
inline Bytes device_approval_payload(std::string_view chain_id, const crypto::PublicKey& node,
                                     const crypto::PublicKey& user, uint64_t timestamp_ms,
                                     std::string_view code) {
  codec::Writer w;
  w.str(chain_id).fixed(node).fixed(user).varint(timestamp_ms).str(code);
  return w.take();
}

}  // namespace guts::web
