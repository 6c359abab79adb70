// node::EvidenceLog: byzantine-validator evidence is stored durably, deduplicated, re-verified
// against the validator set when read, and a forged or non-conflicting pair is not evidence.
#include "node/evidence.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "crypto/did.h"
#include "state/kv.h"
#include "tests/support/keys.h"
#include "tests/support/node_harness.h"

using namespace guts;
using consensus::Kind;

namespace {

constexpr std::string_view kNs = "guts/evidence-test";

consensus::Proposal proposal(consensus::View view, uint8_t payload) {
  consensus::Proposal p;
  p.round = {0, view};
  p.parent = view - 1;
  p.payload.fill(payload);
  return p;
}

std::vector<crypto::PublicKey> validators() {
  std::vector<crypto::PublicKey> v;
  for (uint8_t b = 1; b <= 4; ++b) v.push_back(test_support::fixed_key(b).public_key());
  return v;
}

// Validator `signer` (key signer + 1) signs two notarize votes for different blocks in view 7.
consensus::Fault conflicting_notarize(uint32_t signer) {
  auto key = test_support::fixed_key(static_cast<uint8_t>(signer + 1));
  consensus::Fault f;
  f.kind = consensus::FaultKind::kConflictingNotarize;
  f.signer = signer;
  f.first = consensus::sign_vote(key, kNs, Kind::kNotarize, signer, proposal(7, 0xaa));
  f.second = consensus::sign_vote(key, kNs, Kind::kNotarize, signer, proposal(7, 0xbb));
  return f;
}

struct Fixture {
  guts::testing::TempDir dir{"evidence"};
  std::unique_ptr<storage::Db> db;
  std::unique_ptr<state::Schema> schema;
  std::unique_ptr<node::EvidenceLog> log;
  Fixture() { open(); }
  void open() {
    log.reset();
    schema.reset();
    db.reset();
    db = storage::Db::open(dir / "db", state::Schema::families());
    schema = std::make_unique<state::Schema>(*db);
    log = std::make_unique<node::EvidenceLog>(*db, schema->local, std::string(kNs), validators());
  }
};

}  // namespace

TEST(Evidence, RecordedOnceVerifiedAndKeptAcrossRestarts) {
  Fixture fx;
  auto fault = conflicting_notarize(2);
  ASSERT_TRUE(fx.log->verify(fault));
  fx.log->record(fault, 1000);
  fx.log->record(fault, 2000);  // the same pair again: not a second record
  EXPECT_EQ(fx.log->count(), 1u);

  fx.open();  // a restart
  auto rows = fx.log->list(10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].seq, 1u);
  EXPECT_EQ(rows[0].detected_ms, 1000u);
  EXPECT_EQ(rows[0].fault.first, fault.first);
  EXPECT_EQ(rows[0].fault.second, fault.second);

  // Sequence numbers continue after the restart; newest first.
  auto other = conflicting_notarize(0);
  fx.log->record(other, 3000);
  rows = fx.log->list(10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].seq, 2u);
  EXPECT_EQ(rows[0].fault.signer, 0u);
  EXPECT_EQ(fx.log->list(1).size(), 1u);

  auto j = nlohmann::json::parse(fx.log->to_json(10));
  EXPECT_EQ(j["count"], 2);
  EXPECT_EQ(j["namespace"], kNs);
  ASSERT_EQ(j["evidence"].size(), 2u);
  const auto& e = j["evidence"][1];
  EXPECT_EQ(e["kind"], "conflicting-notarize");
  EXPECT_EQ(e["view"], 7);
  EXPECT_EQ(e["signer"], crypto::did_from_key(validators()[2]));
  EXPECT_EQ(e["verified"], true);
  // The votes are served in the consensus wire format: anyone can decode and re-check them.
  auto first = consensus::decode_vote(*hex_decode(e["first_vote"].get<std::string>()));
  EXPECT_EQ(first, fault.first);
}

TEST(Evidence, ForgedOrNonConflictingPairsAreNotEvidence) {
  Fixture fx;
  // Signed by validator 3's key but attributed to validator 1.
  auto forged = conflicting_notarize(3);
  forged.signer = 1;
  forged.first.signer = forged.second.signer = 1;
  EXPECT_FALSE(fx.log->verify(forged));
  // Two votes for the same block are not a conflict.
  auto same = conflicting_notarize(1);
  same.second = same.first;
  EXPECT_FALSE(fx.log->verify(same));
  // Votes of different views are not a conflict.
  auto key = test_support::fixed_key(2);
  auto views = conflicting_notarize(1);
  views.second = consensus::sign_vote(key, kNs, Kind::kNotarize, 1, proposal(8, 0xbb));
  EXPECT_FALSE(fx.log->verify(views));
  // A signer outside the validator set.
  auto outside = conflicting_notarize(1);
  outside.signer = 9;
  EXPECT_FALSE(fx.log->verify(outside));
  // Signed in another network's namespace.
  auto other_ns = conflicting_notarize(1);
  other_ns.first = consensus::sign_vote(key, "guts/other", Kind::kNotarize, 1, proposal(7, 1));
  other_ns.second = consensus::sign_vote(key, "guts/other", Kind::kNotarize, 1, proposal(7, 2));
  EXPECT_FALSE(fx.log->verify(other_ns));

  // A nullify and a finalize in one view is evidence.
  consensus::Fault nf;
  nf.kind = consensus::FaultKind::kNullifyFinalize;
  nf.signer = 1;
  nf.first = consensus::sign_vote(key, kNs, Kind::kNullify, 1, proposal(5, 0));
  nf.second = consensus::sign_vote(key, kNs, Kind::kFinalize, 1, proposal(5, 0xcc));
  EXPECT_TRUE(fx.log->verify(nf));
  // A stored record that fails verification is still listed, marked unverified.
  fx.log->record(forged, 1);
  auto j = nlohmann::json::parse(fx.log->to_json(10));
  EXPECT_EQ(j["evidence"][0]["verified"], false);
}

TEST(Evidence, MalformedRecordsAreRejected) {
  node::EvidenceRecord r{4, 99, conflicting_notarize(0)};
  auto bytes = node::encode_evidence(r);
  auto back = node::decode_evidence(bytes);
  EXPECT_EQ(back.seq, 4u);
  EXPECT_EQ(back.fault.second, r.fault.second);
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_THROW(node::decode_evidence(std::string_view(bytes).substr(0, n)), codec::DecodeError)
        << n;
  EXPECT_THROW(node::decode_evidence(bytes + "x"), codec::DecodeError);
  auto bad_kind = bytes;
  bad_kind[3] = 9;  // format, seq, detected_ms (one byte each here), then the kind
  EXPECT_THROW(node::decode_evidence(bad_kind), codec::DecodeError);
}

TEST(Evidence, AFaultOfALaterEpochIsCheckedAgainstThatEpochsSet) {
  Fixture fx;
  // Epoch 1: validators 50-53; index 1 is key 51.
  std::vector<crypto::PublicKey> later;
  for (uint8_t b = 50; b <= 53; ++b) later.push_back(test_support::fixed_key(b).public_key());
  auto key = test_support::fixed_key(51);
  auto at = [](consensus::View view, uint8_t payload) {
    auto p = proposal(view, payload);
    p.round.epoch = 1;
    return p;
  };
  consensus::Fault f;
  f.kind = consensus::FaultKind::kConflictingNotarize;
  f.signer = 1;
  f.first = consensus::sign_vote(key, kNs, Kind::kNotarize, 1, at(3, 0xaa));
  f.second = consensus::sign_vote(key, kNs, Kind::kNotarize, 1, at(3, 0xbb));
  EXPECT_FALSE(fx.log->verify(f)) << "epoch 1 is not known yet";
  fx.log->set_epochs({validators(), later});
  EXPECT_TRUE(fx.log->verify(f));
  fx.log->record(f, 1000);
  auto j = nlohmann::json::parse(fx.log->to_json(10));
  EXPECT_EQ(j["evidence"][0]["epoch"], 1);
  EXPECT_EQ(j["evidence"][0]["signer"], crypto::did_from_key(later[1]));
  // The same index in epoch 0 is another validator: the pair does not verify there.
  auto as_epoch0 = f;
  as_epoch0.first = consensus::sign_vote(key, kNs, Kind::kNotarize, 1, proposal(3, 0xaa));
  as_epoch0.second = consensus::sign_vote(key, kNs, Kind::kNotarize, 1, proposal(3, 0xbb));
  EXPECT_FALSE(fx.log->verify(as_epoch0));
  // Votes of two epochs are no conflict.
  auto mixed = f;
  mixed.second = as_epoch0.second;
  EXPECT_FALSE(fx.log->verify(mixed));
}
