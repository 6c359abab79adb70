#include "codec/byte_delta.h"

#include <algorithm>
#include <stdexcept>

#include "codec/codec.h"

namespace guts::codec {

DeltaBuilder::DeltaBuilder(ByteView base, size_t reserve, bool string)
    : base_(base), string_(string), out_(reserve) {}

void DeltaBuilder::end_insert() {
  const size_t length = out_.size() - mark_;
  if (length == 0) return;
  // After an insert (a match that did not match ends one): one piece.
  if (!pieces_.empty() && !pieces_.back().copy &&
      pieces_.back().offset + pieces_.back().length == mark_)
    pieces_.back().length += length;
  else
    pieces_.push_back(Piece{false, mark_, length});
  mark_ = out_.size();
}

void DeltaBuilder::copy(size_t offset, size_t length) {
  if (offset > base_.size() || length > base_.size() - offset)
    throw std::out_of_range("DeltaBuilder: copy outside the base");
  end_insert();
  if (length == 0) return;
  if (string_)
    out_.fixed(base_.subspan(offset, length));
  else
    copied_out_ += length;
  add_copy(offset, length);
}

void DeltaBuilder::add_copy(size_t offset, size_t length) {
  mark_ = out_.size();
  if (!pieces_.empty() && pieces_.back().copy &&
      pieces_.back().offset + pieces_.back().length == offset)
    pieces_.back().length += length;
  else
    pieces_.push_back(Piece{true, offset, length});
}

bool DeltaBuilder::match(size_t offset) {
  const size_t length = out_.size() - mark_;
  const ByteView added = ByteView(out_.data()).subspan(mark_);
  if (length == 0 || offset > base_.size() || length > base_.size() - offset ||
      !std::equal(added.begin(), added.end(), base_.begin() + offset)) {
    end_insert();
    return false;
  }
  add_copy(offset, length);
  return true;
}

DeltaBuilder::Built DeltaBuilder::finish() && {
  end_insert();
  size_t size = 10;
  for (const auto& p : pieces_) size += p.copy ? 21 : 11 + p.length;
  Writer w(size);
  w.varint(pieces_.size());
  const ByteView built(out_.data());
  for (const auto& p : pieces_) {
    if (p.copy)
      w.u8(0).varint(p.offset).varint(p.length);
    else
      w.u8(1).bytes(built.subspan(p.offset, p.length));
  }
  return {out_.take(), w.take()};
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
