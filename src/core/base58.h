// Base58 with the Bitcoin alphabet (base58btc), as used by multibase 'z' and did:key.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"

namespace guts {

std::string base58_encode(ByteView data);
// nullopt on characters outside the alphabet or input longer than max_input.
std::optional<Bytes> base58_decode(std::string_view text, size_t max_input = 256);

}  // namespace guts
