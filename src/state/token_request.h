// The signed token request (docs/protocol.md §5): what a client signs to prove key possession
// when asking a node for an API token. Shared by the server (api/guts_routes.cpp) and the CLI,
// so it lives in the wire library, with no server dependency.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/bytes.h"
#include "crypto/ed25519.h"

namespace guts::api {

// The domain of the signature that proves key possession when asking for a token.
inline constexpr std::string_view kTokenRequestDomain = "guts/token-request";
// The signed payload of a token request (docs/protocol.md §5).
Bytes token_request_payload(std::string_view chain_id, const crypto::PublicKey& node,
                            const crypto::PublicKey& user, uint64_t timestamp_ms);

// CI runners sign each request instead of holding a token (header X-Guts-Runner, api/auth.h):
// the token request's payload, then the method and path (without query).
inline constexpr std::string_view kRunnerRequestDomain = "guts/runner-request";
Bytes runner_request_payload(std::string_view chain_id, const crypto::PublicKey& node,
                             const crypto::PublicKey& runner, uint64_t timestamp_ms,
                             std::string_view method, std::string_view path);

}  // namespace guts::api
