// Blob replication's pure parts (replication/blob_sync_core.h, blob_sync_messages.h): the
// canonical codec with its bounds, the client's walk over the candidates (chunks, violations,
// bad bytes naming their sender, restarts) and the server's range rule.
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "core/status.h"
#include "replication/blob_sync_core.h"
#include "replication/blob_sync_messages.h"

using namespace guts;
using namespace guts::replication;

namespace {

crypto::PublicKey peer(uint8_t b) {
  crypto::PublicKey k{};
  k.fill(b);
  return k;
}

template <typename M>
void expect_roundtrip(const M& m) {
  Bytes enc = blobwire::encode(m);
  auto back = std::get<M>(blobwire::decode(enc));
  EXPECT_EQ(back, m);
  EXPECT_EQ(blobwire::encode(back), enc);
}

}  // namespace

TEST(BlobWire, MessagesRoundTripCanonically) {
  blobwire::BlobGet g{1, 7, {}, 1 << 20, 1 << 20};
  g.sha256.fill(0xab);
  expect_roundtrip(g);
  expect_roundtrip(blobwire::BlobData{2, 5, Bytes{1, 2, 3}});
  expect_roundtrip(blobwire::BlobData{3, 0, {}});
  expect_roundtrip(blobwire::BlobMissing{4, "not hosted"});
}

TEST(BlobWire, BoundsAndMalformedInputAreRejected) {
  blobwire::BlobGet g{1, 7, {}, 0, 0};
  EXPECT_THROW(blobwire::encode(g), Error);  // empty range
  g.length = blobwire::kMaxBlobChunk + 1;
  EXPECT_THROW(blobwire::encode(g), Error);
  blobwire::BlobData big{1, 1, Bytes(blobwire::kMaxBlobChunk + 1)};
  EXPECT_THROW(blobwire::encode(big), Error);
  // Over-long length on the wire, unknown type, trailing bytes, truncation, non-ASCII reason.
  g.length = 1;
  Bytes enc = blobwire::encode(g);
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_THROW(blobwire::decode(trailing), codec::DecodeError);
  EXPECT_THROW(blobwire::decode(ByteView(enc.data(), enc.size() - 1)), codec::DecodeError);
  Bytes unknown{9};
  EXPECT_THROW(blobwire::decode(unknown), codec::DecodeError);
  Bytes reason = blobwire::encode(blobwire::BlobMissing{1, "ab"});
  reason.back() = 0x07;
  EXPECT_THROW(blobwire::decode(reason), codec::DecodeError);
  codec::Writer w;
  w.u8(blobwire::kBlobGet).varint(1).varint(1).fixed(std::array<uint8_t, 32>{}).varint(0);
  w.varint(blobwire::kMaxBlobChunk + 1);
  EXPECT_THROW(blobwire::decode(w.take()), codec::DecodeError);
}

TEST(BlobFetch, ChunksFromOneCandidateUntilComplete) {
  BlobFetch f(25, {peer(1), peer(2)}, 10);
  auto a = f.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->peer, peer(1));
  EXPECT_EQ(a->offset, 0u);
  EXPECT_EQ(a->length, 10u);
  EXPECT_TRUE(a->restart);
  EXPECT_EQ(f.on_data(25, 10), BlobFetch::Verdict::kMore);
  a = f.next();
  EXPECT_EQ(a->offset, 10u);
  EXPECT_FALSE(a->restart);
  EXPECT_EQ(f.on_data(25, 10), BlobFetch::Verdict::kMore);
  a = f.next();
  EXPECT_EQ(a->offset, 20u);
  EXPECT_EQ(a->length, 5u);
  EXPECT_EQ(f.on_data(25, 5), BlobFetch::Verdict::kComplete);
  EXPECT_TRUE(f.complete());
  EXPECT_FALSE(f.next());
}

TEST(BlobFetch, ViolationsFailuresAndBadBytesMoveToTheNextCandidate) {
  BlobFetch f(25, {peer(1), peer(2), peer(3)}, 10);
  f.next();
  // A wrong total size: the candidate lies about the blob.
  EXPECT_EQ(f.on_data(26, 10), BlobFetch::Verdict::kViolation);
  f.on_failed();
  auto a = f.next();
  EXPECT_EQ(a->peer, peer(2));
  EXPECT_TRUE(a->restart);
  EXPECT_EQ(a->offset, 0u);
  // A short chunk that is not the end: violation too.
  EXPECT_EQ(f.on_data(25, 3), BlobFetch::Verdict::kViolation);
  f.on_failed();
  a = f.next();
  EXPECT_EQ(a->peer, peer(3));
  EXPECT_EQ(f.on_data(25, 10), BlobFetch::Verdict::kMore);
  f.next();
  EXPECT_EQ(f.on_data(25, 10), BlobFetch::Verdict::kMore);
  f.next();
  EXPECT_EQ(f.on_data(25, 5), BlobFetch::Verdict::kComplete);
  // The bytes failed SHA-256: the sender is named, the walk is over (no candidate left).
  EXPECT_EQ(f.on_bad_bytes(), peer(3));
  EXPECT_TRUE(f.exhausted());
  EXPECT_FALSE(f.next());
}

TEST(BlobFetch, EmptyBlobAndNoCandidates) {
  BlobFetch empty(0, {peer(1)}, 10);
  auto a = empty.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->length, 1u);  // asked as one byte, answered with none
  EXPECT_EQ(empty.on_data(0, 0), BlobFetch::Verdict::kComplete);
  BlobFetch none(10, {}, 10);
  EXPECT_FALSE(none.next());
  EXPECT_TRUE(none.exhausted());
}

TEST(BlobServe, RangesAreBounded) {
  EXPECT_EQ(serve_length(100, 0, 10, 64), 10u);
  EXPECT_EQ(serve_length(100, 95, 10, 64), 5u);
  EXPECT_EQ(serve_length(100, 0, 1000, 64), 64u);
  EXPECT_EQ(serve_length(100, 100, 10, 64), 0u);
  EXPECT_FALSE(serve_length(100, 101, 10, 64));
  EXPECT_EQ(serve_length(0, 0, 1, 64), 0u);
}
