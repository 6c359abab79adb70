// Route tables. Each route declares the access it needs; the auth middleware enforces it.
#pragma once

#include "api/router.h"
#include "api/services.h"

namespace guts::api {

// The domain of the signature that proves key possession when asking for a token.
inline constexpr std::string_view kTokenRequestDomain = "guts/token-request";
// The signed payload of a token request (docs/protocol.md §5).
Bytes token_request_payload(std::string_view chain_id, const crypto::PublicKey& node,
                            const crypto::PublicKey& user, uint64_t timestamp_ms);

void add_guts_routes(Router& router, Services& services);  // /api/guts/...
void add_v3_routes(Router& router, Services& services);    // /api/v3/... (GitHub shapes)

}  // namespace guts::api
