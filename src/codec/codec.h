// Canonical binary encoding for everything Guts signs or sends between nodes.
//
// Rules (docs/protocol.md §1): unsigned integers are LEB128 varints in their shortest form;
// fixed-width integers are big-endian; variable-length byte strings and UTF-8 strings are a
// varint length followed by the bytes, each bounded by a maximum the decoder enforces; booleans
// are one byte 0 or 1; fixed-size values (keys, digests, signatures) are raw. A value has exactly
// one encoding: the decoder rejects non-minimal varints, out-of-range booleans, invalid UTF-8
// and trailing bytes, so decode(encode(x)) == x and encode(decode(b)) == b for every accepted b.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/status.h"

namespace guts::codec {

class DecodeError : public Error {
 public:
  explicit DecodeError(const std::string& what)
      : Error(Code::kInvalidArgument, "decode: " + what) {}
};

class Writer {
 public:
  Writer() = default;
  explicit Writer(size_t reserve) { buf_.reserve(reserve); }

  Writer& u8(uint8_t v) {
    buf_.push_back(v);
    return *this;
  }
  Writer& boolean(bool v) { return u8(v ? 1 : 0); }
  Writer& varint(uint64_t v);
  Writer& u32be(uint32_t v);
  Writer& u64be(uint64_t v);
  // Raw bytes, no length prefix (for fixed-size fields).
  Writer& fixed(ByteView v) {
    buf_.insert(buf_.end(), v.begin(), v.end());
    return *this;
  }
  template <size_t N>
  Writer& fixed(const std::array<uint8_t, N>& v) {
    return fixed(ByteView(v));
  }
  // varint length + bytes.
  Writer& bytes(ByteView v) {
    varint(v.size());
    return fixed(v);
  }
  Writer& str(std::string_view v) { return bytes(as_bytes(v)); }

  const Bytes& data() const { return buf_; }
  Bytes take() { return std::move(buf_); }
  size_t size() const { return buf_.size(); }

 private:
  Bytes buf_;
};

class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}

  uint8_t u8();
  bool boolean();
  uint64_t varint();
  // A varint that must not exceed `max`.
  uint64_t varint_max(uint64_t max, const char* what);
  uint32_t u32be();
  uint64_t u64be();
  ByteView fixed(size_t n);
  template <size_t N>
  std::array<uint8_t, N> fixed() {
    auto v = fixed(N);
    std::array<uint8_t, N> out;
    std::copy(v.begin(), v.end(), out.begin());
    return out;
  }
  Bytes bytes(size_t max, const char* what = "bytes");
  ByteView bytes_view(size_t max, const char* what = "bytes");
  // UTF-8 validated.
  std::string str(size_t max, const char* what = "string");
  // Element count of a sequence; also checked against remaining input (each element >= 1 byte).
  size_t count(size_t max, const char* what = "sequence");

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool done() const { return pos_ == data_.size(); }
  // Throws unless all input was consumed.
  void finish() const;

 private:
  void need(size_t n) const;
  ByteView data_;
  size_t pos_ = 0;
};

// Length in bytes of v's varint encoding.
size_t varint_size(uint64_t v);

}  // namespace guts::codec
