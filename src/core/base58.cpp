#include "core/base58.h"

#include <algorithm>

namespace guts {

static constexpr char kAlphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

std::string base58_encode(ByteView data) {
  size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;
  // log(256)/log(58) ~ 1.366; digits stored little-endian in base 58.
  std::vector<uint8_t> digits((data.size() - zeros) * 138 / 100 + 1, 0);
  size_t used = 0;
  for (size_t i = zeros; i < data.size(); ++i) {
    int carry = data[i];
    size_t j = 0;
    for (; j < used || carry != 0; ++j) {
      carry += 256 * digits[j];
      digits[j] = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    used = j;
  }
  std::string out(zeros, '1');
  for (size_t i = used; i-- > 0;) out.push_back(kAlphabet[digits[i]]);
  return out;
}

std::optional<Bytes> base58_decode(std::string_view text, size_t max_input) {
  if (text.size() > max_input) return std::nullopt;
  int8_t map[256];
  std::fill(std::begin(map), std::end(map), -1);
  for (int i = 0; i < 58; ++i) map[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);

  size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '1') ++zeros;
  std::vector<uint8_t> bytes(text.size() * 733 / 1000 + 1, 0);  // little-endian base 256
  size_t used = 0;
  for (size_t i = zeros; i < text.size(); ++i) {
    int carry = map[static_cast<uint8_t>(text[i])];
    if (carry < 0) return std::nullopt;
    size_t j = 0;
    for (; j < used || carry != 0; ++j) {
      carry += 58 * bytes[j];
      bytes[j] = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    used = j;
  }
  Bytes out(zeros, 0);
  for (size_t i = used; i-- > 0;) out.push_back(bytes[i]);
  return out;
}

}  // namespace guts
