// Wire formats of docs/consensus.md with golden vectors.
#include "consensus/types.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "crypto/hash.h"
#include "tests/support/keys.h"

using namespace guts;
using namespace guts::consensus;

namespace {
crypto::SigningKey key_of(uint8_t b) {
  return test_support::fixed_key(b);
}
Proposal sample() {
  return Proposal{Round{0, 5}, 3, crypto::sha256("block")};
}
VerifyFn sodium() {
  return [](const crypto::PublicKey& pk, ByteView m, const crypto::Signature& s) {
    return crypto::verify_raw(pk, m, s);
  };
}
const char* kNotarizeHex =
    "00000503496aca80e4d8f29fb8e8cd816c3afb48d3f103970b3a2ee1600c08ca67326dee004cd823123310fd52"
    "18e0f4f7b8608dcf1d073ee38cf5f33ded8858afeff8242c37a9f2d3d3e69af98e3edd2fc8522b422f9a5005af"
    "a75a6f0a0cd2edc4c4460a";
const char* kNullifyHex =
    "01000500fba9cd214da014fd231130b1ec4595df1560098063ece3f7a3248a0a0d5336382eb0da31049e2323d8"
    "c2f7e86100559335f53935d8da00c0116a15552851c809";
const char* kFinalizeHex =
    "02000503496aca80e4d8f29fb8e8cd816c3afb48d3f103970b3a2ee1600c08ca67326dee006e855825d5c31d0d"
    "60a1f98407dafd0a4a98fec28c1c8f633f41242348784f527ed8c52530549101aad2840d6b2ad953e3635158e1"
    "8100d735b2948301ceed0f";
const char* kFinalizationN1Hex =
    "02000503496aca80e4d8f29fb8e8cd816c3afb48d3f103970b3a2ee1600c08ca67326dee000000000000000101"
    "016e855825d5c31d0d60a1f98407dafd0a4a98fec28c1c8f633f41242348784f527ed8c52530549101aad2840d"
    "6b2ad953e3635158e18100d735b2948301ceed0f";
const char* kNullificationN2Hex =
    "01000500000000000000020302fba9cd214da014fd231130b1ec4595df1560098063ece3f7a3248a0a0d533638"
    "2eb0da31049e2323d8c2f7e86100559335f53935d8da00c0116a15552851c8092c325bdb22e8ccd8489d2dfef7"
    "d19ec2d2793036d11fa7f3073a8eff20d3db5de2b38429f71ea18ba429a091b547ef498125e9cb533f8c5416a2"
    "3fd802016002";
}  // namespace

TEST(ConsensusTypes, Quorum) {
  EXPECT_EQ(quorum(1), 1u);
  EXPECT_EQ(quorum(4), 3u);
  EXPECT_EQ(quorum(5), 4u);
  EXPECT_EQ(quorum(7), 5u);
  EXPECT_EQ(quorum(10), 7u);
  EXPECT_EQ(quorum(100), 67u);
  EXPECT_EQ(max_faults(100), 33u);
}

TEST(ConsensusTypes, GoldenRoundAndProposal) {
  EXPECT_EQ(hex_encode(encode_round(Round{1, 300})), "01ac02");
  EXPECT_EQ(hex_encode(encode_proposal(sample())),
            "000503496aca80e4d8f29fb8e8cd816c3afb48d3f103970b3a2ee1600c08ca67326dee");
}

TEST(ConsensusTypes, GoldenVotes) {
  auto k = key_of(1);
  EXPECT_EQ(hex_encode(k.public_key()),
            "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c");
  Vote n = sign_vote(k, "guts/test", Kind::kNotarize, 0, sample());
  Vote u = sign_vote(k, "guts/test", Kind::kNullify, 0, sample());
  Vote f = sign_vote(k, "guts/test", Kind::kFinalize, 0, sample());
  EXPECT_EQ(hex_encode(encode_vote(n)), kNotarizeHex);
  EXPECT_EQ(hex_encode(encode_vote(u)), kNullifyHex);
  EXPECT_EQ(hex_encode(encode_vote(f)), kFinalizeHex);
  for (const char* h : {kNotarizeHex, kNullifyHex, kFinalizeHex}) {
    Bytes b = *hex_decode(h);
    EXPECT_EQ(encode_vote(decode_vote(b)), b);
  }
  // The signed bytes are union_unique(ns ‖ suffix, encode(subject)).
  Bytes msg = to_bytes(std::string("\x12guts/test_NOTARIZE"));
  Bytes subj = encode_proposal(sample());
  msg.insert(msg.end(), subj.begin(), subj.end());
  EXPECT_TRUE(crypto::verify_raw(k.public_key(), msg, n.signature));
  EXPECT_TRUE(verify_vote(sodium(), "guts/test", k.public_key(), n));
  EXPECT_FALSE(verify_vote(sodium(), "guts/other", k.public_key(), n));
  // A notarize signature is not a finalize signature.
  Vote g = n;
  g.kind = Kind::kFinalize;
  EXPECT_FALSE(verify_vote(sodium(), "guts/test", k.public_key(), g));
}

TEST(ConsensusTypes, GoldenCertificates) {
  auto k1 = key_of(1);
  auto k2 = key_of(2);
  Vote f = sign_vote(k1, "guts/test", Kind::kFinalize, 0, sample());
  Certificate c = assemble(Kind::kFinalize, sample(), 1, {f});
  EXPECT_EQ(hex_encode(encode_certificate(c)), kFinalizationN1Hex);
  Certificate c2 = assemble(Kind::kNullify, sample(), 2,
                            {sign_vote(k2, "guts/test", Kind::kNullify, 1, sample()),
                             sign_vote(k1, "guts/test", Kind::kNullify, 0, sample())});
  EXPECT_EQ(hex_encode(encode_certificate(c2)), kNullificationN2Hex);
  EXPECT_EQ(c2.signers, (std::vector<uint32_t>{0, 1}));
  Bytes b = *hex_decode(kNullificationN2Hex);
  EXPECT_EQ(decode_certificate(b), c2);
  std::vector<crypto::PublicKey> ps{k1.public_key(), k2.public_key()};
  EXPECT_TRUE(verify_certificate(sodium(), "guts/test", ps, c2));
  EXPECT_FALSE(verify_certificate(sodium(), "guts/x", ps, c2));
  // Too few signers (q = 2 of 2).
  Certificate one = assemble(Kind::kNullify, sample(), 2,
                             {sign_vote(k1, "guts/test", Kind::kNullify, 0, sample())});
  EXPECT_FALSE(verify_certificate(sodium(), "guts/test", ps, one));
  // Corrupt signature.
  Certificate bad = c2;
  bad.signatures[1][0] ^= 1;
  EXPECT_FALSE(verify_certificate(sodium(), "guts/test", ps, bad));
  // Bitmap length must equal n.
  EXPECT_FALSE(verify_certificate(sodium(), "guts/test", {k1.public_key()}, c2));
}

TEST(ConsensusTypes, DecoderRejects) {
  Bytes b = *hex_decode(kNullificationN2Hex);
  Bytes trailing = b;
  trailing.push_back(0);
  EXPECT_THROW(decode_certificate(trailing), codec::DecodeError);
  Bytes tag = b;
  tag[0] = 3;
  EXPECT_THROW(decode_certificate(tag), codec::DecodeError);
  Bytes padding = b;
  padding[11] |= 0x80;  // bitmap byte: bit beyond n set
  EXPECT_THROW(decode_certificate(padding), codec::DecodeError);
  Bytes count = b;
  count[12] = 1;  // count != popcount
  EXPECT_THROW(decode_certificate(count), codec::DecodeError);
  Bytes zero_len = b;
  zero_len[10] = 0;
  EXPECT_THROW(decode_certificate(zero_len), codec::DecodeError);
  Bytes truncated(b.begin(), b.end() - 1);
  EXPECT_THROW(decode_certificate(truncated), codec::DecodeError);
  Bytes v = *hex_decode(kNotarizeHex);
  v.pop_back();
  EXPECT_THROW(decode_vote(v), codec::DecodeError);
}

TEST(ConsensusTypes, ArtifactsAndResolver) {
  auto k = key_of(3);
  Vote n = sign_vote(k, "g", Kind::kNotarize, 2, sample());
  for (const Artifact& a :
       {vote_artifact(n), certificate_artifact(assemble(Kind::kNotarize, sample(), 4, {n}))}) {
    Artifact d = decode_artifact(encode_artifact(a));
    EXPECT_EQ(d.tag, a.tag);
    EXPECT_EQ(d.vote, a.vote);
    EXPECT_EQ(d.certificate, a.certificate);
    EXPECT_EQ(d.view(), 5u);
  }
  Artifact c;
  c.tag = ArtifactTag::kCertification;
  c.round = Round{0, 9};
  c.certified = true;
  EXPECT_EQ(hex_encode(encode_artifact(c)), "02000901");
  EXPECT_EQ(decode_artifact(encode_artifact(c)).round, c.round);

  ResolverMessage req;
  req.id = 7;
  req.view = 300;
  EXPECT_EQ(hex_encode(encode_resolver(req)), "000000000000000700000000000000012c");
  EXPECT_EQ(decode_resolver(encode_resolver(req)).view, 300u);
  ResolverMessage resp;
  resp.id = 7;
  resp.type = ResolverMessage::Type::kResponse;
  resp.certificate = Bytes{1, 2, 3};
  EXPECT_EQ(decode_resolver(encode_resolver(resp)).certificate, resp.certificate);
}

TEST(ConsensusTypes, DocumentationCarriesTheGoldenVectors) {
  std::ifstream f(std::string(GUTS_SOURCE_DIR) + "/docs/consensus.md");
  ASSERT_TRUE(f.good()) << "docs/consensus.md not found";
  std::stringstream ss;
  ss << f.rdbuf();
  std::string doc = ss.str();
  for (const char* v :
       {kNotarizeHex, kNullifyHex, kFinalizeHex, kFinalizationN1Hex, kNullificationN2Hex, "01ac02",
        "000503496aca80e4d8f29fb8e8cd816c3afb48d3f103970b3a2ee1600c08ca67326dee", "02000901",
        "000000000000000700000000000000012c"}) {
    EXPECT_NE(doc.find(v), std::string::npos) << v;
  }
}
