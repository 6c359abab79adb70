// Replication messages (canonical, bounded) and the seeding policy parser.
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "crypto/did.h"
#include "node/object_sync_messages.h"
#include "node/seed_policy.h"

namespace guts::node {
namespace {

repl::Oid oid(uint8_t b) {
  repl::Oid o;
  o.fill(b);
  return o;
}

TEST(ReplicationMessages, RoundTripCanonically) {
  std::vector<repl::Message> all = {
      repl::Want{7, 42, {oid(1), oid(2)}, {oid(3)}},   repl::Want{1, 1, {oid(9)}, {}},
      repl::PackChunk{7, 0, false, Bytes(1000, 0xab)}, repl::PackChunk{7, 3, true, {}},
      repl::NotFound{7, "repository not hosted here"}, repl::Inventory{true, {}},
      repl::Inventory{false, {1, 5, 300, 1ull << 40}},
  };
  for (const auto& m : all) {
    auto b = repl::encode(m);
    EXPECT_EQ(repl::decode(b), m);
    EXPECT_EQ(repl::encode(repl::decode(b)), b);
    // Every strict prefix is rejected, and so is a trailing byte.
    for (size_t n = 0; n < b.size(); ++n)
      EXPECT_THROW(repl::decode(ByteView(b).first(n)), codec::DecodeError);
    auto longer = b;
    longer.push_back(0);
    EXPECT_THROW(repl::decode(longer), codec::DecodeError);
  }
}

TEST(ReplicationMessages, RejectsWhatWouldNotBeCanonicalOrBounded) {
  // Unknown type.
  EXPECT_THROW(repl::decode(Bytes{0x00}), codec::DecodeError);
  EXPECT_THROW(repl::decode(Bytes{0x05, 0x00}), codec::DecodeError);
  // Want without wants.
  EXPECT_THROW(repl::decode(Bytes{repl::kWant, 1, 1, 0, 0}), codec::DecodeError);
  // A huge want count with no data behind it.
  EXPECT_THROW(repl::decode(Bytes{repl::kWant, 1, 1, 0xff, 0xff, 0x03}), codec::DecodeError);
  // Inventory: unsorted, duplicate, hosts_all with a list.
  EXPECT_THROW(repl::decode(Bytes{repl::kInventory, 0, 2, 5, 3}), codec::DecodeError);
  EXPECT_THROW(repl::decode(Bytes{repl::kInventory, 0, 2, 5, 5}), codec::DecodeError);
  EXPECT_THROW(repl::decode(Bytes{repl::kInventory, 1, 1, 5}), codec::DecodeError);
  // Bad boolean.
  EXPECT_THROW(repl::decode(Bytes{repl::kPackChunk, 1, 0, 2, 0}), codec::DecodeError);
  // Chunk over 1 MiB.
  codec::Writer w;
  w.u8(repl::kPackChunk)
      .varint(1)
      .varint(0)
      .boolean(true)
      .bytes(Bytes(repl::kMaxChunkBytes + 1, 0));
  EXPECT_THROW(repl::decode(w.data()), codec::DecodeError);
  // The encoder refuses what the decoder would.
  EXPECT_THROW(repl::encode(repl::Want{1, 1, {}, {}}), Error);
  EXPECT_THROW(repl::encode(repl::Inventory{false, {3, 2}}), Error);
  EXPECT_THROW(repl::encode(repl::PackChunk{1, 0, true, Bytes(repl::kMaxChunkBytes + 1, 0)}),
               Error);
  // Reasons are sanitized to printable ASCII and bounded.
  auto nf = std::get<repl::NotFound>(
      repl::decode(repl::encode(repl::NotFound{1, std::string(5000, '\xff')})));
  EXPECT_EQ(nf.reason, std::string(repl::kMaxReasonBytes, '?'));
}

TEST(ReplicationMessages, HexOids) {
  auto h = std::string(38, 'a') + "0f";
  EXPECT_EQ(repl::to_hex(repl::from_hex(h)), h);
  EXPECT_THROW(repl::from_hex(std::string(38, 'A') + "0f"), Error);
  EXPECT_THROW(repl::from_hex("abc"), Error);
  EXPECT_THROW(repl::from_hex(std::string(40, 'g')), Error);
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
}  // namespace guts::node
