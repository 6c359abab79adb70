// Private repositories' seeds (state/repo_seeds.h): kind 42, its codec, its validity rules
// (admin through effective_permission, valid sorted keys, bound) and "no partial effect".
#include <gtest/gtest.h>

#include <algorithm>

#include "codec/codec.h"
#include "state/executor.h"
#include "state/repo_seeds_state.h"
#include "state/view.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::state;
using namespace guts::state::testing;

namespace {

struct Env : ExecEnv {
  crypto::SigningKey alice = key(1), bob = key(2), carol = key(3);
  uint64_t repo = 0;

  Env() : ExecEnv("seeds") {
    ok(alice, RegisterUser{"alice"});
    ok(bob, RegisterUser{"bob"});
    ok(carol, RegisterUser{"carol"});
    ok(alice, CreateRepo{"secret", "", true, "main"});
    repo = view().repo_by_name(alice.public_key(), "secret")->id;
  }
};

std::vector<crypto::PublicKey> sorted(std::vector<crypto::PublicKey> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST(RepoSeeds, KindFortyTwoRoundTripsCanonically) {
  SetRepoSeeds b{7, sorted({key(9).public_key(), key(8).public_key()})};
  EXPECT_EQ(static_cast<int>(kind_of(b)), 42);
  EXPECT_STREQ(tx_kind_name(TxKind::kSetRepoSeeds), "set_repo_seeds");
  Bytes enc = encode_body(b);
  auto back = std::get<SetRepoSeeds>(decode_body(TxKind::kSetRepoSeeds, enc));
  EXPECT_EQ(back.repo_id, 7u);
  EXPECT_EQ(back.seeds, b.seeds);
  // Unsorted or repeated keys are not canonical; trailing bytes are rejected.
  SetRepoSeeds rev{7, {b.seeds[1], b.seeds[0]}};
  EXPECT_THROW(decode_body(TxKind::kSetRepoSeeds, encode_body(rev)), codec::DecodeError);
  SetRepoSeeds dup{7, {b.seeds[0], b.seeds[0]}};
  EXPECT_THROW(decode_body(TxKind::kSetRepoSeeds, encode_body(dup)), codec::DecodeError);
  enc.push_back(0);
  EXPECT_THROW(decode_body(TxKind::kSetRepoSeeds, enc), codec::DecodeError);
  // Over the bound.
  std::vector<crypto::PublicKey> many;
  for (int i = 0; i <= static_cast<int>(kMaxRepoSeeds); ++i) {
    crypto::PublicKey k{};
    k[0] = static_cast<uint8_t>(i);
    k[1] = 1;
    many.push_back(k);
  }
  EXPECT_THROW(decode_body(TxKind::kSetRepoSeeds, encode_body(SetRepoSeeds{7, many})),
               codec::DecodeError);
}

TEST(RepoSeeds, AdminReplacesTheListAndOthersCannot) {
  Env e;
  auto n1 = key(20).public_key(), n2 = key(21).public_key(), n3 = key(22).public_key();
  e.ok(e.alice, SetRepoSeeds{e.repo, sorted({n1, n2})});
  EXPECT_EQ(repo_seeds(e.view(), e.repo), sorted({n1, n2}));
  EXPECT_TRUE(is_repo_seed(e.view(), e.repo, n1));
  EXPECT_FALSE(is_repo_seed(e.view(), e.repo, n3));
  // Replaces, not appends.
  e.ok(e.alice, SetRepoSeeds{e.repo, {n3}});
  EXPECT_EQ(repo_seeds(e.view(), e.repo), std::vector<crypto::PublicKey>{n3});
  EXPECT_FALSE(is_repo_seed(e.view(), e.repo, n1));

  // bob: no access to the private repository -> not found (no existence leak); with write ->
  // denied; with admin -> allowed.
  auto before = e.state.digest();
  EXPECT_EQ(e.as(e.bob, SetRepoSeeds{e.repo, {n1}}).code(), Code::kNotFound);
  e.ok(e.alice, SetCollaborator{e.repo, e.bob.public_key(), 3});  // write
  before = e.state.digest();
  EXPECT_EQ(e.as(e.bob, SetRepoSeeds{e.repo, {n1}}).code(), Code::kPermissionDenied);
  EXPECT_EQ(e.state.digest(), before);
  e.ok(e.alice, SetCollaborator{e.repo, e.bob.public_key(), 5});  // admin
  e.ok(e.bob, SetRepoSeeds{e.repo, {}});
  EXPECT_TRUE(repo_seeds(e.view(), e.repo).empty());
}

TEST(RepoSeeds, BadInputHasNoEffect) {
  Env e;
  auto n1 = key(20).public_key();
  e.ok(e.alice, SetRepoSeeds{e.repo, {n1}});
  auto before = e.state.digest();
  EXPECT_EQ(e.as(e.alice, SetRepoSeeds{e.repo + 100, {n1}}).code(), Code::kNotFound);
  crypto::PublicKey bad{};  // the all-zero key is not a valid point
  EXPECT_EQ(e.as(e.alice, SetRepoSeeds{e.repo, {bad}}).code(), Code::kInvalidArgument);
  auto n2 = key(21).public_key();
  auto pair = sorted({n1, n2});
  EXPECT_EQ(e.as(e.alice, SetRepoSeeds{e.repo, {pair[1], pair[0]}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(e.state.digest(), before);
  EXPECT_EQ(repo_seeds(e.view(), e.repo), std::vector<crypto::PublicKey>{n1});
}
