// Deltas between byte strings: how the repository tree's block records store a leaf's preimage
// as the change from the same leaf's preimage in an earlier record (state/smt.h), so a push to a
// repository of many refs records the refs it wrote, not the whole ref set again.
//
//   delta = varint n ‖ n × ( u8 0 ‖ varint offset ‖ varint length   copy base[offset, +length)
//                          | u8 1 ‖ bytes(data) )                    insert data
//
// Node-local (never signed or sent): the writer merges adjacent pieces but the format does not
// require it.
#pragma once

#include <cstddef>
#include <vector>

#include "core/bytes.h"

namespace guts::codec {

class DeltaWriter {
 public:
  // Pieces in the order of the result. An empty piece is dropped; a copy that continues the
  // copy before it, or an insert after an insert, extends it.
  void copy(size_t offset, size_t length);
  void insert(ByteView data);
  void append(const DeltaWriter& more);  // more's pieces after these
  Bytes encode() const;

 private:
  struct Piece {
    bool copy;
    size_t offset = 0, length = 0;  // copy
    Bytes data;                     // insert
  };
  std::vector<Piece> pieces_;
};

// What `delta` makes of `base`. Throws DecodeError when the delta is malformed (also trailing
// bytes), copies from outside the base, or makes more than `max_size` bytes.
Bytes apply_delta(ByteView base, ByteView delta, size_t max_size);

}  // namespace guts::codec
