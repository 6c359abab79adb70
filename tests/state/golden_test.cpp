// Golden vectors of docs/protocol.md: every signed format, byte for byte. A change to any
// encoding breaks these tests and must come with a new protocol version and updated docs.
#include <gtest/gtest.h>

#include "crypto/did.h"
#include "crypto/hash.h"
#include "state/block.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using guts::state::testing::key;

namespace {
Transaction vector_tx(const crypto::SigningKey& signer, const crypto::PublicKey& author,
                      uint64_t nonce, TxBody body) {
  Transaction t;
  t.chain_id = "guts-test";
  t.author = author;
  t.nonce = nonce;
  t.timestamp_ms = 1795000000000;
  t.body = std::move(body);
  t.sign(signer);
  return t;
}

struct Vectors {
  crypto::SigningKey alice = key(1), node = key(2), proposer = key(3);
  Transaction register_user = vector_tx(alice, alice.public_key(), 1, RegisterUser{"alice"});
  Transaction grant = vector_tx(alice, alice.public_key(), 2,
                                GrantDelegation{node.public_key(), kScopeAll, 1826536000000});
  Transaction refs = vector_tx(node, alice.public_key(), 1,
                               UpdateRefs{1, {{"refs/heads/main", {}, Bytes(20, 0x11)}}, false});
};
}  // namespace

TEST(Golden, DidKey) {
  Vectors v;
  EXPECT_EQ(hex_encode(v.alice.public_key()),
            "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c");
  EXPECT_EQ(crypto::did_from_key(v.alice.public_key()),
            "did:key:z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX");
  EXPECT_EQ(crypto::did_from_key(v.node.public_key()),
            "did:key:z6Mko9hTggMwjSTEaJaPUfE6tqcy2xvU6BnNq3e3o8qVBiyH");
}

TEST(Golden, DomainSeparatedMessage) {
  EXPECT_EQ(hex_encode(crypto::domain_message("guts/tx", as_bytes("abc"))),
            "07677574732f7478616263");
}

TEST(Golden, Transactions) {
  Vectors v;
  EXPECT_EQ(
      hex_encode(v.register_user.encode()),
      "0109677574732d74657374018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
      "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0180bcd9f29e340605616c6963"
      "653b20a06c8e9701314cbe8ff9d926e6c12ef09abe77abd39f9d245dbfde1d41c3296a9e88098137fbee67fa32"
      "5bdb3cfe1fc3beeaaec01bf845483d7f899b6a02");
  EXPECT_EQ(hex_encode(v.register_user.id()),
            "c98dcacdcbccd641623be66545643982f0ce90fd0ca27a171ebe8379e14c7574");
  EXPECT_EQ(
      hex_encode(v.grant.encode()),
      "0109677574732d74657374028a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
      "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0280bcd9f29e34278139770ea8"
      "7d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b3940780949eb0943564d50fc34a66f85328160e"
      "4e17031cd6940454fb7ad41111b37ab566a09685003931f86c93aacb378b43c6d647eb36ccfe507b3b65ced4da"
      "1e58d00dbefb670a");
  EXPECT_EQ(hex_encode(v.grant.id()),
            "400a2e76bebed8252374f34bf450eba8e56ee9f15476b970f199c39337acd374");
  EXPECT_EQ(
      hex_encode(v.refs.encode()),
      "0109677574732d74657374078a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
      "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b3940180bcd9f29e342901010f7265"
      "66732f68656164732f6d61696e00141111111111111111111111111111111111111111006cfab395ddda357836"
      "4fa1986ef9c3e75364d7f4d89b4ac6ea166fa7434e8744e385087137549026e983b35de5619a4bce16668559a7"
      "c4e4e4199f78ec04670a");
  EXPECT_EQ(hex_encode(v.refs.id()),
            "374661736b42f2de29b11118a7113524f4257a44a9eb3dfdf13e6195ecd5f381");
  for (auto* t : {&v.register_user, &v.grant, &v.refs}) {
    EXPECT_TRUE(t->verify_signature());
    EXPECT_EQ(decode_transaction(t->encode()).encode(), t->encode());
  }
}

TEST(Golden, BlockHeader) {
  Vectors v;
  Block b;
  b.header.chain_id = "guts-test";
  b.header.height = 1;
  b.header.parent = crypto::sha256(std::string_view("genesis"));
  b.header.view = 1;
  b.header.timestamp_ms = 1795000000500;
  b.header.proposer = v.proposer.public_key();
  b.txs = {v.register_user, v.grant, v.refs};
  b.header.tx_count = 3;
  b.header.tx_root = tx_root_of(b.txs);
  EXPECT_EQ(hex_encode(b.header.tx_root),
            "f709f470d4772f201bd26a6469dd1d55a6a5847856a7ede9c66358fa6895a935");
  EXPECT_EQ(
      hex_encode(b.header.encode()),
      "0109677574732d7465737401aeebad4a796fcc2e15dc4c6061b45ed9b373f26adfc798ca7d2d8cc58182718e01"
      "f4bfd9f29e34ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1f709f470d4772f"
      "201bd26a6469dd1d55a6a5847856a7ede9c66358fa6895a935000000000000000000000000000000000000000000"
      "000000000000000000000003");
  EXPECT_EQ(hex_encode(b.id()), "c880df18ac138f36f07b07afea78c631bdd977d9a638a552a042e224896d800e");
}
