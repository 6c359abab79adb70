// Finalization heads (consensus/head.h): what a full node accepts as proof of finality.
#include "consensus/head.h"

#include <gtest/gtest.h>

#include "codec/codec.h"
#include "crypto/hash.h"
#include "tests/support/validators.h"

using namespace guts;
using namespace guts::consensus;

namespace {

constexpr std::string_view kNs = "guts/test-chain";

struct Validators : test_support::Validators {
  explicit Validators(uint32_t n) : test_support::Validators(n, kNs) {}
};

Proposal sample() {
  return Proposal{Round{0, 42}, 41, crypto::sha256("block 7")};
}

// The head message without its tag byte: what verify_head takes.
Bytes body_of(const FinalityHead& h) {
  Bytes m = encode_head(h);
  EXPECT_EQ(m.at(0), kHead);
  return Bytes(m.begin() + 1, m.end());
}

}  // namespace

TEST(FinalityHead, ValidCertificateVerifiesAndRoundTrips) {
  Validators v(4);
  auto cert = v.cert(Kind::kFinalize, sample(), {0, 2, 3});
  FinalityHead h{7, 42, sample().payload, encode_certificate(cert)};
  auto got = verify_head(body_of(h), kNs, v.pks);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->height, 7u);
  EXPECT_EQ(got->view, 42u);
  EXPECT_EQ(got->block, sample().payload);
  EXPECT_EQ(got->certificate, h.certificate);
}

TEST(FinalityHead, ForgedOrWeakCertificatesAreRefused) {
  Validators v(4);
  // Too few signers (q = 3 of 4).
  auto weak = v.cert(Kind::kFinalize, sample(), {0, 1});
  EXPECT_FALSE(
      verify_head(body_of({7, 42, sample().payload, encode_certificate(weak)}), kNs, v.pks));
  // A notarization is not a finalization.
  auto notarized = v.cert(Kind::kNotarize, sample(), {0, 1, 2});
  EXPECT_FALSE(
      verify_head(body_of({7, 42, sample().payload, encode_certificate(notarized)}), kNs, v.pks));
  // A flipped signature bit.
  auto cert = v.cert(Kind::kFinalize, sample(), {0, 1, 2});
  cert.signatures[1][5] ^= 1;
  EXPECT_FALSE(
      verify_head(body_of({7, 42, sample().payload, encode_certificate(cert)}), kNs, v.pks));
  // A block id swapped under valid signatures.
  auto swapped = v.cert(Kind::kFinalize, sample(), {0, 1, 2});
  swapped.proposal.payload[0] ^= 1;
  EXPECT_FALSE(
      verify_head(body_of({7, 42, sample().payload, encode_certificate(swapped)}), kNs, v.pks));
  // Another chain's namespace.
  auto good = v.cert(Kind::kFinalize, sample(), {0, 1, 2});
  EXPECT_FALSE(verify_head(body_of({7, 42, sample().payload, encode_certificate(good)}),
                           "guts/other-chain", v.pks));
  // Signed by keys outside the validator set.
  Validators strangers(8);
  std::vector<crypto::PublicKey> others(strangers.pks.begin() + 4, strangers.pks.end());
  EXPECT_FALSE(
      verify_head(body_of({7, 42, sample().payload, encode_certificate(good)}), kNs, others));
}

TEST(FinalityHead, MalformedBytesThrowDecodeError) {
  Validators v(4);
  auto cert = v.cert(Kind::kFinalize, sample(), {0, 1, 2});
  Bytes body = body_of({7, 42, sample().payload, encode_certificate(cert)});
  Bytes truncated(body.begin(), body.end() - 1);
  EXPECT_THROW(verify_head(truncated, kNs, v.pks), codec::DecodeError);
  Bytes trailing = body;
  trailing.push_back(0);
  EXPECT_THROW(verify_head(trailing, kNs, v.pks), codec::DecodeError);
  EXPECT_THROW(verify_head(Bytes{}, kNs, v.pks), codec::DecodeError);
  // A certificate length beyond the 64 KiB bound is refused before anything is read.
  codec::Writer w;
  w.u64be(1).varint(kMaxCertificateBytes + 1);
  EXPECT_THROW(verify_head(w.data(), kNs, v.pks), codec::DecodeError);
}
