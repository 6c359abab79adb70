#include "codec/codec.h"

#include <gtest/gtest.h>

#include "codec/byte_delta.h"

using namespace guts;
using codec::DecodeError;
using codec::Reader;
using codec::Writer;

TEST(Codec, VarintRoundTripAndSize) {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 16383ull, 16384ull, ~0ull}) {
    Writer w;
    w.varint(v);
    EXPECT_EQ(w.size(), codec::varint_size(v));
    Reader r(w.data());
    EXPECT_EQ(r.varint(), v);
    r.finish();
  }
  Writer w;
  w.varint(300);
  EXPECT_EQ(hex_encode(w.data()), "ac02");
}

TEST(Codec, RejectsNonCanonicalVarints) {
  Bytes nonminimal{0x80, 0x00};
  Reader r1(nonminimal);
  EXPECT_THROW(r1.varint(), DecodeError);
  Bytes overflow{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  Reader r2(overflow);
  EXPECT_THROW(r2.varint(), DecodeError);
  Bytes truncated{0x80};
  Reader r3(truncated);
  EXPECT_THROW(r3.varint(), DecodeError);
}

TEST(Codec, BoundedBytesStringsAndTrailing) {
  Writer w;
  w.str("hello").bytes(Bytes{1, 2, 3}).boolean(true).u64be(0x0102030405060708).u32be(7);
  Reader r(w.data());
  EXPECT_EQ(r.str(5), "hello");
  EXPECT_EQ(r.bytes(3), (Bytes{1, 2, 3}));
  EXPECT_TRUE(r.boolean());
  EXPECT_EQ(r.u64be(), 0x0102030405060708u);
  EXPECT_EQ(r.u32be(), 7u);
  r.finish();

  Reader tooLong(w.data());
  EXPECT_THROW(tooLong.str(4), DecodeError);

  Bytes trailing = w.data();
  trailing.push_back(0);
  Reader t(trailing);
  t.str(5);
  t.bytes(3);
  t.boolean();
  t.u64be();
  t.u32be();
  EXPECT_THROW(t.finish(), DecodeError);

  Bytes badBool{2};
  Reader b(badBool);
  EXPECT_THROW(b.boolean(), DecodeError);

  Writer bad;
  bad.bytes(as_bytes("\xff\xfe"));
  Reader u(bad.data());
  EXPECT_THROW(u.str(10), DecodeError);
}

TEST(Codec, CountBoundedByInput) {
  Writer w;
  w.varint(1000);
  Reader r(w.data());
  EXPECT_THROW(r.count(10), DecodeError);
  Reader r2(w.data());
  EXPECT_THROW(r2.count(5000), DecodeError);  // claims more elements than bytes left
}

namespace {
Bytes as_bytes_copy(std::string_view s) {
  return {s.begin(), s.end()};
}
}  // namespace

// Deltas between byte strings (codec/byte_delta.h): the builder makes a string from copies of a
// base and new bytes, and the delta that makes it from the base, adjacent pieces merged;
// malformed deltas, copies outside the base and oversized results are refused.
TEST(ByteDelta, CopiesAndInsertsMakeTheTarget) {
  Bytes base = as_bytes_copy("the quick brown fox");
  codec::DeltaBuilder d(base, 0);
  d.copy(0, 4);
  d.copy(4, 6);  // continues the copy before: one piece
  d.out().fixed(as_bytes("red "));
  d.out().fixed(as_bytes("hot "));  // after an insert: one piece
  d.copy(16, 3);
  d.copy(0, 0);  // empty: dropped
  d.out().fixed(as_bytes("!"));
  EXPECT_THROW(d.copy(10, 10), std::out_of_range);
  auto built = std::move(d).finish();
  EXPECT_EQ(built.bytes, as_bytes_copy("the quick red hot fox!"));
  EXPECT_EQ(codec::apply_delta(base, built.delta, 64), built.bytes);
  Reader r(built.delta);
  EXPECT_EQ(r.varint(), 4u);  // copy, insert, copy, insert
  auto empty = codec::DeltaBuilder(base, 0).finish();
  EXPECT_TRUE(empty.bytes.empty());
  EXPECT_EQ(codec::apply_delta(base, empty.delta, 0), Bytes{});
}

// match(): bytes written that equal the base at an offset become a copy; others stay an insert
// (merged with an insert next to them).
TEST(ByteDelta, MatchingBytesBecomeACopy) {
  Bytes base = as_bytes_copy("head:entries");
  codec::DeltaBuilder same(base, 0);
  same.out().fixed(as_bytes("head:"));
  same.match(0);
  same.copy(5, 7);  // continues the matched copy: one piece
  auto a = std::move(same).finish();
  EXPECT_EQ(a.bytes, base);
  Reader ra(a.delta);
  EXPECT_EQ(ra.varint(), 1u);
  EXPECT_EQ(ra.u8(), 0);  // a copy
  codec::DeltaBuilder other(base, 0);
  other.out().fixed(as_bytes("HEAD:"));
  other.match(0);
  other.out().fixed(as_bytes("x"));  // next to the insert: one piece
  other.copy(5, 7);
  auto b = std::move(other).finish();
  EXPECT_EQ(b.bytes, as_bytes_copy("HEAD:xentries"));
  EXPECT_EQ(codec::apply_delta(base, b.delta, 64), b.bytes);
  Reader rb(b.delta);
  EXPECT_EQ(rb.varint(), 2u);           // insert, copy
  codec::DeltaBuilder longer(base, 0);  // longer than the base: an insert
  longer.out().fixed(as_bytes("head:entries and more"));
  longer.match(0);
  auto c = std::move(longer).finish();
  EXPECT_EQ(codec::apply_delta(base, c.delta, 64), c.bytes);
  EXPECT_EQ(Reader(c.delta).varint(), 1u);
}

TEST(ByteDelta, BadDeltasAreRefused) {
  Bytes base(10, 7);
  auto delta = [](auto&& write) {
    Writer w;
    write(w);
    return w.take();
  };
  // A copy past the end of the base, and one whose end overflows.
  EXPECT_THROW(
      codec::apply_delta(base, delta([](Writer& w) { w.varint(1).u8(0).varint(5).varint(6); }), 64),
      DecodeError);
  EXPECT_THROW(codec::apply_delta(
                   base, delta([](Writer& w) { w.varint(1).u8(0).varint(11).varint(0); }), 64),
               DecodeError);
  EXPECT_THROW(codec::apply_delta(
                   base, delta([](Writer& w) { w.varint(1).u8(0).varint(1).varint(~0ull); }), 64),
               DecodeError);
  EXPECT_NO_THROW(codec::apply_delta(
      base, delta([](Writer& w) { w.varint(1).u8(0).varint(0).varint(10); }), 64));
  // A result larger than allowed, by copies or by inserts.
  auto twice =
      delta([](Writer& w) { w.varint(2).u8(0).varint(0).varint(10).u8(0).varint(0).varint(10); });
  EXPECT_EQ(codec::apply_delta(base, twice, 20).size(), 20u);
  EXPECT_THROW(codec::apply_delta(base, twice, 19), DecodeError);
  EXPECT_THROW(
      codec::apply_delta(base, delta([](Writer& w) { w.varint(1).u8(1).bytes(Bytes(30, 1)); }), 29),
      DecodeError);
  // A bad kind, a count larger than the pieces, trailing bytes, truncation.
  EXPECT_THROW(codec::apply_delta(base, delta([](Writer& w) { w.varint(1).u8(2); }), 64),
               DecodeError);
  EXPECT_THROW(
      codec::apply_delta(base, delta([](Writer& w) { w.varint(3).u8(1).bytes(Bytes(1, 1)); }), 64),
      DecodeError);
  EXPECT_THROW(codec::apply_delta(base, delta([](Writer& w) { w.varint(0).u8(0); }), 64),
               DecodeError);
  EXPECT_THROW(codec::apply_delta(base, delta([](Writer& w) { w.varint(1).u8(0).varint(1); }), 64),
               DecodeError);
}
