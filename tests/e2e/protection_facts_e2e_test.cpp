// Branch-protection rules that need git facts (docs/governance.md "Git facts"), with the stock
// git client against a real node: unsigned commits and merge commits are refused with the
// message git prints, and a non-fast-forward ref update that does not claim to be forced (a
// transaction signed by the user and submitted directly, bypassing the node's own check) is
// still refused: the state machine detects the force push from the objects.
#include "core/time.h"
#include "crypto/did.h"
#include "crypto/keyfile.h"
#include "state/tx.h"
#include "tests/e2e/e2e_fixture.h"

namespace guts::e2e {
namespace {

using ::testing::HasSubstr;

// A signed commit (SSH signature, git's gpg.format=ssh) of `file` in `repo`.
std::string signed_commit(const User& u, const fs::path& repo, const fs::path& key,
                          const std::string& file, const std::string& message) {
  write_file(repo / file, message + "\n");
  auto r = u.git({"add", file}, repo);
  if (!r.ok()) throw std::runtime_error("git add: " + r.both());
  r = u.git({"-c", "gpg.format=ssh", "-c", "user.signingkey=" + key.string(), "commit", "-q", "-S",
             "-m", message},
            repo);
  if (!r.ok()) throw std::runtime_error("git commit -S: " + r.both());
  return rev_parse(u, repo, "HEAD");
}

TEST_F(GitE2E, ProtectedBranchRefusesUnsignedMergeCommitsAndUnclaimedForcePushes) {
  uint64_t repo_id = create_repo(*alice_, "facts");
  auto a = local_repo(*alice_, "a");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "facts")}, a).ok());
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "main"}, a).ok());
  const std::string initial = rev_parse(*alice_, a, "HEAD");
  auto key = dir("signing-key");
  auto kg = run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", key.string()});
  ASSERT_TRUE(kg.ok()) << kg.both();

  std::string out;
  ASSERT_EQ(alice_->api("PUT", "/api/v3/repos/alice/facts/branches/main/protection",
                        R"({"required_status_checks":null,"enforce_admins":true,
                            "required_pull_request_reviews":null,"restrictions":null,
                            "required_linear_history":true})",
                        &out),
            200)
      << out;
  ASSERT_EQ(
      alice_->api("POST", "/api/v3/repos/alice/facts/branches/main/protection/required_signatures",
                  "", &out),
      200)
      << out;

  // An unsigned commit.
  commit_file(*alice_, a, "unsigned.txt", "x\n", "unsigned");
  auto r = alice_->git({"push", "origin", "main"}, a);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(), HasSubstr("! [remote rejected] main -> main (protected branch: commits "
                                  "must be signed)"));
  // Signed: accepted.
  ASSERT_TRUE(alice_->git({"reset", "-q", "--hard", initial}, a).ok());
  const std::string s1 = signed_commit(*alice_, a, key, "signed.txt", "signed");
  r = alice_->git({"push", "origin", "main"}, a);
  ASSERT_TRUE(r.ok()) << r.both() << node_->log();

  // A (signed) merge commit: linear history required.
  ASSERT_TRUE(alice_->git({"checkout", "-q", "-b", "side"}, a).ok());
  signed_commit(*alice_, a, key, "side.txt", "side");
  ASSERT_TRUE(alice_->git({"checkout", "-q", "main"}, a).ok());
  signed_commit(*alice_, a, key, "main.txt", "main");
  r = alice_->git({"-c", "gpg.format=ssh", "-c", "user.signingkey=" + key.string(), "merge", "-q",
                   "--no-ff", "-S", "-m", "merge side", "side"},
                  a);
  ASSERT_TRUE(r.ok()) << r.both();
  r = alice_->git({"push", "origin", "main"}, a);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.both(), HasSubstr("! [remote rejected] main -> main (protected branch: merge "
                                  "commits not allowed (linear history required))"));

  // A rewritten history, pushed to an unprotected branch (its objects are on the node), then
  // moved onto main by a transaction that does not claim force.
  ASSERT_TRUE(alice_->git({"checkout", "-q", "-b", "rewrite", initial}, a).ok());
  const std::string rewritten = signed_commit(*alice_, a, key, "other.txt", "rewritten");
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "rewrite"}, a).ok());
  auto k = crypto::load_key_file(alice_->home() / "guts" / "identity.key");
  ASSERT_EQ(alice_->api("GET", "/api/guts/status", "", &out), 200);
  auto chain_id = nlohmann::json::parse(out)["chain_id"].get<std::string>();
  ASSERT_EQ(
      alice_->api("GET", "/api/guts/identities/" + crypto::did_from_key(k.public_key()), "", &out),
      200);
  state::Transaction tx;
  tx.chain_id = chain_id;
  tx.author = tx.signer = k.public_key();
  tx.nonce = nlohmann::json::parse(out)["next_nonce"].get<uint64_t>();
  tx.timestamp_ms = unix_millis();
  state::UpdateRefs u;
  u.repo_id = repo_id;
  u.force = false;  // the lie
  u.changes.push_back({"refs/heads/main", *hex_decode(s1), *hex_decode(rewritten)});
  tx.body = u;
  tx.sign(k);
  int st = alice_->api("POST", "/api/guts/transactions",
                       nlohmann::json{{"tx", hex_encode(tx.encode())}}.dump(), &out);
  EXPECT_GE(st, 400) << out;
  EXPECT_THAT(out, HasSubstr("protected branch: force push not allowed"));
  EXPECT_EQ(bare_ref(bare_repo_dir(*node_, repo_id), "refs/heads/main"), s1);
}

}  // namespace
}  // namespace guts::e2e
