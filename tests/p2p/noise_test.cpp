#include "p2p/noise.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace guts;
using namespace guts::p2p::noise;

namespace {

// The vectors are in the repository (tests/data/noise, copied from cacophony).
nlohmann::json load_vectors() {
  std::ifstream in(std::string(GUTS_TEST_DATA_DIR) +
                   "/noise/cacophony-25519-chachapoly-blake2b.json");
  if (!in) return nullptr;
  return nlohmann::json::parse(in);
}

Bytes hx(const nlohmann::json& j) {
  return *hex_decode(j.get<std::string>());
}
Key key32(const nlohmann::json& j) {
  return *hex_decode_fixed<32>(j.get<std::string>());
}

HandshakeConfig config_for(const nlohmann::json& v, bool initiator) {
  const char* p = initiator ? "init_" : "resp_";
  auto f = [&](const char* name) { return std::string(p) + name; };
  HandshakeConfig c;
  c.protocol_name = v["protocol_name"];
  c.initiator = initiator;
  c.prologue = hx(v[f("prologue")]);
  if (v.contains(f("static"))) c.s = KeyPair::from_private(key32(v[f("static")]));
  if (v.contains(f("ephemeral"))) c.e = KeyPair::from_private(key32(v[f("ephemeral")]));
  if (v.contains(f("remote_static"))) c.rs = key32(v[f("remote_static")]);
  if (v.contains(f("psks"))) {
    for (const auto& k : v[f("psks")]) c.psks.push_back(key32(k));
  }
  return c;
}

// Runs one cacophony vector; returns an empty string on success or what went wrong.
std::string run_vector(const nlohmann::json& v) {
  HandshakeState init(config_for(v, true));
  HandshakeState resp(config_for(v, false));
  const auto& msgs = v["messages"];
  size_t i = 0;
  for (; i < msgs.size() && !init.finished(); ++i) {
    auto payload = hx(msgs[i]["payload"]);
    auto expected = hx(msgs[i]["ciphertext"]);
    bool from_init = init.my_turn();
    if (from_init == resp.my_turn()) return "turn mismatch at message " + std::to_string(i);
    auto& w = from_init ? init : resp;
    auto& r = from_init ? resp : init;
    auto ct = w.write_message(payload);
    if (ct != expected) return "handshake ciphertext mismatch at message " + std::to_string(i);
    if (r.read_message(ct) != payload) return "payload mismatch at message " + std::to_string(i);
  }
  if (!init.finished() || !resp.finished()) return "handshake did not finish";
  if (init.handshake_hash() != resp.handshake_hash()) return "handshake hashes differ";
  if (v.contains("handshake_hash") &&
      Bytes(init.handshake_hash().begin(), init.handshake_hash().end()) !=
          hx(v["handshake_hash"])) {
    return "handshake hash mismatch";
  }
  auto [i1, i2] = init.split();
  auto [r1, r2] = resp.split();
  bool one_way = init.pattern().one_way;
  for (; i < msgs.size(); ++i) {
    auto payload = hx(msgs[i]["payload"]);
    auto expected = hx(msgs[i]["ciphertext"]);
    bool from_init = one_way || i % 2 == 0;
    auto& enc = from_init ? i1 : r2;
    auto& dec = from_init ? r1 : i2;
    auto ct = enc.encrypt_with_ad({}, payload);
    if (ct != expected) return "transport ciphertext mismatch at message " + std::to_string(i);
    if (dec.decrypt_with_ad({}, ct) != payload) return "transport payload mismatch";
  }
  return "";
}

}  // namespace

TEST(NoiseVectors, AllCacophonyVectorsPass) {
  auto doc = load_vectors();
  ASSERT_FALSE(doc.is_null()) << "missing " GUTS_TEST_DATA_DIR "/noise";
  size_t passed = 0;
  size_t required = 0;
  for (const auto& v : doc["vectors"]) {
    std::string name = v["protocol_name"];
    SCOPED_TRACE(name);
    std::string err;
    try {
      err = run_vector(v);
    } catch (const std::exception& e) {
      err = e.what();
    }
    EXPECT_EQ(err, "") << name;
    if (err.empty()) ++passed;
    for (const char* p : {"_XX_", "_NN_", "_NK_", "_XK_", "_IK_", "_KK_"}) {
      if (name.find(p) != std::string::npos) ++required;
    }
  }
  EXPECT_EQ(required, 6u);
  EXPECT_EQ(passed, doc["vectors"].size());
  std::printf("noise vectors passed: %zu/%zu\n", passed, doc["vectors"].size());
}

TEST(NoisePrimitives, HmacBlake2bRfc2104) {
  // HMAC-BLAKE2b-512, key = 0x0b * 20, "Hi There" (RFC 4231 test case 1 inputs; value computed
  // with Python's hmac.new(key, msg, hashlib.blake2b)).
  Bytes key(20, 0x0b);
  auto mac = hmac(key, {as_bytes("Hi There")});
  EXPECT_EQ(hex_encode(mac),
            "358a6a184924894fc34bee5680eedf57d84a37bb38832f288e3b27dc63a98cc8"
            "c91e76da476b508bc6b2d408a248857452906e4a20b48c6b4b55d2df0fe1dd24");
  // Keys longer than the 128-byte block are hashed first.
  Bytes long_key(200, 'k');
  EXPECT_EQ(hex_encode(hmac(long_key, {as_bytes("x")})),
            "6d57f83aca2d737ce6e7e7ad46eb831e25682814b90a765d0949c1051f08b794"
            "a7c1fb94c7ba388c066bfcb7efed9d8b7b91c904275bc7927b85a36fb45f0e3e");
}

TEST(NoiseCipher, NonceLayoutAndExhaustion) {
  Key k{};
  k[0] = 1;
  CipherState a(k), b(k);
  auto ct = a.encrypt_with_ad(as_bytes("ad"), as_bytes("hello"));
  EXPECT_EQ(ct.size(), 5 + kTagLen);
  EXPECT_EQ(a.nonce(), 1u);
  EXPECT_EQ(to_string(b.decrypt_with_ad(as_bytes("ad"), ct)), "hello");
  // Replay: same ciphertext again fails and leaves the nonce unchanged.
  EXPECT_THROW(b.decrypt_with_ad(as_bytes("ad"), ct), NoiseError);
  EXPECT_EQ(b.nonce(), 1u);
  // Wrong AD fails.
  auto ct2 = a.encrypt_with_ad(as_bytes("ad"), as_bytes("x"));
  EXPECT_THROW(b.decrypt_with_ad(as_bytes("AD"), ct2), NoiseError);
  EXPECT_EQ(to_string(b.decrypt_with_ad(as_bytes("ad"), ct2)), "x");

  // n = 2^64-2 is the last usable nonce; 2^64-1 is reserved.
  a.set_nonce(kMaxNonce - 1);
  b.set_nonce(kMaxNonce - 1);
  auto last = a.encrypt_with_ad({}, as_bytes("last"));
  EXPECT_EQ(to_string(b.decrypt_with_ad({}, last)), "last");
  EXPECT_EQ(a.nonce(), kMaxNonce);
  EXPECT_THROW(a.encrypt_with_ad({}, as_bytes("more")), NoiseError);
  EXPECT_THROW(b.decrypt_with_ad({}, last), NoiseError);
}

TEST(NoiseCipher, NonceIsLittleEndianAfterFourZeroBytes) {
  // Encrypting with nonce n must equal raw ChaCha20-Poly1305-IETF with 00000000 || LE64(n).
  Key k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i);
  CipherState c(k);
  c.set_nonce(0x0102030405060708ULL);
  auto ct = c.encrypt_with_ad({}, as_bytes("abc"));
  uint8_t nonce[12] = {0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1};
  Bytes ref(3 + kTagLen);
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(ref.data(), &len, as_bytes("abc").data(), 3, nullptr, 0,
                                            nullptr, nonce, k.data());
  EXPECT_EQ(ct, ref);
}

TEST(NoiseCipher, RekeyFollowsSpec) {
  Key k{};
  k[5] = 9;
  CipherState a(k), b(k);
  a.encrypt_with_ad({}, as_bytes("1"));
  auto n = a.nonce();
  a.rekey();
  EXPECT_EQ(a.nonce(), n);  // rekey keeps the nonce
  // REKEY(k) = first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros(32)).
  uint8_t nonce[12] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  uint8_t zeros[32] = {};
  uint8_t out[48];
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out, &len, zeros, 32, nullptr, 0, nullptr, nonce,
                                            k.data());
  Key expected;
  std::copy(out, out + 32, expected.begin());
  CipherState c(expected);
  c.set_nonce(n);
  auto ct = a.encrypt_with_ad({}, as_bytes("after"));
  EXPECT_EQ(to_string(c.decrypt_with_ad({}, ct)), "after");
  // The peer that did not rekey cannot read it.
  b.set_nonce(n);
  EXPECT_THROW(b.decrypt_with_ad({}, ct), NoiseError);
  b.rekey();
  EXPECT_EQ(to_string(b.decrypt_with_ad({}, ct)), "after");
}

TEST(NoiseCipher, NoKeyIsIdentity) {
  CipherState c;
  EXPECT_EQ(to_string(c.encrypt_with_ad({}, as_bytes("plain"))), "plain");
  EXPECT_THROW(c.rekey(), NoiseError);
}

TEST(NoiseProtocolName, ParsesAndRejects) {
  auto p = parse_protocol_name("Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b");
  EXPECT_EQ(p.messages.size(), 3u);
  EXPECT_EQ(p.messages[2].tokens.back(), Token::psk);
  auto k = parse_protocol_name("Noise_KK_25519_ChaChaPoly_BLAKE2b");
  EXPECT_EQ(k.pre_initiator.size(), 1u);
  EXPECT_EQ(k.pre_responder.size(), 1u);
  EXPECT_THROW(parse_protocol_name("Noise_XX_448_ChaChaPoly_BLAKE2b"), NoiseError);
  EXPECT_THROW(parse_protocol_name("Noise_XX_25519_AESGCM_SHA256"), NoiseError);
  EXPECT_THROW(parse_protocol_name("Noise_QQ_25519_ChaChaPoly_BLAKE2b"), NoiseError);
  EXPECT_THROW(parse_protocol_name("Noise_XXpsk_25519_ChaChaPoly_BLAKE2b"), NoiseError);
  EXPECT_THROW(parse_protocol_name("Noise_XXpsk9_25519_ChaChaPoly_BLAKE2b"), NoiseError);
  EXPECT_THROW(parse_protocol_name("Noise_XXfallback_25519_ChaChaPoly_BLAKE2b"), NoiseError);
}

namespace {
struct Pair {
  HandshakeState i, r;
};
Pair make_xx() {
  HandshakeConfig ci, cr;
  ci.protocol_name = cr.protocol_name = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
  ci.initiator = true;
  cr.initiator = false;
  ci.s = KeyPair::generate();
  cr.s = KeyPair::generate();
  return {HandshakeState(ci), HandshakeState(cr)};
}
}  // namespace

TEST(NoiseHandshake, RandomKeysXX) {
  auto [i, r] = make_xx();
  auto m1 = i.write_message(as_bytes("a"));
  EXPECT_EQ(to_string(r.read_message(m1)), "a");
  auto m2 = r.write_message(as_bytes("b"));
  EXPECT_EQ(to_string(i.read_message(m2)), "b");
  auto m3 = i.write_message(as_bytes("c"));
  EXPECT_EQ(to_string(r.read_message(m3)), "c");
  ASSERT_TRUE(i.finished() && r.finished());
  auto [i1, i2] = i.split();
  auto [r1, r2] = r.split();
  EXPECT_EQ(to_string(r1.decrypt_with_ad({}, i1.encrypt_with_ad({}, as_bytes("hi")))), "hi");
  EXPECT_EQ(to_string(i2.decrypt_with_ad({}, r2.encrypt_with_ad({}, as_bytes("yo")))), "yo");
}

TEST(NoiseHandshake, CorruptedTruncatedAndOutOfTurnMessagesFail) {
  {
    auto [i, r] = make_xx();
    r.read_message(i.write_message({}));
    auto m2 = r.write_message({});
    for (size_t pos : {size_t{0}, size_t{40}, m2.size() - 1}) {
      auto [i2, r2] = make_xx();
      r2.read_message(i2.write_message({}));
      auto bad = r2.write_message({});
      bad[pos] ^= 0x01;
      EXPECT_THROW(i2.read_message(bad), NoiseError) << pos;
      // A failed handshake stays failed.
      EXPECT_THROW(i2.write_message({}), NoiseError);
    }
    m2.resize(m2.size() - 1);
    EXPECT_THROW(i.read_message(m2), NoiseError);
  }
  {
    auto [i, r] = make_xx();
    EXPECT_THROW(r.write_message({}), NoiseError);  // responder writes first
    EXPECT_THROW(i.read_message(Bytes(32)), NoiseError);
    EXPECT_THROW(r.read_message(Bytes(31)), NoiseError);  // shorter than an ephemeral key
  }
  {
    // Small-order ephemeral key (all zeros) makes the DH fail cleanly.
    auto [i, r] = make_xx();
    r.read_message(Bytes(32, 0));
    EXPECT_THROW(r.write_message({}), NoiseError);
  }
  {
    // Split before the end is refused; payload too long is refused.
    auto [i, r] = make_xx();
    EXPECT_THROW(i.split(), NoiseError);
    EXPECT_THROW(i.write_message(Bytes(kMaxMessageLen)), NoiseError);
  }
}

TEST(NoiseHandshake, MissingKeysAreReportedUpFront) {
  HandshakeConfig c;
  c.protocol_name = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
  EXPECT_THROW(HandshakeState{c}, NoiseError);  // initiator must send s
  c.protocol_name = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
  c.s = KeyPair::generate();
  EXPECT_THROW(HandshakeState{c}, NoiseError);  // needs rs
}
