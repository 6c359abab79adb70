#include "codec/byte_delta.h"

#include <algorithm>

#include "codec/codec.h"

namespace guts::codec {

void DeltaWriter::copy(size_t offset, size_t length) {
  if (length == 0) return;
  if (!pieces_.empty() && pieces_.back().copy &&
      pieces_.back().offset + pieces_.back().length == offset) {
    pieces_.back().length += length;
    return;
  }
  pieces_.push_back(Piece{true, offset, length, {}});
}

void DeltaWriter::insert(ByteView data) {
  if (data.empty()) return;
  if (pieces_.empty() || pieces_.back().copy) pieces_.push_back(Piece{false, 0, 0, {}});
  pieces_.back().data.insert(pieces_.back().data.end(), data.begin(), data.end());
}

void DeltaWriter::append(const DeltaWriter& more) {
  for (const auto& p : more.pieces_) {
    if (p.copy)
      copy(p.offset, p.length);
    else
      insert(p.data);
  }
}

Bytes DeltaWriter::encode() const {
  size_t size = 10;
  for (const auto& p : pieces_) size += p.copy ? 21 : 11 + p.data.size();
  Writer w(size);
  w.varint(pieces_.size());
  for (const auto& p : pieces_) {
    if (p.copy)
      w.u8(0).varint(p.offset).varint(p.length);
    else
      w.u8(1).bytes(p.data);
  }
  return w.take();
}

Bytes apply_delta(ByteView base, ByteView delta, size_t max_size) {
  Reader r(delta);
  size_t n = r.count(delta.size(), "delta pieces");
  Bytes out;
  // Most results are about the base's size: one allocation, not one per doubling.
  out.reserve(std::min(max_size, base.size() + delta.size()));
  auto grow = [&](size_t length) {
    if (length > max_size - out.size()) throw DecodeError("delta: result too large");
  };
  for (size_t i = 0; i < n; ++i) {
    switch (r.u8()) {
      case 0: {
        uint64_t offset = r.varint(), length = r.varint();
        if (offset > base.size() || length > base.size() - offset)
          throw DecodeError("delta: copy outside the base");
        grow(length);
        out.insert(out.end(), base.begin() + offset, base.begin() + offset + length);
        break;
      }
      case 1: {
        ByteView data = r.bytes_view(max_size, "delta insert");
        grow(data.size());
        out.insert(out.end(), data.begin(), data.end());
        break;
      }
      default:
        throw DecodeError("delta: bad piece kind");
    }
  }
  r.finish();
  return out;
}

}  // namespace guts::codec
