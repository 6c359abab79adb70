// Replication messages (canonical, bounded) and the seeding policy parser.
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "crypto/did.h"
#include "replication/messages.h"
#include "replication/seed_policy.h"

namespace guts::replication {
namespace {

wire::Oid oid(uint8_t b) {
  wire::Oid o;
  o.fill(b);
  return o;
}

TEST(ReplicationMessages, RoundTripCanonically) {
  std::vector<wire::Message> all = {
      wire::Want{7, 42, {oid(1), oid(2)}, {oid(3)}},   wire::Want{1, 1, {oid(9)}, {}},
      wire::PackChunk{7, 0, false, Bytes(1000, 0xab)}, wire::PackChunk{7, 3, true, {}},
      wire::NotFound{7, "repository not hosted here"}, wire::Inventory{true, {}},
      wire::Inventory{false, {1, 5, 300, 1ull << 40}},
  };
  for (const auto& m : all) {
    auto b = wire::encode(m);
    EXPECT_EQ(wire::decode(b), m);
    EXPECT_EQ(wire::encode(wire::decode(b)), b);
    // Every strict prefix is rejected, and so is a trailing byte.
    for (size_t n = 0; n < b.size(); ++n)
      EXPECT_THROW(wire::decode(ByteView(b).first(n)), codec::DecodeError);
    auto longer = b;
    longer.push_back(0);
    EXPECT_THROW(wire::decode(longer), codec::DecodeError);
  }
}

TEST(ReplicationMessages, RejectsWhatWouldNotBeCanonicalOrBounded) {
  // Unknown type.
  EXPECT_THROW(wire::decode(Bytes{0x00}), codec::DecodeError);
  EXPECT_THROW(wire::decode(Bytes{0x05, 0x00}), codec::DecodeError);
  // Want without wants.
  EXPECT_THROW(wire::decode(Bytes{wire::kWant, 1, 1, 0, 0}), codec::DecodeError);
  // A huge want count with no data behind it.
  EXPECT_THROW(wire::decode(Bytes{wire::kWant, 1, 1, 0xff, 0xff, 0x03}), codec::DecodeError);
  // Inventory: unsorted, duplicate, hosts_all with a list.
  EXPECT_THROW(wire::decode(Bytes{wire::kInventory, 0, 2, 5, 3}), codec::DecodeError);
  EXPECT_THROW(wire::decode(Bytes{wire::kInventory, 0, 2, 5, 5}), codec::DecodeError);
  EXPECT_THROW(wire::decode(Bytes{wire::kInventory, 1, 1, 5}), codec::DecodeError);
  // Bad boolean.
  EXPECT_THROW(wire::decode(Bytes{wire::kPackChunk, 1, 0, 2, 0}), codec::DecodeError);
  // Chunk over 1 MiB.
  codec::Writer w;
  w.u8(wire::kPackChunk)
      .varint(1)
      .varint(0)
      .boolean(true)
      .bytes(Bytes(wire::kMaxChunkBytes + 1, 0));
  EXPECT_THROW(wire::decode(w.data()), codec::DecodeError);
  // The encoder refuses what the decoder would.
  EXPECT_THROW(wire::encode(wire::Want{1, 1, {}, {}}), Error);
  EXPECT_THROW(wire::encode(wire::Inventory{false, {3, 2}}), Error);
  EXPECT_THROW(wire::encode(wire::PackChunk{1, 0, true, Bytes(wire::kMaxChunkBytes + 1, 0)}),
               Error);
  // Reasons are sanitized to printable ASCII and bounded.
  auto nf = std::get<wire::NotFound>(
      wire::decode(wire::encode(wire::NotFound{1, std::string(5000, '\xff')})));
  EXPECT_EQ(nf.reason, std::string(wire::kMaxReasonBytes, '?'));
}

TEST(ReplicationMessages, HexOids) {
  auto h = std::string(38, 'a') + "0f";
  EXPECT_EQ(wire::to_hex(wire::from_hex(h)), h);
  EXPECT_THROW(wire::from_hex(std::string(38, 'A') + "0f"), Error);
  EXPECT_THROW(wire::from_hex("abc"), Error);
  EXPECT_THROW(wire::from_hex(std::string(40, 'g')), Error);
}

TEST(SeedPolicy, Parse) {
  EXPECT_TRUE(parse_seed_policy({}).all);
  EXPECT_TRUE(parse_seed_policy({"all"}).all);
  crypto::Seed s;
  s.fill(7);
  auto key = crypto::SigningKey::from_seed(s).public_key();
  auto did = crypto::did_from_key(key);
  auto p = parse_seed_policy({"repo:alice/web", "follow:" + did, "repo:bob/x"});
  EXPECT_FALSE(p.all);
  EXPECT_EQ(p.repos, (std::vector<std::string>{"alice/web", "bob/x"}));
  EXPECT_EQ(p.follow, std::vector<std::string>{did});
  EXPECT_EQ(p.describe(), "repo:alice/web, repo:bob/x, follow:" + did);
  for (std::string bad : {"", "some", "repo:", "repo:alice", "repo:/x", "repo:a/", "repo:a/b/c",
                          "follow:", "follow:did:key:nope", "ALL"})
    EXPECT_THROW(parse_seed_policy({bad}), Error) << bad;
  EXPECT_THROW(parse_seed_policy({"all", "repo:a/b"}), Error);
}

TEST(SeedPolicy, Includes) {
  crypto::Seed s;
  s.fill(7);
  auto carol = crypto::SigningKey::from_seed(s).public_key();
  s.fill(8);
  auto dave = crypto::SigningKey::from_seed(s).public_key();
  SeedPolicy all;
  EXPECT_TRUE(all.includes("x", "y", dave));
  auto p = parse_seed_policy({"repo:alice/web", "follow:" + crypto::did_from_key(carol)});
  EXPECT_TRUE(p.includes("alice", "web", dave));
  EXPECT_FALSE(p.includes("alice", "web2", dave));
  EXPECT_FALSE(p.includes("alic", "eweb", dave));
  EXPECT_TRUE(p.includes("carol", "anything", carol));
  EXPECT_FALSE(p.includes("dave", "anything", dave));
}

}  // namespace
}  // namespace guts::replication
