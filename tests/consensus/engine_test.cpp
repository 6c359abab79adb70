// The engine driven by hand: every input, output and invariant without a network.
#include "consensus/engine.h"

#include <gtest/gtest.h>

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

std::vector<Vote> sent_votes(const Output& o) {
  std::vector<Vote> out;
  for (const auto& s : o.sends) {
    if (s.channel == Channel::kVote) out.push_back(decode_vote(s.payload));
  }
  return out;
}
std::vector<Certificate> sent_certs(const Output& o) {
  std::vector<Certificate> out;
  for (const auto& s : o.sends) {
    if (s.channel == Channel::kCertificate) out.push_back(decode_certificate(s.payload));
  }
  return out;
}

// Answers the application requests of `o` at once (propose → digest of the view), returning
// the accumulated outputs. Bounded: with n = 1 every answer leads to the next view.
Output answer_all(Engine& e, Output o, Time now, std::vector<Finalized>* finalized,
                  std::vector<Bytes>* journal = nullptr, size_t max_steps = 12) {
  Output all;
  std::vector<Output> queue{std::move(o)};
  for (size_t steps = 0; !queue.empty() && steps < max_steps; ++steps) {
    Output cur = std::move(queue.back());
    queue.pop_back();
    for (const auto& r : cur.reports) {
      if (auto* f = std::get_if<Finalized>(&r); f && finalized) finalized->push_back(*f);
    }
    if (journal) {
      for (const auto& r : cur.journal) journal->push_back(r.bytes);
    }
    for (const auto& req : cur.requests) {
      if (auto* p = std::get_if<ProposeRequest>(&req)) {
        queue.push_back(e.on_proposed(now, p->context.round,
                                      crypto::sha256(std::to_string(p->context.round.view))));
      } else if (auto* v = std::get_if<VerifyRequest>(&req)) {
        queue.push_back(e.on_verified(now, v->context.round, v->payload, true));
      } else if (auto* c = std::get_if<CertifyRequest>(&req)) {
        queue.push_back(e.on_certified(now, c->round, c->payload, true));
      }
    }
    for (auto& s : cur.sends) all.sends.push_back(std::move(s));
    for (auto& b : cur.block) all.block.push_back(b);
    for (auto& r : cur.reports) all.reports.push_back(std::move(r));
    for (auto& j : cur.journal) all.journal.push_back(std::move(j));
  }
  return all;
}

}  // namespace

TEST(Engine, SingleValidatorFinalizesEveryView) {
  Fixture fx(1);
  Engine e(fx.config(0));
  std::vector<Finalized> fin;
  std::vector<Bytes> journal;
  answer_all(e, e.start(0), 0, &fin, &journal, 60);
  // Each finalization leads straight into the next view's proposal (no timers involved).
  ASSERT_GE(fin.size(), 10u) << "stalled at view " << e.view();
  fin.resize(10);
  for (size_t i = 0; i < fin.size(); ++i) {
    EXPECT_EQ(fin[i].proposal.round.view, i + 1);
    EXPECT_EQ(fin[i].proposal.parent, i);
    EXPECT_FALSE(fin[i].implied);
    EXPECT_EQ(fin[i].certificate.signers.size(), 1u);
  }
  EXPECT_EQ(fin[0].proposal.payload, crypto::sha256("1"));
  // The journal holds notarize, notarization, certification, finalize, finalization per view.
  EXPECT_GE(journal.size(), 50u);
}

TEST(Engine, NonLeaderVotesAfterVerifyAndFinalizesAfterCertify) {
  Fixture fx(4);
  Engine e(fx.config(0));  // view 1's leader is 1
  EXPECT_EQ(e.leader(1), 1u);
  auto out = e.start(0);
  EXPECT_EQ(e.view(), 1u);
  ASSERT_TRUE(out.timer);
  EXPECT_EQ(*out.timer, 1000u);  // leader timeout
  Proposal p = prop(1, 0, "b1");
  out = e.on_vote(10, fx.pks[1], fx.vote(1, Kind::kNotarize, p));
  ASSERT_EQ(out.requests.size(), 1u);
  auto* vr = std::get_if<VerifyRequest>(&out.requests[0]);
  ASSERT_TRUE(vr);
  EXPECT_EQ(vr->context.parent_view, 0u);
  EXPECT_EQ(vr->context.parent_payload, crypto::sha256("genesis"));
  EXPECT_TRUE(sent_votes(out).empty());
  out = e.on_verified(11, p.round, p.payload, true);
  auto votes = sent_votes(out);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].kind, Kind::kNotarize);
  EXPECT_EQ(out.journal.size(), 1u);  // journaled, to be synced before the send
  // Third notarize → notarization (broadcast once) → certify request; no view change yet.
  out = e.on_vote(12, fx.pks[2], fx.vote(2, Kind::kNotarize, p));
  ASSERT_EQ(sent_certs(out).size(), 1u);
  EXPECT_EQ(e.view(), 1u);
  ASSERT_EQ(out.requests.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<CertifyRequest>(out.requests[0]));
  out = e.on_certified(13, p.round, p.payload, true);
  EXPECT_EQ(e.view(), 2u);
  votes = sent_votes(out);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].kind, Kind::kFinalize);
  // The same notarization again is neither re-verified nor re-broadcast.
  out = e.on_certificate(14, fx.pks[3], fx.cert(Kind::kNotarize, p, {1, 2, 3}));
  EXPECT_TRUE(out.sends.empty());
  EXPECT_TRUE(out.block.empty());
  out = e.on_vote(15, fx.pks[1], fx.vote(1, Kind::kFinalize, p));
  out = e.on_vote(16, fx.pks[2], fx.vote(2, Kind::kFinalize, p));
  ASSERT_EQ(out.reports.size(), 1u);
  EXPECT_EQ(std::get<Finalized>(out.reports[0]).proposal, p);
  EXPECT_EQ(e.last_finalized(), 1u);
}

TEST(Engine, CertifyFalseNullifiesAndRefusesToBuildOnIt) {
  Fixture fx(4);
  Engine e(fx.config(0));
  e.start(0);
  Proposal p = prop(1, 0, "bad");
  e.on_certificate(5, fx.pks[1], fx.cert(Kind::kNotarize, p, {1, 2, 3}));
  auto out = e.on_certified(6, p.round, p.payload, false);
  auto votes = sent_votes(out);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].kind, Kind::kNullify);
  EXPECT_EQ(e.view(), 1u);
  // Nullification of 1 → view 2 (leader 2); a proposal on the uncertified parent 1 is invalid:
  // immediate nullify, never a notarize.
  e.on_certificate(7, fx.pks[1], fx.cert(Kind::kNullify, p, {1, 2, 3}));
  EXPECT_EQ(e.view(), 2u);
  out = e.on_vote(8, fx.pks[2], fx.vote(2, Kind::kNotarize, prop(2, 1, "child")));
  votes = sent_votes(out);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].kind, Kind::kNullify);
  EXPECT_TRUE(out.requests.empty());
}

TEST(Engine, TimeoutNullifiesAndRetryCarriesEntryCertificate) {
  Fixture fx(4);
  Config c = fx.config(0);
  Engine e(std::move(c));
  e.start(0);
  Proposal p = prop(1, 0, "b");
  e.on_certificate(1, fx.pks[1], fx.cert(Kind::kNullify, p, {1, 2, 3}));
  EXPECT_EQ(e.view(), 2u);
  auto out = e.on_timer(999);
  EXPECT_TRUE(out.sends.empty());
  out = e.on_timer(1001);  // leader deadline of view 2 (entered at t=1)
  auto votes = sent_votes(out);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].kind, Kind::kNullify);
  EXPECT_EQ(votes[0].view(), 2u);
  ASSERT_TRUE(out.timer);
  EXPECT_EQ(*out.timer, 1001u + 10000u);
  out = e.on_timer(11001);
  votes = sent_votes(out);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].kind, Kind::kNullify);
  auto certs = sent_certs(out);
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(certs[0].kind, Kind::kNullify);  // entry certificate: nullification(1)
  EXPECT_EQ(certs[0].view(), 1u);
  EXPECT_TRUE(out.journal.empty());  // nothing new to persist
}

TEST(Engine, LeadersOwnNullifyIsAnImmediateTimeout) {
  Fixture fx(4);
  Engine e(fx.config(0));
  e.start(0);
  auto out = e.on_vote(3, fx.pks[1], fx.vote(1, Kind::kNullify, prop(1, 0, "")));
  auto votes = sent_votes(out);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].kind, Kind::kNullify);
}

TEST(Engine, FutureCertificatesJumpVotesBeyondNextViewIgnored) {
  Fixture fx(4);
  Engine e(fx.config(0));
  e.start(0);
  auto out = e.on_vote(1, fx.pks[2], fx.vote(2, Kind::kNullify, prop(5, 0, "")));
  EXPECT_TRUE(out.block.empty());
  EXPECT_EQ(e.view(), 1u);
  // The sender is ahead: the engine asks it for a certificate for our view.
  ASSERT_EQ(out.sends.size(), 1u);
  EXPECT_EQ(out.sends[0].channel, Channel::kResolver);
  EXPECT_EQ(out.sends[0].to, std::optional<uint32_t>(2));
  EXPECT_EQ(decode_resolver(out.sends[0].payload).view, 1u);
  // A finalization at view 7 moves us to 8 at once and is reported.
  Proposal p7 = prop(7, 6, "b7");
  out = e.on_certificate(2, fx.pks[3], fx.cert(Kind::kFinalize, p7, {0, 1, 3}));
  EXPECT_EQ(e.view(), 8u);
  EXPECT_EQ(e.last_finalized(), 7u);
  ASSERT_EQ(out.reports.size(), 1u);
  // Old votes (at or below the floor) are dropped, never punished.
  out = e.on_vote(3, fx.pks[1], fx.vote(1, Kind::kFinalize, prop(3, 2, "x")));
  EXPECT_TRUE(out.block.empty());
  EXPECT_TRUE(out.sends.empty());
}

TEST(Engine, ResolverServesFinalizationThenCertifiedNotarizationThenNullification) {
  Fixture fx(4);
  Engine e(fx.config(0));
  e.start(0);
  Proposal p1 = prop(1, 0, "b1");
  e.on_certificate(1, fx.pks[1], fx.cert(Kind::kNotarize, p1, {1, 2, 3}));
  e.on_certified(2, p1.round, p1.payload, true);
  e.on_certificate(3, fx.pks[1], fx.cert(Kind::kNullify, prop(2, 0, ""), {1, 2, 3}));
  auto ask = [&](View v) {
    ResolverMessage m;
    m.id = 42;
    m.view = v;
    auto out = e.on_message(4, fx.pks[2], Channel::kResolver, encode_resolver(m));
    EXPECT_EQ(out.sends.size(), 1u);
    auto r = decode_resolver(out.sends.at(0).payload);
    EXPECT_EQ(r.id, 42u);
    return r;
  };
  auto r1 = ask(1);
  ASSERT_EQ(r1.type, ResolverMessage::Type::kResponse);
  EXPECT_EQ(decode_certificate(r1.certificate).kind, Kind::kNotarize);
  auto r2 = ask(2);
  ASSERT_EQ(r2.type, ResolverMessage::Type::kResponse);
  EXPECT_EQ(decode_certificate(r2.certificate).kind, Kind::kNullify);
  EXPECT_EQ(ask(9).type, ResolverMessage::Type::kError);
  // An invalid response gets the responder blocked.
  ResolverMessage bad;
  bad.type = ResolverMessage::Type::kResponse;
  Certificate c = fx.cert(Kind::kNullify, prop(5, 0, ""), {1, 2, 3});
  c.signatures[0][3] ^= 1;
  bad.certificate = encode_certificate(c);
  auto out = e.on_message(5, fx.pks[3], Channel::kResolver, encode_resolver(bad));
  ASSERT_EQ(out.block.size(), 1u);
  EXPECT_EQ(out.block[0], fx.pks[3]);
}

// A view can be both notarized and nullified. Holding its notarization must not stop the
// engine fetching its nullification when a proposal skips it (and the other way round), and a
// resolver serves every certificate it holds for the view (whole-node simulator, seed 8419).
TEST(Engine, FetchesTheCertificateAProposalNeedsNotJustAny) {
  Fixture fx(4);
  Engine e(fx.config(0));
  e.start(0);
  Proposal p1 = prop(1, 0, "b1");
  e.on_certificate(1, fx.pks[1], fx.cert(Kind::kNotarize, p1, {1, 2, 3}));
  e.on_certified(2, p1.round, p1.payload, true);
  ASSERT_EQ(e.view(), 2u);
  ASSERT_EQ(e.leader(2), 2u);
  // View 2's leader skips view 1: the proposal needs nullification(1), which we lack.
  auto out = e.on_vote(3, fx.pks[2], fx.vote(2, Kind::kNotarize, prop(2, 0, "skip")));
  EXPECT_TRUE(out.requests.empty());
  std::vector<View> asked;
  for (const auto& s : out.sends) {
    if (s.channel == Channel::kResolver) asked.push_back(decode_resolver(s.payload).view);
  }
  ASSERT_EQ(asked, std::vector<View>{1});
  // The nullification arrives: the proposal is verified.
  out = e.on_certificate(4, fx.pks[3], fx.cert(Kind::kNullify, prop(1, 0, ""), {1, 2, 3}));
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<VerifyRequest>(out.requests[0]));
  // Asked for view 1, we now serve both of its certificates.
  ResolverMessage m;
  m.id = 7;
  m.view = 1;
  out = e.on_message(5, fx.pks[1], Channel::kResolver, encode_resolver(m));
  std::vector<Kind> kinds;
  for (const auto& s : out.sends) {
    auto r = decode_resolver(s.payload);
    ASSERT_EQ(r.type, ResolverMessage::Type::kResponse);
    EXPECT_EQ(r.id, 7u);
    kinds.push_back(decode_certificate(r.certificate).kind);
  }
  EXPECT_EQ(kinds, (std::vector<Kind>{Kind::kNotarize, Kind::kNullify}));
}

TEST(Engine, MisbehaviourIsBlockedWithEvidence) {
  Fixture fx(4);
  Engine e(fx.config(0));
  e.start(0);
  Proposal a = prop(1, 0, "a"), b = prop(1, 0, "b");
  // Forged signer: node 3 sends a vote claiming to be node 2.
  auto out = e.on_vote(1, fx.pks[3], fx.vote(2, Kind::kNotarize, a));
  ASSERT_EQ(out.block.size(), 1u);
  EXPECT_EQ(out.block[0], fx.pks[3]);
  // Corrupt signature.
  Vote bad = fx.vote(2, Kind::kNotarize, a);
  bad.signature[0] ^= 1;
  out = e.on_vote(2, fx.pks[2], bad);
  ASSERT_EQ(out.block.size(), 1u);
  // Undecodable bytes.
  Engine e2(fx.config(0));
  e2.start(0);
  out = e2.on_message(1, fx.pks[1], Channel::kVote, Bytes{9, 9});
  ASSERT_EQ(out.block.size(), 1u);
  // Conflicting notarize from the leader: evidence + block.
  out = e2.on_vote(2, fx.pks[1], fx.vote(1, Kind::kNotarize, a));
  out = e2.on_vote(3, fx.pks[1], fx.vote(1, Kind::kNotarize, b));
  EXPECT_TRUE(out.block.empty());  // already blocked by the decode error above
  Engine e3(fx.config(0));
  e3.start(0);
  e3.on_vote(2, fx.pks[1], fx.vote(1, Kind::kNotarize, a));
  out = e3.on_vote(3, fx.pks[1], fx.vote(1, Kind::kNotarize, b));
  ASSERT_EQ(out.reports.size(), 1u);
  auto f = std::get<Fault>(out.reports[0]);
  EXPECT_EQ(f.kind, FaultKind::kConflictingNotarize);
  EXPECT_EQ(f.signer, 1u);
  ASSERT_EQ(out.block.size(), 1u);
  // Finalize then nullify in one view by node 2.
  e3.on_vote(4, fx.pks[2], fx.vote(2, Kind::kFinalize, a));
  out = e3.on_vote(5, fx.pks[2], fx.vote(2, Kind::kNullify, a));
  ASSERT_EQ(out.reports.size(), 1u);
  EXPECT_EQ(std::get<Fault>(out.reports[0]).kind, FaultKind::kNullifyFinalize);
  // Another epoch's vote is dropped, not punished: an honest validator sends those for a moment
  // at an epoch boundary (docs/consensus.md §10).
  Proposal other_epoch{Round{3, 1}, 0, crypto::sha256("e")};
  out = e3.on_vote(6, fx.pks[3], fx.vote(3, Kind::kNotarize, other_epoch));
  EXPECT_TRUE(out.block.empty());
  EXPECT_FALSE(e3.is_blocked(3));
  EXPECT_TRUE(out.reports.empty());
}

TEST(Engine, ReplayRestoresVotesSoNoConflictingVoteIsSigned) {
  Fixture fx(4);
  std::vector<Bytes> journal;
  Proposal a = prop(1, 0, "a");
  {
    Engine e(fx.config(0));
    e.start(0);
    auto out = e.on_vote(1, fx.pks[1], fx.vote(1, Kind::kNotarize, a));
    out = e.on_verified(2, a.round, a.payload, true);
    for (auto& r : out.journal) journal.push_back(r.bytes);
    ASSERT_EQ(journal.size(), 1u);
  }
  Engine e(fx.config(0));
  for (const auto& r : journal) e.replay(r);
  auto out = e.start(100);
  // It re-sends the same notarize (safe), ...
  auto votes = sent_votes(out);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].proposal, a);
  // ... and after a crash a leader relaying another payload gets no second notarize.
  out = e.on_vote(101, fx.pks[1], fx.vote(1, Kind::kNotarize, prop(1, 0, "b")));
  EXPECT_TRUE(sent_votes(out).empty());
  // Nullify after notarize is allowed; finalize after nullify is not.
  EXPECT_TRUE(sent_votes(e.on_timer(100 + 1000)).empty());  // proposal known: no leader timeout
  out = e.on_timer(100 + 2000);                             // certification timeout
  votes = sent_votes(out);
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].kind, Kind::kNullify);
  e.on_certificate(2200, fx.pks[2], fx.cert(Kind::kNotarize, a, {1, 2, 3}));
  out = e.on_certified(2201, a.round, a.payload, true);
  EXPECT_EQ(e.view(), 2u);
  EXPECT_TRUE(sent_votes(out).empty());  // no finalize in a view we nullified
}

TEST(Engine, RejectsInconsistentConfig) {
  Fixture fx(4);
  Config c = fx.config(0);
  c.leader_timeout = 3000;  // > certification_timeout
  EXPECT_THROW(Engine{c}, Error);
  Fixture other(5);
  Config d = fx.config(0);
  d.key = other.keys[4];
  EXPECT_THROW(Engine{d}, Error);
}
