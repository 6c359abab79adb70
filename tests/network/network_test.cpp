// A 4-validator Guts network of separate guts-node processes on loopback (Simplex over the
// Noise transport): transactions submitted to any node are finalized and applied everywhere
// with one state root; the network keeps finalizing with one validator killed, stops with two
// (a submission does not complete — no false success), resumes when one returns, and a
// validator that was down for a while catches up to the same height and state root. A full node
// (--no-validator) catches up on blocks finalized before it started, follows new ones, forwards
// the transactions its clients submit, and resumes after a kill.
// Synchronisation is by polling with deadlines, never by fixed sleeps.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli/http_client.h"
#include "core/time.h"
#include "state/tx.h"
#include "tests/support/cluster_harness.h"

using namespace guts;
using namespace guts::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Account {
  crypto::SigningKey key = crypto::SigningKey::generate();
  uint64_t nonce = 0;
};

state::Transaction make_tx(const std::string& chain_id, Account& a) {
  state::Transaction tx;
  tx.chain_id = chain_id;
  tx.author = a.key.public_key();
  tx.nonce = ++a.nonce;
  tx.timestamp_ms = unix_millis();
  if (tx.nonce == 1)
    tx.body = state::RegisterUser{"u" + hex_encode(ByteView(a.key.public_key()).first(6))};
  else
    tx.body = state::CreateRepo{"repo" + std::to_string(tx.nonce), "made on a 4-validator network",
                                false, "main"};
  tx.sign(a.key);
  return tx;
}

// Transactions in the block at `height` on the node at `url`.
uint64_t block_tx_count(const std::string& url, uint64_t height) {
  cli::HttpClient c(url);
  c.set_timeout(5s);
  auto r = c.get("/api/guts/blocks/" + std::to_string(height));
  if (r.status != 200) throw std::runtime_error("block " + std::to_string(height) + ": " + r.body);
  return json::parse(r.body)["tx_count"].get<uint64_t>();
}

}  // namespace

TEST(Network, FourValidatorsFinalizeTolerateOneFaultStopWithTwoAndCatchUp) {
  Cluster net({.validators = 4});
  net.start_all();
  const std::vector<int> all{0, 1, 2, 3};

  // 1. Transactions submitted to every node are finalized and applied on all four.
  std::vector<Account> accounts(4);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) {
      auto tx = make_tx(net.chain_id(), accounts[i]);
      auto r = submit_tx(net.node(i).url(), tx);
      ASSERT_EQ(r.status, 200) << r.body << net.logs();
      EXPECT_EQ(json::parse(r.body)["status"], "applied") << r.body;
    }
  }
  uint64_t height = net.status(0)["height"];
  ASSERT_GE(height, 1u);
  std::string root;
  ASSERT_TRUE(net.wait_converged(all, height, 30s, &root)) << net.logs();

  // 2. One validator down (n = 4 tolerates f = 1): still finalizing.
  net.node(3).kill9();
  const std::vector<int> three{0, 1, 2};
  for (int k = 0; k < 6; ++k) {
    int at = k % 3;
    auto tx = make_tx(net.chain_id(), accounts[at]);
    auto r = submit_tx(net.node(at).url(), tx);
    ASSERT_EQ(r.status, 200) << r.body << net.logs();
  }
  uint64_t h2 = net.status(0)["height"];
  ASSERT_GT(h2, height);
  ASSERT_TRUE(net.wait_converged(three, h2, 30s)) << net.logs();
  h2 = net.status(0)["height"];  // where the three converged

  // 3. Two down: no quorum. A submission does not complete (no false success) and no
  //    transaction is finalized. Heights are not frozen at h2: right after a block with
  //    transactions the next leaders may propose empty blocks (ledger::Core proposes an empty
  //    child of a notarized parent that is not final), and votes node 2 sent before it died
  //    can finalize those. So the check is on content: nothing above h2 carries a transaction.
  net.node(2).kill9();
  auto stuck = make_tx(net.chain_id(), accounts[0]);
  bool completed = false;
  try {
    auto r = submit_tx(net.node(0).url(), stuck, 3s);
    completed = r.status == 200;
    EXPECT_NE(r.status, 200) << r.body;
  } catch (const std::exception&) {
    // the request timed out: the transaction is still pending
  }
  EXPECT_FALSE(completed);
  for (int i : {0, 1}) {
    EXPECT_FALSE(tx_applied(net.node(i).url(), stuck)) << "node " << i;
    uint64_t top = net.height(i);
    for (uint64_t h = h2 + 1; h <= top; ++h)
      EXPECT_EQ(block_tx_count(net.node(i).url(), h), 0u) << "node " << i << " height " << h;
  }

  // 4. One returns: finalization resumes, the pending transaction is applied, new ones too.
  net.node(2).start();
  ASSERT_TRUE(wait_until([&] { return tx_applied(net.node(0).url(), stuck); }, 60s))
      << "the pending transaction was not finalized after the validator returned\n"
      << net.logs();
  auto after = make_tx(net.chain_id(), accounts[1]);
  auto r = submit_tx(net.node(1).url(), after);
  ASSERT_EQ(r.status, 200) << r.body << net.logs();
  uint64_t h3 = net.status(1)["height"];
  ASSERT_GT(h3, h2);
  ASSERT_TRUE(net.wait_converged(three, h3, 30s)) << net.logs();

  // 5. The validator that was down the longest catches up to the same height and state root.
  net.node(3).start();
  for (int k = 0; k < 3; ++k) {
    auto tx = make_tx(net.chain_id(), accounts[2]);
    auto r2 = submit_tx(net.node(2).url(), tx);
    ASSERT_EQ(r2.status, 200) << r2.body << net.logs();
  }
  uint64_t h4 = net.status(2)["height"];
  std::string final_root;
  ASSERT_TRUE(net.wait_converged(all, h4, 60s, &final_root)) << net.logs();
  // It also takes part again: a transaction submitted to it is finalized.
  auto via3 = make_tx(net.chain_id(), accounts[3]);
  r = submit_tx(net.node(3).url(), via3);
  ASSERT_EQ(r.status, 200) << r.body << net.logs();
  for (int i = 0; i < 4; ++i) net.node(i).stop();
}

TEST(Network, SingleValidatorGenesisFromInitGenesis) {
  // init-genesis with one validator gives the same one-validator Simplex network as the default.
  Cluster net({.validators = 1});
  net.start_all();
  Account a;
  for (int k = 0; k < 5; ++k) {
    auto r = submit_tx(net.node(0).url(), make_tx(net.chain_id(), a));
    ASSERT_EQ(r.status, 200) << r.body << net.logs();
  }
  EXPECT_EQ(net.status(0)["height"].get<uint64_t>() >= 1, true);
  net.node(0).stop();
}

TEST(Network, FullNodeCatchesUpFollowsForwardsAndResumesAfterRestart) {
  Cluster net({.validators = 4});
  net.start_all();
  const std::vector<int> validators{0, 1, 2, 3};
  std::vector<Account> accounts(4);
  // Blocks finalized before the full node exists: it has to fetch them from its peers.
  for (int i = 0; i < 4; ++i) {
    auto r = submit_tx(net.node(i).url(), make_tx(net.chain_id(), accounts[i]));
    ASSERT_EQ(r.status, 200) << r.body << net.logs();
  }
  int full = net.add_full_node();
  net.start(full);
  EXPECT_EQ(net.status(full)["role"], "full");
  uint64_t h = net.height(0);
  ASSERT_TRUE(net.wait_converged(net.all(), h, 60s)) << net.logs();

  // It follows new blocks, and a transaction submitted to it is forwarded to the validators,
  // finalized, and acknowledged once applied on the full node itself.
  for (int k = 0; k < 2; ++k) {
    auto r = submit_tx(net.node(k).url(), make_tx(net.chain_id(), accounts[k]));
    ASSERT_EQ(r.status, 200) << r.body << net.logs();
  }
  auto via_full = make_tx(net.chain_id(), accounts[2]);
  auto r = submit_tx(net.node(full).url(), via_full);
  ASSERT_EQ(r.status, 200) << r.body << net.logs();
  EXPECT_TRUE(wait_until([&] { return tx_applied(net.node(0).url(), via_full); }, 30s))
      << net.logs();
  h = std::max(net.height(0), net.height(full));
  ASSERT_TRUE(net.wait_converged(net.all(), h, 30s)) << net.logs();

  // Killed, it misses blocks; restarted on its data, it catches up again.
  net.node(full).kill9();
  for (int k = 0; k < 2; ++k) {
    auto r2 = submit_tx(net.node(3).url(), make_tx(net.chain_id(), accounts[3]));
    ASSERT_EQ(r2.status, 200) << r2.body << net.logs();
  }
  h = net.height(3);
  net.start(full);
  ASSERT_TRUE(net.wait_converged(net.all(), h, 60s)) << net.logs();
  for (int i : net.all()) net.node(i).stop();
}

// An equivocating validator (guts-node-byzantine, GUTS_BYZANTINE=equivocate: two notarize votes
// per view, both validly signed) is recorded by the honest validators as verifiable evidence
// (GET /api/guts/evidence, docs/operator/byzantine-validator.md), which survives their restart,
// and the network keeps finalizing without it.
TEST(Network, EquivocatingValidatorIsRecordedAsEvidence) {
  Cluster net({.validators = 4});
  net.node(3).program() = "guts-node-byzantine";
  net.node(3).env() = {{"GUTS_BYZANTINE", "equivocate"}};
  net.start_all();
  const std::string byzantine = net.did(3);
  auto evidence = [&](int i) {
    cli::HttpClient c(net.node(i).url());
    c.set_timeout(5s);
    auto r = c.get("/api/guts/evidence");
    if (r.status != 200) throw std::runtime_error("evidence: " + r.body);
    return json::parse(r.body);
  };
  // Views with proposals make votes, so equivocations. A node that finalized a view before the
  // equivocator's votes for it arrived drops them (old votes): keep the network busy until each
  // honest validator has seen a conflicting pair.
  Account a;
  int turn = 0;
  std::vector<json> seen(3);
  ASSERT_TRUE(wait_until(
      [&] {
        auto tx = make_tx(net.chain_id(), a);
        auto r = submit_tx(net.node(turn++ % 3).url(), tx);
        if (r.status != 200) throw std::runtime_error("submit: " + r.body);
        bool all = true;
        for (int i : {0, 1, 2}) {
          seen[i] = evidence(i);
          all = all && seen[i]["count"].get<int>() > 0;
        }
        return all;
      },
      60s))
      << "some honest validator recorded no evidence\n"
      << net.logs();
  for (int i : {0, 1, 2}) {
    const auto& rec = seen[i]["evidence"][0];
    EXPECT_EQ(rec["kind"], "conflicting-notarize") << rec.dump();
    EXPECT_EQ(rec["signer"], byzantine) << rec.dump();
    EXPECT_EQ(rec["verified"], true) << rec.dump();
    EXPECT_EQ(seen[i]["namespace"], "guts/" + net.chain_id());
  }
  // The CLI lists it.
  auto cli = run({(bin_dir() / "guts").string(), "node", "evidence"},
                 {{"GUTS_NODE", net.node(0).url()}, {"GUTS_HOME", (net.dir() / "cli").string()}});
  ASSERT_TRUE(cli.ok()) << cli.both();
  EXPECT_NE(cli.out.find(byzantine), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("conflicting-notarize"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("yes"), std::string::npos) << cli.out;
  // The network finalizes without the equivocator.
  for (int k = 0; k < 3; ++k) {
    auto next = make_tx(net.chain_id(), a);
    auto s = submit_tx(net.node(k).url(), next);
    ASSERT_EQ(s.status, 200) << s.body << net.logs();
  }
  const std::vector<int> honest{0, 1, 2};
  ASSERT_TRUE(net.wait_converged(honest, net.status(0)["height"], 30s)) << net.logs();
  // Evidence is durable: still there after a restart of the node that recorded it.
  size_t before = evidence(1)["count"].get<size_t>();
  net.node(1).stop();
  net.node(1).start();
  EXPECT_GE(evidence(1)["count"].get<size_t>(), before);
  for (int i = 0; i < 4; ++i) net.node(i).stop();
}
