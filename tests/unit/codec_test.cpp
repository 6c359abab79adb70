#include "codec/codec.h"

#include <gtest/gtest.h>

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
