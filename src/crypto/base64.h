// Standard base64 (RFC 4648 §4, padded), e.g. for HTTP Basic credentials. libsodium underneath.
#pragma once

#include <string>
#include <string_view>

namespace guts::crypto {

std::string base64_encode(std::string_view data);

}  // namespace guts::crypto
