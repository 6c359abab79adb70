#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "core/fs.h"
#include "core/status.h"
#include "crypto/did.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "crypto/keyfile.h"

using namespace guts;
using namespace guts::crypto;

namespace {
std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() /
           ("guts-crypto-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}
Seed seed_of(uint8_t b) {
  Seed s;
  s.fill(b);
  return s;
}
}  // namespace

// The tree's nodes are hashed in batches, four (or two) at a time with the CPU's SHA extensions
// where it has them: every digest equals the one-at-a-time SHA-256 of its message, for batch
// sizes 0 to 9 (every mix of four, two and one) and 130, with the extensions and without.
TEST(Sha256, BatchesOf65ByteMessages) {
  Block65 counting;
  for (size_t i = 0; i < counting.size(); ++i) counting[i] = uint8_t(i);
  std::vector<Block65> one{counting};
  std::vector<Digest> out(1);
  for (bool extensions : {true, false}) {
    sha256_65(one, out, extensions);
    EXPECT_EQ(hex_encode(out[0]),
              "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781");
  }
  uint64_t x = 0x9e3779b97f4a7c15;  // a fixed pseudo-random stream
  for (size_t n : std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 130}) {  // 130: past 64
    std::vector<Block65> in(n);
    for (auto& m : in)
      for (auto& b : m)
        b = uint8_t((x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 56);
    for (bool extensions : {true, false}) {
      std::vector<Digest> digests(n + 1);  // one more than needed: left as it was
      sha256_65(in, digests, extensions);
      for (size_t i = 0; i < n; ++i)
        EXPECT_EQ(digests[i], sha256(ByteView(in[i]))) << n << " " << i;
      EXPECT_EQ(digests[n], Digest{});
    }
  }
  std::vector<Digest> too_few(1);
  EXPECT_THROW(sha256_65(std::vector<Block65>(2), too_few), std::invalid_argument);
  // Says which path the digests above took on this machine.
  std::cout << "SHA extensions: " << (sha256_65_uses_cpu_extensions() ? "yes" : "no") << "\n";
}

// Messages of any length hashed together: grouped by their padded length and hashed four, two
// or one at a time, each digest in its place, equal to the one-at-a-time SHA-256, at every
// length around the padding's edges (55/56 bytes: one block or two; 64: a whole block) and in
// mixed batches whose lengths interleave.
TEST(Sha256, BatchesOfAnyLength) {
  uint64_t x = 0x2545f4914f6cdd1d;
  auto next = [&] {
    return uint8_t((x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 56);
  };
  std::vector<Bytes> messages;
  for (size_t len = 0; len <= 200; ++len) {
    Bytes m(len);
    for (auto& b : m) b = next();
    messages.push_back(std::move(m));
  }
  for (size_t n : {size_t(0), size_t(1), size_t(3), size_t(7), size_t(50), messages.size()}) {
    std::vector<ByteView> in;
    for (size_t i = 0; i < n; ++i) in.emplace_back(messages[(i * 37) % messages.size()]);
    for (bool extensions : {true, false}) {
      std::vector<Digest> out(n + 1);  // one more than needed: left as it was
      sha256_many(in, out, extensions);
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(out[i], sha256(in[i])) << n << " " << i;
      EXPECT_EQ(out[n], Digest{});
    }
  }
  // Four messages of each length: the four-lane path at every length.
  for (size_t len = 0; len <= 200; ++len) {
    std::vector<Bytes> four(4, Bytes(len));
    for (auto& m : four)
      for (auto& b : m) b = next();
    std::vector<ByteView> in(four.begin(), four.end());
    std::vector<Digest> out(4);
    sha256_many(in, out);
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(out[i], sha256(in[i])) << len << " " << i;
  }
  std::vector<Digest> too_few(1);
  std::vector<ByteView> two(2);
  EXPECT_THROW(sha256_many(two, too_few), std::invalid_argument);
}

TEST(Sha256, KnownVector) {
  EXPECT_EQ(hex_encode(sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.update(std::string_view("a")).update(std::string_view("bc"));
  EXPECT_EQ(h.finish(), sha256(std::string_view("abc")));
  // FIPS 180-2 appendix B.3: a million "a", across block boundaries in uneven parts, and on
  // several threads at once.
  const std::string million(1000000, 'a');
  const std::string expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  Sha256 parts;
  for (size_t at = 0; at < million.size(); at += 997)
    parts.update(std::string_view(million).substr(at, 997));
  Sha256 moved = std::move(parts);  // the state moves with the object
  EXPECT_EQ(hex_encode(moved.finish()), expected);
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i)
        right += hex_encode(sha256(std::string_view(million))) == expected;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(right.load(), 12);
}

TEST(Ed25519, Rfc8032Vector1) {
  // RFC 8032 §7.1 TEST 1.
  auto seed =
      *hex_decode_fixed<32>("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  auto key = SigningKey::from_seed(seed);
  EXPECT_EQ(hex_encode(key.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto sig = key.sign_raw({});
  EXPECT_EQ(hex_encode(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39"
            "701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(verify_raw(key.public_key(), {}, sig));
}

TEST(Ed25519, DomainSeparation) {
  auto key = SigningKey::from_seed(seed_of(7));
  auto payload = to_bytes("payload");
  auto sig = key.sign("guts/tx", payload);
  EXPECT_TRUE(verify(key.public_key(), "guts/tx", payload, sig));
  EXPECT_FALSE(verify(key.public_key(), "guts/token", payload, sig));
  EXPECT_FALSE(verify_raw(key.public_key(), payload, sig));
  auto tampered = sig;
  tampered[0] ^= 1;
  EXPECT_FALSE(verify(key.public_key(), "guts/tx", payload, tampered));
  EXPECT_EQ(hex_encode(domain_message("ab", as_bytes("c"))), "02616263");
}

TEST(Did, RoundTripAndKnownForm) {
  // did:key spec example key (Ed25519 test vector from the did:key method spec).
  auto pk =
      *hex_decode_fixed<32>("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto did = did_from_key(pk);
  EXPECT_EQ(did, "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw");
  EXPECT_EQ(*parse_did(did), pk);
}

TEST(Did, RejectsMalformed) {
  auto good = did_from_key(SigningKey::from_seed(seed_of(1)).public_key());
  EXPECT_TRUE(parse_did(good));
  EXPECT_FALSE(parse_did(""));
  EXPECT_FALSE(parse_did("did:web:example.com"));
  EXPECT_FALSE(parse_did("did:key:" + good.substr(9)));                 // missing multibase
  EXPECT_FALSE(parse_did("did:key:f" + good.substr(9)));                // other multibase
  EXPECT_FALSE(parse_did(good.substr(0, good.size() - 1)));             // truncated
  EXPECT_FALSE(parse_did(good + "1"));                                  // extra
  EXPECT_FALSE(parse_did("did:key:z1" + good.substr(9)));               // leading zero byte
  EXPECT_FALSE(parse_did(good.substr(0, 20) + "0" + good.substr(21)));  // non-alphabet
  // secp256k1 multicodec (0xe7 0x01) is not accepted.
  EXPECT_FALSE(parse_did("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"));
  // A small-order point is not a valid identity.
  PublicKey zero{};
  zero[0] = 1;  // the identity point
  EXPECT_FALSE(parse_did(did_from_key(zero)));
}

TEST(KeyFile, CreateLoadAndPermissions) {
  auto dir = temp_dir("keyfile");
  auto path = dir / "id.key";
  auto key = create_key_file(path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(load_key_file(path).public_key(), key.public_key());
  EXPECT_THROW(create_key_file(path), Error);

  ::chmod(path.c_str(), 0644);
  try {
    load_key_file(path);
    FAIL() << "loaded a world-readable key";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kPermissionDenied);
    EXPECT_NE(std::string(e.what()).find("chmod 600"), std::string::npos);
  }
  ::chmod(path.c_str(), 0600);
  atomic_write_file(path, as_bytes("guts-ed25519-seed-v1\nnothex\n"), 0600);
  EXPECT_THROW(load_key_file(path), Error);

  // Two generated keys differ (seeds come from the CSPRNG).
  EXPECT_NE(SigningKey::generate().seed(), SigningKey::generate().seed());
  std::filesystem::remove_all(dir);
}

TEST(OpenSsh, ImportMatchesSshKeygen) {
  auto dir = temp_dir("ssh");
  auto path = dir / "id_ed25519";
  std::string cmd = "ssh-keygen -q -t ed25519 -N '' -C test -f " + path.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "ssh-keygen is required (package openssh-client)";
  auto pem = to_string(read_file(path));
  auto key = parse_openssh_private_key(pem);
  // The .pub file holds base64(u32 len "ssh-ed25519" u32 32 pk); compare the key bytes.
  auto pub = to_string(read_file(path.string() + ".pub"));
  auto b64 = pub.substr(pub.find(' ') + 1);
  b64 = b64.substr(0, b64.find(' '));
  unsigned char raw[128];
  size_t n = 0;
  ASSERT_EQ(sodium_base642bin(raw, sizeof raw, b64.data(), b64.size(), nullptr, &n, nullptr,
                              sodium_base64_VARIANT_ORIGINAL),
            0);
  ASSERT_EQ(n, 51u);
  EXPECT_TRUE(std::equal(raw + 19, raw + 51, key.public_key().begin()));

  auto enc = dir / "enc";
  cmd = "ssh-keygen -q -t ed25519 -N secretpass -f " + enc.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  try {
    parse_openssh_private_key(to_string(read_file(enc)));
    FAIL() << "accepted an encrypted key";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("encrypted"), std::string::npos);
  }
  EXPECT_THROW(parse_openssh_private_key("not a key"), Error);
  EXPECT_THROW(parse_openssh_private_key(pem.substr(0, pem.size() / 2) +
                                         "\n-----END OPENSSH PRIVATE KEY-----\n"),
               Error);
  std::filesystem::remove_all(dir);
}
