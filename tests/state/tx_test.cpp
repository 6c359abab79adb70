#include <gtest/gtest.h>

#include "codec/codec.h"
#include "crypto/did.h"
#include "crypto/hash.h"
#include "git/ref_name.h"
#include "state/block.h"
#include "state/rules.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

TEST(Tx, RoundTripEveryKind) {
  auto k = key(1);
  std::vector<TxBody> bodies = {
      RegisterUser{"alice"},
      GrantDelegation{key(2).public_key(), kScopeAll, kT0 + 1000},
      RevokeDelegation{key(2).public_key()},
      CreateRepo{"hello", "a repo", true, "main"},
      UpdateRepo{7, std::string("renamed"), std::nullopt, false, std::nullopt, true},
      DeleteRepo{7},
      UpdateRefs{
          7, {{"refs/heads/main", {}, Bytes(20, 0xab)}, {"refs/tags/v1", Bytes(20, 1), {}}}, true},
  };
  for (const auto& body : bodies) {
    auto tx = own_tx(k, 1, body);
    auto enc = tx.encode();
    auto back = decode_transaction(enc);
    EXPECT_EQ(back.encode(), enc);
    EXPECT_EQ(back.id(), tx.id());
    EXPECT_TRUE(back.verify_signature());
    EXPECT_EQ(back.kind(), tx.kind());
  }
}

// A decoded transaction keeps the id of its bytes (Transaction::id): the same as hashing its
// encoding, and hashed again once it is signed again after a change.
TEST(Tx, DecodedIdIsTheEncodingsHashUntilSignedAgain) {
  auto k = key(1);
  auto tx = own_tx(k, 1, CreateRepo{"hello", "a repo", true, "main"});
  EXPECT_FALSE(tx.decoded_id.set);
  auto back = decode_transaction(tx.encode());
  ASSERT_TRUE(back.decoded_id.set);
  EXPECT_EQ(back.id(), crypto::sha256(tx.encode()));
  EXPECT_EQ(back.id(), tx.id());
  auto copy = back;  // a copy keeps it
  EXPECT_EQ(copy.id(), tx.id());
  copy.nonce = 2;
  copy.sign(k);
  EXPECT_NE(copy.id(), tx.id());
  EXPECT_EQ(copy.id(), crypto::sha256(copy.encode()));
  EXPECT_EQ(decode_transaction(copy.encode()).id(), copy.id());
}

TEST(Tx, RejectsTamperingTrailingAndTruncation) {
  auto tx = own_tx(key(1), 1, RegisterUser{"alice"});
  auto enc = tx.encode();
  auto trailing = enc;
  trailing.push_back(0);
  EXPECT_THROW(decode_transaction(trailing), codec::DecodeError);
  for (size_t cut : {size_t{0}, size_t{1}, enc.size() / 2, enc.size() - 1})
    EXPECT_THROW(decode_transaction(ByteView(enc).first(cut)), codec::DecodeError);
  auto flipped = enc;
  flipped[flipped.size() - 70] ^= 1;  // inside the body/nonce area
  try {
    EXPECT_FALSE(decode_transaction(flipped).verify_signature());
  } catch (const codec::DecodeError&) {
  }
  auto badkind = own_tx(key(1), 1, RegisterUser{"alice"});
  auto e2 = badkind.encode();
  e2[1 + 1 + badkind.chain_id.size()] = 99;  // kind byte
  EXPECT_THROW(decode_transaction(e2), codec::DecodeError);
}

TEST(Block, RoundTripAndRootChecks) {
  Block b;
  b.header.chain_id = "test-chain";
  b.header.height = 1;
  b.header.timestamp_ms = kT0;
  b.txs.push_back(own_tx(key(1), 1, RegisterUser{"alice"}));
  b.txs.push_back(own_tx(key(2), 1, RegisterUser{"bob"}));
  b.header.tx_count = 2;
  b.header.tx_root = tx_root_of(b.txs);
  auto enc = b.encode();
  auto back = decode_block(enc);
  EXPECT_EQ(back.id(), b.id());
  EXPECT_EQ(back.encode(), enc);
  b.header.tx_root[0] ^= 1;
  EXPECT_THROW(decode_block(b.encode()), codec::DecodeError);
}

TEST(Merkle, ShapeIsStable) {
  Digest a{}, b{}, c{};
  a[0] = 1;
  b[0] = 2;
  c[0] = 3;
  EXPECT_NE(merkle_root({a, b}), merkle_root({b, a}));
  EXPECT_NE(merkle_root({a, b, c}), merkle_root({a, b}));
  EXPECT_EQ(merkle_root({a, b, c}), merkle_root({a, b, c}));
  EXPECT_NE(merkle_root({a}), a);  // leaves are hashed with a prefix
}

TEST(Rules, Usernames) {
  EXPECT_FALSE(username_error("alice"));
  EXPECT_FALSE(username_error("a-b-c1"));
  EXPECT_FALSE(username_error(std::string(39, 'a')));
  EXPECT_TRUE(username_error(std::string(40, 'a')));
  EXPECT_TRUE(username_error(""));
  EXPECT_TRUE(username_error("-alice"));
  EXPECT_TRUE(username_error("alice-"));
  EXPECT_TRUE(username_error("al--ice"));
  EXPECT_TRUE(username_error("al_ice"));
  EXPECT_TRUE(username_error("élise"));
  EXPECT_TRUE(username_error("API"));
}

TEST(Rules, RepoAndRefNames) {
  EXPECT_FALSE(repo_name_error("hello-world.js_2"));
  EXPECT_TRUE(repo_name_error(".."));
  EXPECT_TRUE(repo_name_error("x.git"));
  EXPECT_TRUE(repo_name_error("a b"));
  EXPECT_TRUE(repo_name_error(std::string(101, 'a')));
  EXPECT_FALSE(ref_name_error("refs/heads/feature/x"));
  EXPECT_FALSE(ref_name_error("refs/tags/v1.0"));
  for (const char* bad : {"heads/main", "refs/heads/a..b", "refs/heads/x.lock", "refs/heads/.x",
                          "refs/heads/a b", "refs/heads/a~1", "refs/heads/", "refs/heads//x",
                          "refs/heads/x@{1}", "refs/heads/a\x01", "refs/heads"})
    EXPECT_TRUE(ref_name_error(bad)) << bad;
  EXPECT_FALSE(branch_name_error("main"));
  EXPECT_TRUE(branch_name_error("-x"));
}

// The state machine's ref rule is git's (git/ref_name.h) plus: under refs/, and not refs/heads
// or refs/tags alone.
TEST(Rules, RefNamesAreGitsRulesUnderRefs) {
  for (const std::string& n :
       {std::string("refs/heads/main"), std::string("refs/x"), std::string("refs/"),
        std::string("refs"), std::string("refs/tags"), std::string("refs/heads/a.lock/b"),
        std::string("refs/heads/-x"), std::string("refs/heads/@"), std::string("refs/heads/a@b"),
        std::string("refs/heads/a\x7f"), std::string("refs/heads/x."), std::string("refs/notes/x"),
        "refs/heads/" + std::string(1013, 'a'), "refs/heads/" + std::string(1014, 'a')}) {
    bool extra = n.rfind("refs/", 0) != 0 || n == "refs/heads" || n == "refs/tags";
    EXPECT_EQ(ref_name_error(n).has_value(), extra || !git::is_valid_ref_name(n)) << n;
  }
  EXPECT_FALSE(ref_name_error("refs/heads/" + std::string(1013, 'a')));  // 1,024 bytes
  EXPECT_TRUE(ref_name_error("refs/heads/" + std::string(1014, 'a')));
}
