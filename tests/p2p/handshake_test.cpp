#include "p2p/handshake.h"

#include <gtest/gtest.h>

#include "codec/codec.h"
#include "crypto/did.h"
#include "p2p/frame.h"
#include "tests/support/keys.h"

using namespace guts;
using namespace guts::p2p;

namespace {

crypto::SigningKey key_of(uint8_t b) {
  return test_support::fixed_key(b);
}

LocalIdentity ident(uint8_t b, std::string network = "guts-test") {
  return LocalIdentity::create(key_of(b), std::move(network));
}

Bytes frame(const Bytes& m) {
  Bytes out(m.size() + 2);
  out[0] = static_cast<uint8_t>(m.size() >> 8);
  out[1] = static_cast<uint8_t>(m.size());
  std::copy(m.begin(), m.end(), out.begin() + 2);
  return out;
}
ByteView unframe(const Bytes& f) {
  return ByteView(f).subspan(2);
}

struct Done {
  Session a, b;
};

// Runs a full handshake, delivering bytes in chunks of `chunk` bytes.
Done run(SessionHandshake& i, SessionHandshake& r, size_t chunk = 1 << 20) {
  auto deliver = [&](SessionHandshake& to, const Bytes& data) {
    Bytes out;
    for (size_t off = 0; off < data.size(); off += chunk) {
      auto n = std::min(chunk, data.size() - off);
      auto o = to.feed(ByteView(data).subspan(off, n));
      out.insert(out.end(), o.begin(), o.end());
    }
    return out;
  };
  auto m2 = deliver(r, i.start());
  auto m3 = deliver(i, m2);
  EXPECT_TRUE(i.done());
  auto none = deliver(r, m3);
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(r.done());
  return {i.take_session(), r.take_session()};
}

}  // namespace

TEST(IdentityPayload, GoldenEncoding) {
  // Golden vector (docs/p2p.md §2.2): identity seed 0x01*32, noise static private key 0x02*32,
  // network "guts-test".
  auto key = key_of(1);
  noise::Key priv;
  priv.fill(2);
  auto ns = noise::KeyPair::from_private(priv);
  auto signed_bytes = identity_signed_bytes("guts-test", ns.public_key());
  auto p = IdentityPayload::make(key, ns.public_key(), "guts-test");
  auto enc = p.encode();
  // Values cross-checked with Python's `cryptography` package (Ed25519 and X25519).
  EXPECT_EQ(hex_encode(key.public_key()),
            "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c");
  EXPECT_EQ(hex_encode(ns.public_key()),
            "ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59");
  EXPECT_EQ(hex_encode(signed_bytes),
            "09677574732d74657374"
            "ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59");
  EXPECT_EQ(hex_encode(crypto::domain_message(kNoiseStaticDomain, signed_bytes)),
            "15677574732f7032702f6e6f6973652d737461746963"
            "09677574732d74657374"
            "ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59");
  EXPECT_EQ(hex_encode(p.signature),
            "f6f1c4e5e590339c00b5e2bd18837227c22873b1d9b0fc9ee9c356fc21b5aaee"
            "3d68380371940a4b6880d81b79b728967347ffd628c13250bab22c9b80c07e06");
  EXPECT_EQ(hex_encode(enc),
            "01"
            "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
            "f6f1c4e5e590339c00b5e2bd18837227c22873b1d9b0fc9ee9c356fc21b5aaee"
            "3d68380371940a4b6880d81b79b728967347ffd628c13250bab22c9b80c07e06"
            "09677574732d74657374");
  EXPECT_TRUE(IdentityPayload::decode(enc).verify(ns.public_key()));
}

TEST(IdentityPayload, RoundTripAndStrictDecoding) {
  auto key = key_of(1);
  auto ns = noise::KeyPair::generate();
  auto p = IdentityPayload::make(key, ns.public_key(), "net");
  auto enc = p.encode();
  EXPECT_EQ(enc.size(), 1u + 32 + 64 + 1 + 3);
  auto d = IdentityPayload::decode(enc);
  EXPECT_EQ(d.identity, key.public_key());
  EXPECT_EQ(d.signature, p.signature);
  EXPECT_EQ(d.network, "net");
  EXPECT_TRUE(d.verify(ns.public_key()));
  EXPECT_FALSE(d.verify(noise::KeyPair::generate().public_key()));
  d.network = "other";
  EXPECT_FALSE(d.verify(ns.public_key()));

  EXPECT_EQ(d.protocol.min, 1);
  EXPECT_EQ(d.protocol.max, 1);

  auto bad = enc;
  bad[0] = 2;  // version 2 without its min_version byte
  EXPECT_THROW(IdentityPayload::decode(bad), codec::DecodeError);
  bad[0] = 0;  // version 0
  EXPECT_THROW(IdentityPayload::decode(bad), codec::DecodeError);
  bad = enc;
  bad.push_back(0);  // trailing byte
  EXPECT_THROW(IdentityPayload::decode(bad), codec::DecodeError);
  bad = enc;
  bad.pop_back();  // truncated
  EXPECT_THROW(IdentityPayload::decode(bad), codec::DecodeError);
  codec::Writer w;
  w.u8(1).fixed(key.public_key()).fixed(p.signature).str(std::string(65, 'x'));
  EXPECT_THROW(IdentityPayload::decode(w.data()), codec::DecodeError);  // network id too long
}

TEST(SessionHandshake, EstablishesAuthenticatedSession) {
  auto a = ident(1), b = ident(2);
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{1 << 20}}) {
    auto i = SessionHandshake::initiator(a, b.key.public_key());
    std::optional<crypto::PublicKey> seen;
    auto r = SessionHandshake::responder(b, [&](const crypto::PublicKey& pk) {
      seen = pk;
      return Status::Ok();
    });
    auto [si, sr] = run(i, r, chunk);
    EXPECT_EQ(si.remote, b.key.public_key());
    EXPECT_EQ(sr.remote, a.key.public_key());
    EXPECT_EQ(seen, a.key.public_key());
    EXPECT_EQ(si.remote_static, b.noise_static.public_key());
    EXPECT_EQ(si.handshake_hash, sr.handshake_hash);
    EXPECT_TRUE(si.initiator);
    EXPECT_FALSE(sr.initiator);
    auto ct = si.send.encrypt_with_ad({}, as_bytes("ping"));
    EXPECT_EQ(to_string(sr.recv.decrypt_with_ad({}, ct)), "ping");
    ct = sr.send.encrypt_with_ad({}, as_bytes("pong"));
    EXPECT_EQ(to_string(si.recv.decrypt_with_ad({}, ct)), "pong");
  }
}

TEST(SessionHandshake, LeftoverBytesAfterTheLastMessage) {
  auto a = ident(1), b = ident(2);
  auto i = SessionHandshake::initiator(a);
  auto r = SessionHandshake::responder(b);
  auto m3 = i.feed(r.feed(i.start()));
  auto si = i.take_session();
  FrameEncoder enc(std::move(si.send));
  Bytes wire = m3;
  enc.message(7, as_bytes("early"), wire);
  EXPECT_TRUE(r.feed(wire).empty());
  ASSERT_TRUE(r.done());
  auto sr = r.take_session();
  FrameLimits lim;
  lim.max_message_size[7] = 100;
  FrameDecoder dec(std::move(sr.recv), lim);
  dec.feed(r.take_leftover());
  auto ev = dec.next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(to_string(ev->payload), "early");
  EXPECT_THROW(r.take_session(), HandshakeError);  // only once
}

TEST(SessionHandshake, DialerAbortsOnUnexpectedIdentityBeforeRevealingItself) {
  auto a = ident(1), b = ident(2), c = ident(3);
  auto i = SessionHandshake::initiator(a, c.key.public_key());  // expects c, reaches b
  auto r = SessionHandshake::responder(b);
  auto m2 = r.feed(i.start());
  try {
    i.feed(m2);
    FAIL() << "expected a HandshakeError";
  } catch (const HandshakeError& e) {
    EXPECT_EQ(e.code(), Code::kUnauthenticated);
    EXPECT_NE(std::string(e.what()).find(crypto::did_from_key(b.key.public_key())),
              std::string::npos);
  }
  EXPECT_FALSE(i.done());
  EXPECT_THROW(i.feed({}), HandshakeError);  // dead
}

TEST(SessionHandshake, NetworkMismatchIsRefused) {
  auto a = ident(1, "mainnet"), b = ident(2, "testnet");
  auto i = SessionHandshake::initiator(a);
  auto r = SessionHandshake::responder(b);
  try {
    i.feed(r.feed(i.start()));
    FAIL();
  } catch (const HandshakeError& e) {
    EXPECT_EQ(e.code(), Code::kPermissionDenied);
    EXPECT_NE(std::string(e.what()).find("network mismatch"), std::string::npos);
  }
}

TEST(SessionHandshake, ResponderPolicyAndSelfConnection) {
  auto a = ident(1), b = ident(2);
  auto i = SessionHandshake::initiator(a);
  auto r = SessionHandshake::responder(
      b, [](const crypto::PublicKey&) { return Status(Code::kPermissionDenied, "blocked"); });
  auto m3 = i.feed(r.feed(i.start()));
  try {
    r.feed(m3);
    FAIL();
  } catch (const HandshakeError& e) {
    EXPECT_EQ(e.code(), Code::kPermissionDenied);
  }
  EXPECT_FALSE(r.done());

  auto a2 = ident(1);  // same identity, different noise key
  auto i2 = SessionHandshake::initiator(a);
  auto r2 = SessionHandshake::responder(a2);
  try {
    i2.feed(r2.feed(i2.start()));
    FAIL();
  } catch (const HandshakeError& e) {
    EXPECT_EQ(e.code(), Code::kConflict);
  }
}

namespace {
// A responder that runs Noise XX honestly but sends `payload` as its identity.
Bytes evil_responder_reply(const Bytes& m1_framed, const noise::KeyPair& static_key,
                           const Bytes& payload) {
  noise::HandshakeConfig c;
  c.protocol_name = std::string(kNoiseProtocol);
  c.initiator = false;
  c.prologue = to_bytes(kHandshakePrologue);
  c.s = static_key;
  noise::HandshakeState hs(c);
  hs.read_message(unframe(m1_framed));
  return frame(hs.write_message(payload));
}
}  // namespace

TEST(SessionHandshake, ImpersonationWithoutTheSigningKeyIsRefused) {
  auto victim = ident(2);
  auto attacker = ident(3);
  auto dialer = ident(1);
  // 1. The attacker replays the victim's genuine identity payload (which binds the victim's
  //    noise key) over its own noise key.
  {
    auto i = SessionHandshake::initiator(dialer, victim.key.public_key());
    auto reply = evil_responder_reply(i.start(), attacker.noise_static, victim.payload);
    try {
      i.feed(reply);
      FAIL();
    } catch (const HandshakeError& e) {
      EXPECT_EQ(e.code(), Code::kUnauthenticated);
      EXPECT_NE(std::string(e.what()).find("does not bind"), std::string::npos);
    }
  }
  // 2. The attacker claims the victim's did and signs with its own key.
  {
    auto i = SessionHandshake::initiator(dialer);
    auto forged =
        IdentityPayload::make(attacker.key, attacker.noise_static.public_key(), "guts-test");
    forged.identity = victim.key.public_key();
    auto reply = evil_responder_reply(i.start(), attacker.noise_static, forged.encode());
    EXPECT_THROW(i.feed(reply), HandshakeError);
  }
  // 3. The attacker uses the victim's noise public key in its payload but does not hold the
  //    matching private key: it cannot complete Noise (es with its real static key), so the
  //    signature check fails against the key Noise authenticated.
  {
    auto i = SessionHandshake::initiator(dialer);
    auto reply = evil_responder_reply(i.start(), attacker.noise_static,
                                      IdentityPayload::decode(victim.payload).encode());
    EXPECT_THROW(i.feed(reply), HandshakeError);
  }
  // 4. Same attacks against a responder: the initiator's third message.
  {
    auto i = SessionHandshake::initiator(attacker);
    auto r = SessionHandshake::responder(victim);
    auto m2 = r.feed(i.start());
    // Build the third message by hand with a replayed payload of `dialer`.
    noise::HandshakeConfig c;
    c.protocol_name = std::string(kNoiseProtocol);
    c.prologue = to_bytes(kHandshakePrologue);
    c.s = attacker.noise_static;
    noise::HandshakeState hs(c);
    auto r2 = SessionHandshake::responder(victim);
    auto m2b = r2.feed(frame(hs.write_message({})));
    hs.read_message(unframe(m2b));
    auto m3 = frame(hs.write_message(dialer.payload));
    try {
      r2.feed(m3);
      FAIL();
    } catch (const HandshakeError& e) {
      EXPECT_EQ(e.code(), Code::kUnauthenticated);
    }
    (void)m2;
  }
}

TEST(SessionHandshake, MalformedInputIsRejected) {
  auto a = ident(1), b = ident(2);
  {
    // Oversized length prefix before authentication.
    auto r = SessionHandshake::responder(b);
    Bytes big{0x04, 0x01};
    try {
      r.feed(big);
      FAIL();
    } catch (const HandshakeError& e) {
      EXPECT_EQ(e.code(), Code::kInvalidArgument);
    }
  }
  {
    // Message 1 with a payload (must be empty).
    auto r = SessionHandshake::responder(b);
    Bytes m1(32, 9);
    m1.push_back('x');
    EXPECT_THROW(r.feed(frame(m1)), HandshakeError);
  }
  {
    // Corrupted message 2 and message 3 bytes.
    for (size_t pos : {size_t{2}, size_t{40}, size_t{100}}) {
      auto i = SessionHandshake::initiator(a);
      auto r = SessionHandshake::responder(b);
      auto m2 = r.feed(i.start());
      ASSERT_LT(pos, m2.size());
      m2[pos] ^= 0x80;
      EXPECT_THROW(i.feed(m2), HandshakeError) << pos;
    }
    auto i = SessionHandshake::initiator(a);
    auto r = SessionHandshake::responder(b);
    auto m3 = i.feed(r.feed(i.start()));
    m3.back() ^= 1;
    EXPECT_THROW(r.feed(m3), HandshakeError);
  }
  {
    // A garbage identity payload inside a valid Noise message.
    auto i = SessionHandshake::initiator(a);
    auto reply = evil_responder_reply(i.start(), b.noise_static, to_bytes("garbage"));
    try {
      i.feed(reply);
      FAIL();
    } catch (const HandshakeError& e) {
      EXPECT_EQ(e.code(), Code::kInvalidArgument);
    }
  }
  {
    // Replaying an old message 2 from another session to a new dialer fails.
    auto i1 = SessionHandshake::initiator(a);
    auto r1 = SessionHandshake::responder(b);
    auto old_m2 = r1.feed(i1.start());
    auto i2 = SessionHandshake::initiator(a);
    i2.start();
    EXPECT_THROW(i2.feed(old_m2), HandshakeError);
  }
  {
    // Misuse.
    auto i = SessionHandshake::initiator(a);
    EXPECT_THROW(i.feed({}), HandshakeError);
    i.start();
    EXPECT_THROW(i.start(), HandshakeError);
    EXPECT_THROW(i.take_session(), HandshakeError);
  }
}

// Protocol version ranges (docs/protocol.md "Versioning"): a range 1..1 is the first release's
// payload byte for byte; a later range appends its minimum, and fields after it are ignored.
TEST(IdentityPayload, ProtocolRangeEncoding) {
  auto key = key_of(1);
  auto ns = noise::KeyPair::generate();
  auto v1 = IdentityPayload::make(key, ns.public_key(), "net", {1, 1}).encode();
  EXPECT_EQ(v1, IdentityPayload::make(key, ns.public_key(), "net").encode());
  EXPECT_EQ(v1[0], 1);
  EXPECT_EQ(v1.size(), 1u + 32 + 64 + 1 + 3);

  auto v3 = IdentityPayload::make(key, ns.public_key(), "net", {2, 3}).encode();
  ASSERT_EQ(v3.size(), v1.size() + 1);
  EXPECT_EQ(v3[0], 3);
  EXPECT_EQ(v3.back(), 2);
  auto d = IdentityPayload::decode(v3);
  EXPECT_EQ(d.protocol.min, 2);
  EXPECT_EQ(d.protocol.max, 3);
  EXPECT_EQ(d.network, "net");
  EXPECT_TRUE(d.verify(ns.public_key()));  // the range is outside the signed bytes

  auto extended = v3;  // a later version's extra fields
  extended.insert(extended.end(), {0xde, 0xad, 0xbe, 0xef});
  EXPECT_EQ(IdentityPayload::decode(extended).protocol.min, 2);
  auto bad = v3;
  bad.back() = 0;  // min 0
  EXPECT_THROW(IdentityPayload::decode(bad), codec::DecodeError);
  bad.back() = 4;  // min above max
  EXPECT_THROW(IdentityPayload::decode(bad), codec::DecodeError);
  bad = v3;
  bad.resize(IdentityPayload::kMaxSize + 1, 0);
  EXPECT_THROW(IdentityPayload::decode(bad), codec::DecodeError);
  EXPECT_THROW(IdentityPayload::make(key, ns.public_key(), "net", {3, 2}), Error);
  EXPECT_THROW(IdentityPayload::make(key, ns.public_key(), "net", {0, 2}), Error);
}

TEST(SessionHandshake, OverlappingRangesAgreeOnTheHighestCommonVersion) {
  struct Case {
    ProtocolRange a, b;
    uint8_t agreed;
  };
  for (auto c : {Case{{1, 1}, {1, 1}, 1}, Case{{1, 1}, {1, 2}, 1}, Case{{1, 3}, {2, 5}, 3},
                 Case{{2, 4}, {1, 2}, 2}}) {
    SCOPED_TRACE(c.a.to_string() + " with " + c.b.to_string());
    auto a = LocalIdentity::create(key_of(1), "guts-test", c.a);
    auto b = LocalIdentity::create(key_of(2), "guts-test", c.b);
    for (bool a_dials : {true, false}) {
      auto i = SessionHandshake::initiator(a_dials ? a : b);
      auto r = SessionHandshake::responder(a_dials ? b : a);
      auto done = run(i, r);
      EXPECT_EQ(done.a.protocol_version, c.agreed);
      EXPECT_EQ(done.b.protocol_version, c.agreed);
    }
  }
}

// A peer speaking only versions this node does not is refused on both sides with the same
// reason: the dialer still sends its last message (its range), then refuses.
TEST(SessionHandshake, DisjointRangesAreRefusedOnBothSidesWithTheReason) {
  auto old_node = LocalIdentity::create(key_of(1), "guts-test", {1, 1});
  auto new_node = LocalIdentity::create(key_of(2), "guts-test", {2, 3});
  const std::string old_did = crypto::did_from_key(key_of(1).public_key());
  const std::string new_did = crypto::did_from_key(key_of(2).public_key());
  const std::string at_old = "incompatible p2p protocol versions: " + new_did +
                             " speaks 2..3, this node 1..1: the peer runs a newer guts-node; "
                             "upgrade this node";
  const std::string at_new = "incompatible p2p protocol versions: " + old_did +
                             " speaks 1..1, this node 2..3: the peer runs an older guts-node; "
                             "upgrade it";
  for (bool old_dials : {true, false}) {
    SCOPED_TRACE(old_dials ? "the old node dials" : "the new node dials");
    auto i = SessionHandshake::initiator(old_dials ? old_node : new_node);
    auto r = SessionHandshake::responder(old_dials ? new_node : old_node);
    auto m2 = r.feed(i.start());
    auto m3 = i.feed(m2);
    ASSERT_FALSE(m3.empty()) << "the dialer must still send its range";
    EXPECT_TRUE(i.done());
    try {
      i.take_session();
      ADD_FAILURE() << "the dialer accepted a disjoint range";
    } catch (const VersionMismatch& e) {
      EXPECT_EQ(e.code(), Code::kFailedPrecondition);
      EXPECT_EQ(std::string(e.what()), "handshake: " + (old_dials ? at_old : at_new));
    }
    try {
      r.feed(m3);
      ADD_FAILURE() << "the listener accepted a disjoint range";
    } catch (const VersionMismatch& e) {
      EXPECT_EQ(e.code(), Code::kFailedPrecondition);
      EXPECT_EQ(std::string(e.what()), "handshake: " + (old_dials ? at_new : at_old));
    }
    EXPECT_FALSE(r.done());
  }
}
