// The signing guard and the engine's signing floor (docs/consensus.md §9): a validator that
// lost its journal never signs again in a view it may have signed in before.
#include "consensus/signing_guard.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "consensus/engine.h"
#include "crypto/hash.h"
#include "tests/support/validators.h"

using namespace guts;
using namespace guts::consensus;

namespace {

// Validators with keys fixed_key(1..n), signing under "guts/test".
using Fixture = test_support::Validators;

Proposal prop(View v, View parent, const char* payload) {
  return Proposal{Round{0, v}, parent, crypto::sha256(payload)};
}
Proposal null(View v) {
  return Proposal{Round{0, v}, 0, {}};
}

std::vector<Vote> sent_votes(const Output& o) {
  std::vector<Vote> out;
  for (const auto& s : o.sends) {
    if (s.channel == Channel::kVote) out.push_back(decode_vote(s.payload));
  }
  return out;
}

Bytes record(const Artifact& a) {
  return encode_artifact(a);
}

}  // namespace

TEST(SigningGuard, EncodesAndRejectsDamage) {
  for (GuardState g : {GuardState{View{0}, 0}, GuardState{View{130}, 66},
                       GuardState{std::nullopt, kSignNothing}, GuardState{View{7}, kSignNothing}}) {
    auto d = decode_guard(encode_guard(g));
    ASSERT_TRUE(d) << encode_guard(g);
    EXPECT_EQ(*d, g);
  }
  EXPECT_EQ(encode_guard({View{64}, 0}), "guts-signing-guard v1\nreserved 64\nfloor 0\n");
  EXPECT_FALSE(decode_guard(""));
  EXPECT_FALSE(decode_guard("guts-signing-guard v1\nreserved 6"));
  EXPECT_FALSE(decode_guard("guts-signing-guard v1\nreserved x\nfloor 0\n"));
  EXPECT_FALSE(decode_guard("guts-signing-guard v1\nreserved 1\nfloor 0\nextra\n"));
  EXPECT_FALSE(decode_guard("guts-signing-guard v2\nreserved 1\nfloor 0\n"));
}

TEST(SigningGuard, StartStateFollowsWhatWasLost) {
  Fixture fx(4);
  std::vector<Bytes> journal{record(vote_artifact(fx.vote(0, Kind::kNullify, null(9))))};
  std::vector<Bytes> app_only{Bytes{0xB0, 1, 2, 3}};
  // Fresh key: {0, 0} and an empty journal.
  EXPECT_EQ(guard_start_state(GuardState{View{0}, 0}, {}), (GuardState{View{0}, 0}));
  // Normal restart: the journal knows our votes.
  EXPECT_EQ(guard_start_state(GuardState{View{72}, 0}, journal), (GuardState{View{72}, 0}));
  // ... and a vote that reached the disk without its sync (nor the guard) is covered.
  EXPECT_EQ(guard_start_state(GuardState{View{8}, 0}, journal), (GuardState{View{9}, 0}));
  // Wiped (key kept): nothing known, sign nothing until the others were observed.
  EXPECT_EQ(guard_start_state(std::nullopt, {}), (GuardState{std::nullopt, kSignNothing}));
  EXPECT_EQ(guard_start_state(std::nullopt, app_only), (GuardState{std::nullopt, kSignNothing}));
  // Journal lost, guard kept: never at or below the reservation.
  EXPECT_EQ(guard_start_state(GuardState{View{72}, 0}, {}), (GuardState{View{72}, 72}));
  // Data from before the guard existed: the journal is trusted.
  EXPECT_EQ(guard_start_state(std::nullopt, journal), (GuardState{View{9}, 0}));
  // Crashed while recovering: still recovering, whatever the journal now holds.
  EXPECT_EQ(guard_start_state(GuardState{std::nullopt, kSignNothing}, journal),
            (GuardState{std::nullopt, kSignNothing}));
}

TEST(SigningGuard, ReservesAheadOncePerStretch) {
  GuardState g{View{0}, 0};
  g = guard_after_step(g, View{1}, 0, 64);
  EXPECT_EQ(g, (GuardState{View{65}, 0}));
  EXPECT_EQ(guard_after_step(g, View{65}, 0, 64), g);  // within the reservation: no write
  EXPECT_EQ(guard_after_step(g, std::nullopt, 0, 64), g);
  EXPECT_EQ(guard_after_step(g, View{66}, 0, 64), (GuardState{View{130}, 0}));
  // Recovery done: the floor drops and becomes a reservation of its own.
  GuardState w{std::nullopt, kSignNothing};
  EXPECT_EQ(guard_after_step(w, std::nullopt, 12, 64), (GuardState{View{12}, 12}));
  EXPECT_EQ(guard_after_step(w, View{13}, 12, 64), (GuardState{View{77}, 12}));
}

TEST(SigningGuard, FileRoundTripAndFreshInit) {
  auto dir =
      std::filesystem::temp_directory_path() /
      ("guts-guard-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(load_guard(dir));
  init_fresh_guard(dir);
  EXPECT_EQ(load_guard(dir), (GuardState{View{0}, 0}));
  store_guard(dir, GuardState{View{200}, 64});
  EXPECT_EQ(load_guard(dir), (GuardState{View{200}, 64}));
  {
    std::FILE* f = std::fopen(guard_path(dir).c_str(), "w");
    std::fputs("garbage", f);
    std::fclose(f);
  }
  // A damaged guard is never trusted: recovery.
  EXPECT_EQ(load_guard(dir), (GuardState{std::nullopt, kSignNothing}));
  std::filesystem::remove_all(dir);
}

// The double vote the guard prevents: a validator nullified view 1, lost its journal, and then
// receives view 1's notarization. Without a floor it would sign finalize(1) next to its
// nullify(1); with the floor of a wiped node it signs nothing there.
TEST(SigningFloor, WipedEngineDoesNotFinalizeWhereItNullified) {
  Fixture fx(4);
  Proposal a = prop(1, 0, "a");
  {
    Engine old(fx.config(0));
    old.start(0);
    auto out = old.on_timer(1000);  // leader timeout in view 1
    auto votes = sent_votes(out);
    ASSERT_EQ(votes.size(), 1u);
    EXPECT_EQ(votes[0].kind, Kind::kNullify);
    EXPECT_EQ(out.signed_through, std::optional<View>(1));
  }
  auto run = [&](View floor) {
    Engine e(fx.config(0));  // empty journal
    e.set_signing_floor(floor);
    e.start(0);
    e.on_certificate(1, fx.pks[1], fx.cert(Kind::kNotarize, a, {1, 2, 3}));
    return sent_votes(e.on_certified(2, a.round, a.payload, true));
  };
  auto unguarded = run(0);
  ASSERT_EQ(unguarded.size(), 1u);
  EXPECT_EQ(unguarded[0].kind, Kind::kFinalize);  // would conflict with nullify(1)
  EXPECT_TRUE(run(kSignNothing).empty());
}

TEST(SigningFloor, NeverSignsAtOrBelowTheFloor) {
  Fixture fx(4);
  Engine e(fx.config(0));
  e.set_signing_floor(5);  // guard kept, journal lost: reserved 5
  auto out = e.start(0);
  EXPECT_TRUE(sent_votes(out).empty());
  // View 1: the leader's proposal is verified, but no notarize; the timeout signs no nullify.
  Proposal p1 = prop(1, 0, "b1");
  out = e.on_vote(1, fx.pks[1], fx.vote(1, Kind::kNotarize, p1));
  ASSERT_EQ(out.requests.size(), 1u);
  out = e.on_verified(2, p1.round, p1.payload, true);
  EXPECT_TRUE(sent_votes(out).empty());
  EXPECT_FALSE(out.signed_through);
  EXPECT_TRUE(sent_votes(e.on_timer(5000)).empty());
  // The notarization and its certification: no finalize either.
  e.on_certificate(10, fx.pks[2], fx.cert(Kind::kNotarize, p1, {1, 2, 3}));
  out = e.on_certified(11, p1.round, p1.payload, true);
  EXPECT_EQ(e.view(), 2u);
  EXPECT_TRUE(sent_votes(out).empty());
  // View 4 is ours to lead: no proposal at or below the floor.
  out = e.on_certificate(12, fx.pks[2], fx.cert(Kind::kNullify, null(3), {1, 2, 3}));
  EXPECT_EQ(e.view(), 4u);
  EXPECT_EQ(e.leader(4), 0u);
  for (const auto& r : out.requests) EXPECT_FALSE(std::holds_alternative<ProposeRequest>(r));
  // Above the floor it votes again, and says how far it signed.
  out = e.on_certificate(13, fx.pks[2], fx.cert(Kind::kNullify, null(5), {1, 2, 3}));
  EXPECT_EQ(e.view(), 6u);
  Proposal p6 = prop(6, 1, "b6");
  out = e.on_vote(14, fx.pks[2], fx.vote(2, Kind::kNotarize, p6));
  // Parent 1 is certified but views 2..5 need nullifications: 2 and 4 are missing; supply them.
  e.on_certificate(15, fx.pks[2], fx.cert(Kind::kNullify, null(2), {1, 2, 3}));
  out = e.on_certificate(16, fx.pks[2], fx.cert(Kind::kNullify, null(4), {1, 2, 3}));
  ASSERT_EQ(out.requests.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<VerifyRequest>(out.requests[0]));
  out = e.on_verified(17, p6.round, p6.payload, true);
  auto votes = sent_votes(out);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].kind, Kind::kNotarize);
  EXPECT_EQ(votes[0].view(), 6u);
  EXPECT_EQ(out.signed_through, std::optional<View>(6));
}

TEST(SigningFloor, RecoveryWaitsForTwoFPlusOneOthers) {
  Fixture fx(4);  // f = 1: three other validators must be heard
  Engine e(fx.config(0));
  e.set_signing_floor(kSignNothing);
  EXPECT_TRUE(e.observing());
  e.start(0);
  // Votes far ahead are observed (and a certificate fetched), but two voters are not enough.
  auto out = e.on_vote(1, fx.pks[1], fx.vote(1, Kind::kNullify, null(7)));
  out = e.on_vote(2, fx.pks[2], fx.vote(2, Kind::kNullify, null(7)));
  EXPECT_FALSE(out.signing_floor);
  EXPECT_TRUE(e.observing());
  // A finalize vote does not tell where its sender is: not counted as heard.
  out = e.on_vote(3, fx.pks[3], fx.vote(3, Kind::kFinalize, prop(6, 5, "x")));
  EXPECT_TRUE(e.observing());
  // Catching up through certificates signs nothing while observing.
  out = e.on_certificate(4, fx.pks[1], fx.cert(Kind::kNullify, null(6), {1, 2, 3}));
  EXPECT_EQ(e.view(), 7u);
  EXPECT_TRUE(sent_votes(e.on_timer(100000)).empty());
  // A forged vote (bad signature) is not an observation and gets its sender blocked.
  Vote forged = fx.vote(3, Kind::kNullify, null(7));
  forged.signature[5] ^= 1;
  out = e.on_vote(5, fx.pks[3], forged);
  ASSERT_EQ(out.block.size(), 1u);
  EXPECT_TRUE(e.observing());
  Engine r(fx.config(0));
  r.set_signing_floor(kSignNothing);
  r.start(0);
  r.on_vote(1, fx.pks[1], fx.vote(1, Kind::kNullify, null(7)));
  r.on_vote(2, fx.pks[2], fx.vote(2, Kind::kNullify, null(7)));
  out = r.on_vote(3, fx.pks[3], fx.vote(3, Kind::kNotarize, prop(7, 6, "b7")));
  // The third voter: the floor becomes the highest view observed + 1.
  EXPECT_FALSE(r.observing());
  EXPECT_EQ(out.signing_floor, std::optional<View>(8));
  EXPECT_EQ(r.signing_floor(), 8u);
  // Views 7 and 8 stay unsigned; 9 is signed.
  r.on_certificate(4, fx.pks[1], fx.cert(Kind::kNullify, null(6), {1, 2, 3}));
  EXPECT_EQ(r.view(), 7u);
  EXPECT_TRUE(sent_votes(r.on_timer(100000)).empty());
  r.on_certificate(5, fx.pks[1], fx.cert(Kind::kNullify, null(7), {1, 2, 3}));
  EXPECT_EQ(r.view(), 8u);
  EXPECT_TRUE(sent_votes(r.on_timer(200000)).empty());
  r.on_certificate(6, fx.pks[1], fx.cert(Kind::kNullify, null(8), {1, 2, 3}));
  EXPECT_EQ(r.view(), 9u);
  auto votes = sent_votes(r.on_timer(300000));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].kind, Kind::kNullify);
  EXPECT_EQ(votes[0].view(), 9u);
}

TEST(SigningFloor, SingleValidatorCannotRecoverAlone) {
  Fixture fx(1);
  Engine e(fx.config(0));
  e.set_signing_floor(kSignNothing);
  EXPECT_FALSE(e.observing());  // nobody to observe
  auto out = e.start(0);
  EXPECT_TRUE(out.requests.empty());  // no proposal
  EXPECT_TRUE(sent_votes(e.on_timer(5000)).empty());
  EXPECT_FALSE(e.on_timer(5000).signed_through);
}
