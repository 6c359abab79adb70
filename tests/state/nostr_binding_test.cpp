// Nostr key bindings (state/nostr_binding.h): kind 75's codec and statement, and every validity
// rule on a real chain: both signatures, one key per identity and one identity per key, rebinding,
// unbinding, no delegation.
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "crypto/did.h"
#include "state/chain.h"
#include "state/nostr_binding_state.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

Genesis genesis_with_users() {
  Genesis g = test_genesis();
  g.accounts = {{key(1).public_key(), "alice", {}}, {key(2).public_key(), "bob", {}}};
  return g;
}

crypto::SchnorrKey nostr_key(uint8_t b) {
  std::array<uint8_t, 32> secret{};
  secret.fill(b);
  return crypto::SchnorrKey::from_secret(secret);
}

struct ChainEnv {
  TempDb tmp{"nostr-binding"};
  Chain chain{*tmp.db, genesis_with_users()};
  uint64_t nonce(const crypto::PublicKey& author, const crypto::PublicKey& signer) {
    return chain.view().nonce(author, signer) + 1;
  }
  Status apply(const Transaction& tx) {
    auto r = chain.build(chain.head().id, {{tx, false}}, chain.head().height + 1, tx.timestamp_ms,
                         key(200).public_key());
    chain.commit(r.block);
    return r.rejected.empty() ? Status::Ok() : r.rejected.front().second;
  }
  Status apply(const crypto::SigningKey& k, TxBody body) {
    const uint64_t ts = chain.head().timestamp_ms + 1;
    return apply(own_tx(k, nonce(k.public_key(), k.public_key()), std::move(body), ts));
  }
  StateView view() const { return chain.view(); }
};

}  // namespace

TEST(NostrBinding, CodecAndStatement) {
  auto nk = nostr_key(7);
  auto b = make_nostr_binding("test-chain", key(1).public_key(), nk);
  expect_roundtrip(b);
  auto back = std::get<BindNostrKey>(decode_body(TxKind::kBindNostrKey, encode_body(b)));
  EXPECT_EQ(back.pubkey, nk.public_key());
  EXPECT_EQ(back.sig, b.sig);
  EXPECT_FALSE(back.unbind);
  EXPECT_STREQ(tx_kind_name(TxKind::kBindNostrKey), "bind_nostr_key");
  // A flag byte other than 0/1, and trailing bytes, are refused.
  Bytes enc = encode_body(b);
  enc[0] = 2;
  EXPECT_THROW(decode_body(TxKind::kBindNostrKey, enc), codec::DecodeError);
  enc = encode_body(b);
  enc.push_back(0);
  EXPECT_THROW(decode_body(TxKind::kBindNostrKey, enc), codec::DecodeError);
  // The statement names the network, the identity and the key; the signature covers its digest.
  auto text = nostr_binding_statement("test-chain", key(1).public_key(), nk.public_key());
  EXPECT_NE(text.find("chain: test-chain\n"), std::string::npos);
  EXPECT_NE(text.find(crypto::did_from_key(key(1).public_key())), std::string::npos);
  EXPECT_NE(text.find(hex_encode(nk.public_key())), std::string::npos);
  EXPECT_TRUE(crypto::schnorr_verify(
      nk.public_key(), nostr_binding_digest("test-chain", key(1).public_key(), nk.public_key()),
      b.sig));
  EXPECT_FALSE(crypto::schnorr_verify(
      nk.public_key(), nostr_binding_digest("other-chain", key(1).public_key(), nk.public_key()),
      b.sig));
}

TEST(NostrBinding, BindsWithBothSignaturesAndRefusesEverythingElseWithoutEffect) {
  ChainEnv env;
  const auto alice = key(1).public_key();
  auto nk = nostr_key(7);
  // The Nostr signature must be over this identity and this network.
  auto for_bob = make_nostr_binding("test-chain", key(2).public_key(), nk);
  EXPECT_EQ(env.apply(key(1), for_bob).code(), Code::kInvalidArgument);
  auto other_net = make_nostr_binding("other-chain", alice, nk);
  EXPECT_EQ(env.apply(key(1), other_net).code(), Code::kInvalidArgument);
  // Another key's signature, and a pubkey that is not on the curve.
  auto wrong_signer = make_nostr_binding("test-chain", alice, nostr_key(8));
  wrong_signer.pubkey = nk.public_key();
  EXPECT_EQ(env.apply(key(1), wrong_signer).code(), Code::kInvalidArgument);
  BindNostrKey off_curve = make_nostr_binding("test-chain", alice, nk);
  off_curve.pubkey.fill(0xff);
  EXPECT_EQ(env.apply(key(1), off_curve).code(), Code::kInvalidArgument);
  // An unregistered author.
  EXPECT_EQ(env.apply(key(9), make_nostr_binding("test-chain", key(9).public_key(), nk)).code(),
            Code::kPermissionDenied);
  // A node holding a delegation cannot bind a key for the user: the author's own key only.
  ASSERT_TRUE(env.apply(key(1), GrantDelegation{key(200).public_key(), kScopeAll, kT0 * 2}).ok());
  auto delegated =
      make_tx(key(200), alice, env.nonce(alice, key(200).public_key()),
              make_nostr_binding("test-chain", alice, nk), env.chain.head().timestamp_ms + 1);
  EXPECT_FALSE(env.apply(delegated).ok());
  EXPECT_FALSE(nostr_binding_of(env.view(), alice));
  EXPECT_FALSE(nostr_key_owner(env.view(), nk.public_key()));

  // Bound: both directions are readable.
  ASSERT_TRUE(env.apply(key(1), make_nostr_binding("test-chain", alice, nk)).ok());
  auto bound = nostr_binding_of(env.view(), alice);
  ASSERT_TRUE(bound);
  EXPECT_EQ(bound->pubkey, nk.public_key());
  EXPECT_GT(bound->bound_at_ms, 0u);
  EXPECT_EQ(nostr_key_owner(env.view(), nk.public_key()), alice);
  // One identity per key: bob cannot take alice's key, alice cannot bind it twice.
  EXPECT_EQ(env.apply(key(2), make_nostr_binding("test-chain", key(2).public_key(), nk)).code(),
            Code::kAlreadyExists);
  EXPECT_EQ(env.apply(key(1), make_nostr_binding("test-chain", alice, nk)).code(),
            Code::kAlreadyExists);
  // Rebinding replaces the key and frees the old one.
  auto nk2 = nostr_key(8);
  ASSERT_TRUE(env.apply(key(1), make_nostr_binding("test-chain", alice, nk2)).ok());
  EXPECT_EQ(nostr_binding_of(env.view(), alice)->pubkey, nk2.public_key());
  EXPECT_FALSE(nostr_key_owner(env.view(), nk.public_key()));
  ASSERT_TRUE(env.apply(key(2), make_nostr_binding("test-chain", key(2).public_key(), nk)).ok());
  EXPECT_EQ(nostr_key_owner(env.view(), nk.public_key()), key(2).public_key());
  // Unbinding: only with empty fields, only when bound.
  BindNostrKey unbind;
  unbind.unbind = true;
  BindNostrKey unbind_with_key = unbind;
  unbind_with_key.pubkey = nk2.public_key();
  EXPECT_EQ(env.apply(key(1), unbind_with_key).code(), Code::kInvalidArgument);
  ASSERT_TRUE(env.apply(key(1), unbind).ok());
  EXPECT_FALSE(nostr_binding_of(env.view(), alice));
  EXPECT_FALSE(nostr_key_owner(env.view(), nk2.public_key()));
  EXPECT_EQ(env.apply(key(1), unbind).code(), Code::kNotFound);
}
