// Byte buffers and their textual forms (hex). Every module speaks in these types.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace guts {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

// A 32-byte digest (SHA-256 everywhere in Guts).
using Digest = std::array<uint8_t, 32>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string to_string(ByteView b) {
  return {b.begin(), b.end()};
}
inline Bytes to_bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

std::string hex_encode(ByteView data);
// Lower- or upper-case hex of even length; nullopt on any other input.
std::optional<Bytes> hex_decode(std::string_view hex);

// Decodes exactly N bytes of hex (2N characters).
template <size_t N>
std::optional<std::array<uint8_t, N>> hex_decode_fixed(std::string_view hex) {
  if (hex.size() != 2 * N) return std::nullopt;
  auto bytes = hex_decode(hex);
  if (!bytes) return std::nullopt;
  std::array<uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

}  // namespace guts
