// Placeholder identities of migrated items (state/placeholder.h): kinds 65-66, their codec,
// validity rules, "no partial effect", the origin-line parser and who a migrated item is shown
// as (state::claimed_author).
#include <gtest/gtest.h>

#include "codec/codec.h"
#include "state/executor.h"
#include "state/placeholder_state.h"
#include "state/view.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

constexpr const char* kProof = "https://gist.example.org/monalisa/1";
const std::string kIssueBody =
    "> Migrated from https://github.com/octo/hello/issues/5 · issue by @monalisa (github.com) on "
    "2020-01-02T03:04:05Z\n\nThe body.";

struct Env : ExecEnv {
  crypto::SigningKey alice = key(1), bob = key(2), carol = key(3), mallory = key(4);
  uint64_t repo = 0;

  Env() : ExecEnv("placeholder") {
    ok(alice, RegisterUser{"alice"});  // owner of the repository; she migrated it
    ok(bob, RegisterUser{"bob"});      // monalisa on github.com
    ok(carol, RegisterUser{"carol"});  // a writer
    ok(mallory, RegisterUser{"mallory"});
    ok(alice, CreateRepo{"hello", "", false, "main"});
    repo = view().repo_by_name(alice.public_key(), "hello")->id;
  }
  ConfirmPlaceholder confirm(const crypto::PublicKey& claimant) const {
    return {repo, "github.com", "monalisa", claimant, alice.public_key(), true};
  }
};

}  // namespace

TEST(Placeholder, KindsSixtyFiveAndSixtySixRoundTrip) {
  ClaimPlaceholder c{"github.com", "monalisa", kProof, false};
  EXPECT_EQ(static_cast<int>(kind_of(c)), 65);
  EXPECT_STREQ(tx_kind_name(TxKind::kClaimPlaceholder), "claim_placeholder");
  auto c2 = std::get<ClaimPlaceholder>(decode_body(TxKind::kClaimPlaceholder, encode_body(c)));
  EXPECT_EQ(c2.host, c.host);
  EXPECT_EQ(c2.login, c.login);
  EXPECT_EQ(c2.proof_url, c.proof_url);
  EXPECT_FALSE(c2.withdraw);

  ConfirmPlaceholder k{
      9, "ghe.example.org:8443", "mona", key(7).public_key(), key(8).public_key(), true};
  EXPECT_EQ(static_cast<int>(kind_of(k)), 66);
  EXPECT_STREQ(tx_kind_name(TxKind::kConfirmPlaceholder), "confirm_placeholder");
  Bytes enc = encode_body(k);
  auto k2 = std::get<ConfirmPlaceholder>(decode_body(TxKind::kConfirmPlaceholder, enc));
  EXPECT_EQ(k2.repo_id, 9u);
  EXPECT_EQ(k2.host, k.host);
  EXPECT_EQ(k2.claimant, k.claimant);
  EXPECT_EQ(k2.migrator, k.migrator);
  enc.push_back(0);
  EXPECT_THROW(decode_body(TxKind::kConfirmPlaceholder, enc), codec::DecodeError);
  // Over the bounds.
  ClaimPlaceholder big{std::string(kMaxPlaceholderHost + 1, 'a'), "x", kProof, false};
  EXPECT_THROW(decode_body(TxKind::kClaimPlaceholder, encode_body(big)), codec::DecodeError);
}

TEST(Placeholder, OriginLineParser) {
  auto o = parse_origin_author(kIssueBody);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->host, "github.com");
  EXPECT_EQ(o->login, "monalisa");
  auto p = parse_origin_author(
      "> Migrated from http://127.0.0.1:8080/a/b/pull/2#discussion_r7 · review comment by @x-y "
      "(127.0.0.1:8080) on 2021-01-01T00:00:00Z · reply");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "127.0.0.1:8080");
  EXPECT_EQ(p->login, "x-y");
  // Not an origin line: not first, malformed, bad names, too long.
  EXPECT_FALSE(parse_origin_author("hello\n" + kIssueBody));
  EXPECT_FALSE(parse_origin_author("> Migrated from URL · issue by monalisa (github.com) on D"));
  EXPECT_FALSE(parse_origin_author("> Migrated from URL · issue by @mona lisa (github.com) on D"));
  EXPECT_FALSE(parse_origin_author("> Migrated from URL · issue by @m (GitHub.com) on D"));
  EXPECT_FALSE(parse_origin_author("> Migrated from " + std::string(5000, 'u') +
                                   " · issue by @m (github.com) on D"));
  EXPECT_FALSE(parse_origin_author(""));
}

TEST(Placeholder, ClaimConfirmAndShow) {
  Env e;
  const auto alice = e.alice.public_key(), bob = e.bob.public_key();
  // Before anything: shown as the migrator.
  EXPECT_FALSE(claimed_author(e.view(), e.repo, alice, kIssueBody));

  e.ok(e.bob, ClaimPlaceholder{"github.com", "monalisa", kProof, false});
  auto claims = placeholder_claims(e.view(), "github.com", "monalisa");
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].first, bob);
  EXPECT_EQ(claims[0].second.proof_url, kProof);
  // A claim alone changes nothing that is shown.
  EXPECT_FALSE(claimed_author(e.view(), e.repo, alice, kIssueBody));

  e.ok(e.alice, e.confirm(bob));
  auto shown = claimed_author(e.view(), e.repo, alice, kIssueBody);
  ASSERT_TRUE(shown);
  EXPECT_EQ(*shown, bob);
  auto list = placeholder_confirmations(e.view(), e.repo);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].host, "github.com");
  EXPECT_EQ(list[0].login, "monalisa");
  EXPECT_EQ(list[0].confirmation.confirmed_by, alice);

  // The same text written by anyone but the migrator is not re-attributed.
  EXPECT_FALSE(claimed_author(e.view(), e.repo, e.carol.public_key(), kIssueBody));
  // Nor in another repository, nor another placeholder.
  EXPECT_FALSE(claimed_author(e.view(), e.repo + 1, alice, kIssueBody));
  std::string other = kIssueBody;
  other.replace(other.find("@monalisa"), 9, "@octocat");
  EXPECT_FALSE(claimed_author(e.view(), e.repo, alice, other));

  // Withdrawing the claim stops the re-attribution at once.
  e.ok(e.bob, ClaimPlaceholder{"github.com", "monalisa", "", true});
  EXPECT_FALSE(claimed_author(e.view(), e.repo, alice, kIssueBody));
  // The admin removes the confirmation.
  e.ok(e.alice, ConfirmPlaceholder{e.repo, "github.com", "monalisa", {}, {}, false});
  EXPECT_TRUE(placeholder_confirmations(e.view(), e.repo).empty());
}

TEST(Placeholder, RulesRejectWithoutEffect) {
  Env e;
  const auto bob = e.bob.public_key(), mallory = e.mallory.public_key();
  e.ok(e.bob, ClaimPlaceholder{"github.com", "monalisa", kProof, false});
  auto before = e.state.digest();
  // Claims: names, proof URL, duplicates, withdrawing what one does not claim.
  EXPECT_EQ(e.as(e.mallory, ClaimPlaceholder{"GitHub.com", "monalisa", kProof, false}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(e.as(e.mallory, ClaimPlaceholder{"github.com", "mona/lisa", kProof, false}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(e.as(e.mallory, ClaimPlaceholder{"github.com", "monalisa", "ftp://x", false}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(
      e.as(e.mallory, ClaimPlaceholder{"github.com", "monalisa", "https://a b", false}).code(),
      Code::kInvalidArgument);
  EXPECT_EQ(e.as(e.bob, ClaimPlaceholder{"github.com", "monalisa", kProof, false}).code(),
            Code::kAlreadyExists);
  EXPECT_EQ(e.as(e.mallory, ClaimPlaceholder{"github.com", "monalisa", "", true}).code(),
            Code::kNotFound);
  // Confirmations: admin only (a writer is denied), an existing claim by that claimant, a
  // registered migrator, an existing repository.
  e.ok(e.alice, SetCollaborator{e.repo, e.carol.public_key(), 3});  // write
  before = e.state.digest();
  EXPECT_EQ(e.as(e.carol, e.confirm(bob)).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.as(e.alice, e.confirm(mallory)).code(), Code::kNotFound);  // mallory has no claim
  auto bad = e.confirm(bob);
  bad.migrator = key(99).public_key();
  EXPECT_EQ(e.as(e.alice, bad).code(), Code::kInvalidArgument);
  auto gone = e.confirm(bob);
  gone.repo_id += 100;
  EXPECT_EQ(e.as(e.alice, gone).code(), Code::kNotFound);
  EXPECT_EQ(
      e.as(e.alice, ConfirmPlaceholder{e.repo, "github.com", "monalisa", {}, {}, false}).code(),
      Code::kNotFound);
  EXPECT_EQ(e.state.digest(), before);
  // Two people may claim the same placeholder; the admin picks whom to confirm.
  e.ok(e.mallory, ClaimPlaceholder{"github.com", "monalisa", "https://evil.example/x", false});
  EXPECT_EQ(placeholder_claims(e.view(), "github.com", "monalisa").size(), 2u);
  e.ok(e.alice, e.confirm(bob));
  EXPECT_EQ(*claimed_author(e.view(), e.repo, e.alice.public_key(), kIssueBody), bob);
}
