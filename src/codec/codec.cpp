#include "codec/codec.h"

#include "core/utf8.h"

namespace guts::codec {

Writer& Writer::varint(uint64_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<uint8_t>(v) | 0x80);
    v >>= 7;
  }
  buf_.push_back(static_cast<uint8_t>(v));
  return *this;
}

Writer& Writer::u32be(uint32_t v) {
  for (int i = 3; i >= 0; --i) buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return *this;
}

Writer& Writer::u64be(uint64_t v) {
  for (int i = 7; i >= 0; --i) buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return *this;
}

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void Reader::need(size_t n) const {
  if (n > remaining()) throw DecodeError("unexpected end of input");
}

uint8_t Reader::u8() {
  need(1);
  return data_[pos_++];
}

bool Reader::boolean() {
  uint8_t v = u8();
  if (v > 1) throw DecodeError("boolean out of range");
  return v == 1;
}

uint64_t Reader::varint() {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t b = u8();
    if (shift == 63 && b > 1) throw DecodeError("varint overflows 64 bits");
    result |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      if (b == 0 && shift != 0) throw DecodeError("non-minimal varint");
      return result;
    }
  }
  throw DecodeError("varint too long");
}

uint64_t Reader::varint_max(uint64_t max, const char* what) {
  uint64_t v = varint();
  if (v > max) throw DecodeError(std::string(what) + " out of range");
  return v;
}

uint32_t Reader::u32be() {
  need(4);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | data_[pos_++];
  return v;
}

uint64_t Reader::u64be() {
  need(8);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | data_[pos_++];
  return v;
}

ByteView Reader::fixed(size_t n) {
  need(n);
  auto v = data_.subspan(pos_, n);
  pos_ += n;
  return v;
}

ByteView Reader::bytes_view(size_t max, const char* what) {
  uint64_t len = varint();
  if (len > max) throw DecodeError(std::string(what) + " longer than " + std::to_string(max));
  return fixed(static_cast<size_t>(len));
}

Bytes Reader::bytes(size_t max, const char* what) {
  auto v = bytes_view(max, what);
  return {v.begin(), v.end()};
}

std::string Reader::str(size_t max, const char* what) {
  auto v = bytes_view(max, what);
  std::string s(v.begin(), v.end());
  if (!is_valid_utf8(s)) throw DecodeError(std::string(what) + " is not valid UTF-8");
  return s;
}

size_t Reader::count(size_t max, const char* what) {
  uint64_t n = varint();
  if (n > max)
    throw DecodeError(std::string(what) + " has more than " + std::to_string(max) + " elements");
  if (n > remaining()) throw DecodeError(std::string(what) + " count exceeds input");
  return static_cast<size_t>(n);
}

void Reader::finish() const {
  if (!done()) throw DecodeError(std::to_string(remaining()) + " trailing bytes");
}

}  // namespace guts::codec
