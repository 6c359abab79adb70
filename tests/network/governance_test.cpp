// Governance enforced by every validator (issue 14 point 7; docs/governance.md "Branch
// protection"): four guts-node validators, one of them guts-node-byzantine
// (GUTS_BYZANTINE=forge-block) putting into every block it proposes a push to a protected branch
// that lacks the required approval. The push is signed by a collaborator with write permission,
// its objects are on every node (so data availability passes and only the rule can refuse it),
// and the honest validators' mempool door refuses it. The honest validators refuse each forged
// block when they re-execute it ("rejecting block ... protected branch: 1 approving review
// required"), the network keeps finalizing without those blocks, and the branch keeps its commit
// on every honest node.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/http_client.h"
#include "core/time.h"
#include "state/tx.h"
#include "tests/support/cluster_harness.h"
#include "tests/support/git_user.h"

using namespace guts;
using namespace guts::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

using Account = TxAccount;

state::Transaction signed_tx(const std::string& chain_id, Account& a, state::TxBody body) {
  return a.sign_next(chain_id, std::move(body));
}

std::string token_of(const GitUser& u, const std::string& url) {
  std::ifstream in(u.home() / "guts" / "config.json");  // GUTS_HOME (git_user.cpp)
  return json::parse(in)["logins"][url]["token"].get<std::string>();
}

// The oid `branch` has on node `url` ("" when git cannot tell yet).
std::string branch_on(const GitUser& u, const std::string& url, const std::string& branch) {
  auto refs = ls_remote(u, url);
  if (!refs) return "";
  auto it = refs->find("refs/heads/" + branch);
  return it == refs->end() ? "" : it->second;
}

}  // namespace

TEST(Governance, ByzantineProposerCannotPushToProtectedBranch) {
  Cluster net({.validators = 4});
  const auto forged_file = net.dir() / "forged.tx";
  net.node(3).program() = "guts-node-byzantine";
  net.node(3).env() = {{"GUTS_BYZANTINE", "forge-block"},
                       {"GUTS_BYZANTINE_TX_FILE", forged_file.string()}};
  net.start_all();
  const std::vector<int> honest{0, 1, 2};
  const std::string url = net.node(0).url();

  // alice: main and release at A, topic at B (a child of A), on every node.
  GitUser alice(net.dir() / "users", "alice");
  alice.login(url);
  const uint64_t repo_id = alice.create_repo(url, "app");
  const auto work = net.dir() / "work";
  must(alice.git({"init", "-q", "-b", "main", work.string()}), "git init");
  auto write = [&](const std::string& file, const std::string& text) {
    std::ofstream(work / file) << text;
    must(alice.git({"add", file}, work), "git add");
    must(alice.git({"commit", "-q", "-m", file}, work), "git commit");
    return must(alice.git({"rev-parse", "HEAD"}, work), "git rev-parse");
  };
  const std::string a = write("README.md", "# app\n");
  must(alice.git({"branch", "release"}, work), "git branch");
  must(alice.git({"checkout", "-q", "-b", "topic"}, work), "git checkout");
  const std::string b = write("feature.txt", "feature\n");
  auto pushed =
      alice.git({"push", "-q", alice.remote(url, "app"), "main", "release", "topic"}, work);
  ASSERT_TRUE(pushed.ok()) << pushed.both() << net.logs();
  ASSERT_TRUE(wait_until(
      [&] {
        for (int i : honest)
          if (branch_on(alice, alice.remote(net.node(i).url(), "app"), "topic") != b) return false;
        return true;
      },
      60s, 200ms))
      << net.logs();

  // mallory registers with her own key; alice gives her write and protects release (1 approval).
  Account mallory;
  auto reg = submit_tx(url, signed_tx(net.chain_id(), mallory, state::RegisterUser{"mallory"}));
  ASSERT_EQ(reg.status, 200) << reg.body << net.logs();
  cli::HttpClient api(url);
  api.set_timeout(30s);
  api.set_token(token_of(alice, url));
  auto collab =
      api.put("/api/v3/repos/alice/app/collaborators/mallory", R"({"permission":"push"})");
  ASSERT_TRUE(collab.status == 201 || collab.status == 204) << collab.status << collab.body;
  auto prot = alice.guts(url, {"branch", "protect", "alice/app", "release", "--reviews", "1"});
  ASSERT_TRUE(prot.ok()) << prot.both();

  // Her push of B to release without a review: the honest door refuses it.
  state::UpdateRefs push;
  push.repo_id = repo_id;
  push.changes.push_back({"refs/heads/release", *hex_decode(a), *hex_decode(b)});
  auto forged = signed_tx(net.chain_id(), mallory, push);
  auto door = submit_tx(net.node(1).url(), forged);
  EXPECT_NE(door.status, 200) << door.body;
  EXPECT_NE(door.body.find("protected branch: 1 approving review required"), std::string::npos)
      << door.body;

  // The byzantine validator slips it into its proposals from now on. Other work keeps views
  // (and so its turns as leader) coming; each honest validator refuses a forged block.
  { std::ofstream(forged_file) << hex_encode(forged.encode()) << "\n"; }
  const std::string refusal = "protected branch: 1 approving review required";
  Account filler;
  int turn = 0;
  auto refused_by = [&](int i) {
    auto log = net.node(i).log();
    for (size_t at = log.find("rejecting block"); at != std::string::npos;
         at = log.find("rejecting block", at + 1)) {
      auto end = log.find('\n', at);
      if (log.substr(at, end - at).find(refusal) != std::string::npos) return true;
    }
    return false;
  };
  ASSERT_TRUE(wait_until(
      [&] {
        auto tx = filler.nonce == 0
                      ? signed_tx(net.chain_id(), filler, state::RegisterUser{"filler"})
                      : signed_tx(net.chain_id(), filler,
                                  state::CreateRepo{"r" + std::to_string(filler.nonce + 1), "",
                                                    false, "main"});
        auto r = submit_tx(net.node(turn++ % 3).url(), tx);
        if (r.status != 200) throw std::runtime_error("submit: " + r.body);
        for (int i : honest)
          if (!refused_by(i)) return false;
        return true;
      },
      120s, 100ms))
      << "an honest validator never refused a forged block\n"
      << net.logs();

  // The rule held: the push is in no finalized block, release is still A everywhere honest, and
  // the honest validators keep finalizing and agree.
  EXPECT_FALSE(tx_applied(url, forged));
  for (int i : honest)
    EXPECT_EQ(branch_on(alice, alice.remote(net.node(i).url(), "app"), "release"), a) << i;
  auto more = submit_tx(net.node(2).url(), signed_tx(net.chain_id(), filler,
                                                     state::CreateRepo{"last", "", false, "main"}));
  ASSERT_EQ(more.status, 200) << more.body << net.logs();
  ASSERT_TRUE(net.wait_converged(honest, net.status(2)["height"], 30s)) << net.logs();
  for (int i : net.all()) net.node(i).stop();
}
