// Deltas between byte strings: how the repository tree's block records store a leaf's preimage
// as the change from the same leaf's preimage in an earlier record (state/smt.h), so a push to a
// repository of many refs records the refs it wrote, not the whole ref set again.
//
//   delta = varint n ‖ n × ( u8 0 ‖ varint offset ‖ varint length   copy base[offset, +length)
//                          | u8 1 ‖ bytes(data) )                    insert data
//
// Node-local (never signed or sent): the builder merges adjacent pieces but the format does not
// require it.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstddef>

#include "codec/codec.h"
#include "core/bytes.h"

namespace guts::codec {

// Builds a byte string from runs of a base and new bytes, and with it the delta that makes it
// from the base, in one pass: apply_delta(base, delta) is the string by construction (the
// pieces say how it was built), so it need not be applied again to be known.
class DeltaBuilder {
 public:
  // `reserve`: about the string's size. A builder for the delta alone (`string` false) leaves
  // the copied bytes out of out(): finish() returns the delta and the inserted bytes only.
  DeltaBuilder(ByteView base, size_t reserve, bool string = true);
  // Appends base[offset, +length): a copy piece (a copy that continues the copy before it
  // extends it; an empty one is dropped).
  void copy(size_t offset, size_t length);
  // Where new bytes are appended: those since the last piece form one insert piece.
  Writer& out() { return out_; }
  // The bytes appended since the last piece become a copy of base[offset, ...) when they equal
  // it (an insert otherwise). Returns whether they did.
  bool match(size_t offset);
  struct Built {
    Bytes bytes;
    Bytes delta;
  };
  Built finish() &&;
  // The size of the string built so far.
  size_t size() const { return out_.size() + copied_out_; }

 private:
  struct Piece {
    bool copy;
    size_t offset, length;  // copy: in the base; insert: in the string built
  };
  void end_insert();
  void add_copy(size_t offset, size_t length);  // the bytes since the last piece copy these
  ByteView base_;
  bool string_;
  size_t copied_out_ = 0;  // for the delta alone: the copied bytes left out of out_
  Writer out_;
  boost::container::small_vector<Piece, 8> pieces_;
  size_t mark_ = 0;  // where the bytes not yet in a piece begin
};

// What `delta` makes of `base`. Throws DecodeError when the delta is malformed (also trailing
// bytes), copies from outside the base, or makes more than `max_size` bytes.
Bytes apply_delta(ByteView base, ByteView delta, size_t max_size);

}  // namespace guts::codec
