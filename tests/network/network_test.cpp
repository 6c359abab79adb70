// A 4-validator Guts network of separate guts-node processes on loopback (Simplex over the
// Noise transport): transactions submitted to any node are finalized and applied everywhere
// with one state root; the network keeps finalizing with one validator killed, stops with two
// (a submission does not complete — no false success), resumes when one returns, and a
// validator that was down for a while catches up to the same height and state root.
// Synchronisation is by polling with deadlines, never by fixed sleeps.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/http_client.h"
#include "core/time.h"
#include "state/tx.h"
#include "tests/support/node_harness.h"

using namespace guts;
using namespace guts::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Account {
  crypto::SigningKey key = crypto::SigningKey::generate();
  uint64_t nonce = 0;
};

class LocalNetwork {
 public:
  explicit LocalNetwork(int n) : dir_(unique_temp_dir("net")) {
    // Short timeouts keep the faulty phases of the test quick.
    auto r = run({(bin_dir() / "guts-node").string(), "init-genesis", "--validators",
                  std::to_string(n), "--out", dir_.string(), "--leader-timeout-ms", "500",
                  "--certification-timeout-ms", "1000", "--timeout-retry-ms", "1500"});
    if (r.code != 0) throw std::runtime_error("init-genesis failed: " + r.out + r.err);
    std::ifstream in(dir_ / "genesis.json");
    auto g = json::parse(in);
    chain_id_ = g["chain_id"];
    for (int i = 0; i < n; ++i) {
      std::string addr = g["validators"][i]["p2p_address"];
      nodes_.push_back(std::make_unique<NodeProcess>(
          dir_ / ("node" + std::to_string(i)),
          std::vector<std::string>{"--genesis-file", (dir_ / "genesis.json").string(), "--p2p-addr",
                                   addr, "--validator"}));
    }
  }
  ~LocalNetwork() {
    nodes_.clear();  // SIGKILL + reap whatever still runs
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_);
  }

  NodeProcess& node(int i) { return *nodes_.at(i); }
  int size() const { return static_cast<int>(nodes_.size()); }
  const std::string& chain_id() const { return chain_id_; }

  json status(int i) {
    cli::HttpClient c(node(i).url());
    c.set_timeout(5s);
    auto r = c.get("/api/guts/status");
    if (r.status != 200) throw std::runtime_error("status " + std::to_string(r.status));
    return json::parse(r.body);
  }

  // Every listed running node is at least at `height` with one state root.
  bool converged(const std::vector<int>& which, uint64_t height, std::string* root = nullptr) {
    std::string first;
    uint64_t h0 = 0;
    for (int i : which) {
      json s;
      try {
        s = status(i);
      } catch (const std::exception&) {
        return false;
      }
      uint64_t h = s["height"];
      if (h < height) return false;
      if (first.empty()) {
        first = s["state_root"];
        h0 = h;
      } else if (s["state_root"] != first || h != h0) {
        return false;
      }
    }
    if (root) *root = first;
    return true;
  }

  std::string logs() {
    std::string out;
    for (int i = 0; i < size(); ++i) out += "---- node" + std::to_string(i) + "\n" + node(i).log();
    return out;
  }

 private:
  std::filesystem::path dir_;
  std::string chain_id_;
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
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

// Submits and waits for the outcome (the node answers once the block is applied on it).
cli::HttpResult submit(const std::string& url, const state::Transaction& tx,
                       std::chrono::milliseconds timeout = 30s) {
  cli::HttpClient c(url);
  c.set_timeout(timeout);
  return c.post("/api/guts/transactions", json{{"tx", hex_encode(tx.encode())}}.dump());
}

bool located(const std::string& url, const state::Transaction& tx) {
  try {
    cli::HttpClient c(url);
    c.set_timeout(5s);
    return c.get("/api/guts/transactions/" + hex_encode(tx.id())).status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

TEST(Network, FourValidatorsFinalizeTolerateOneFaultStopWithTwoAndCatchUp) {
  LocalNetwork net(4);
  for (int i = 0; i < 4; ++i) net.node(i).start();
  const std::vector<int> all{0, 1, 2, 3};

  // 1. Transactions submitted to every node are finalized and applied on all four.
  std::vector<Account> accounts(4);
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) {
      auto tx = make_tx(net.chain_id(), accounts[i]);
      auto r = submit(net.node(i).url(), tx);
      ASSERT_EQ(r.status, 200) << r.body << net.logs();
      EXPECT_EQ(json::parse(r.body)["status"], "applied") << r.body;
    }
  }
  uint64_t height = net.status(0)["height"];
  ASSERT_GE(height, 1u);
  std::string root;
  ASSERT_TRUE(wait_until([&] { return net.converged(all, height, &root); }, 30s)) << net.logs();

  // 2. One validator down (n = 4 tolerates f = 1): still finalizing.
  net.node(3).kill9();
  const std::vector<int> three{0, 1, 2};
  for (int k = 0; k < 6; ++k) {
    int at = k % 3;
    auto tx = make_tx(net.chain_id(), accounts[at]);
    auto r = submit(net.node(at).url(), tx);
    ASSERT_EQ(r.status, 200) << r.body << net.logs();
  }
  uint64_t h2 = net.status(0)["height"];
  ASSERT_GT(h2, height);
  ASSERT_TRUE(wait_until([&] { return net.converged(three, h2); }, 30s)) << net.logs();
  h2 = net.status(0)["height"];  // where the three converged (an empty block may have followed)

  // 3. Two down: no quorum. A submission does not complete (no false success) and nothing is
  //    finalized.
  net.node(2).kill9();
  auto stuck = make_tx(net.chain_id(), accounts[0]);
  bool completed = false;
  try {
    auto r = submit(net.node(0).url(), stuck, 3s);
    completed = r.status == 200;
    EXPECT_NE(r.status, 200) << r.body;
  } catch (const std::exception&) {
    // the request timed out: the transaction is still pending
  }
  EXPECT_FALSE(completed);
  EXPECT_FALSE(located(net.node(0).url(), stuck));
  EXPECT_EQ(net.status(0)["height"].get<uint64_t>(), h2);
  EXPECT_EQ(net.status(1)["height"].get<uint64_t>(), h2);

  // 4. One returns: finalization resumes, the pending transaction is applied, new ones too.
  net.node(2).start();
  ASSERT_TRUE(wait_until([&] { return located(net.node(0).url(), stuck); }, 60s))
      << "the pending transaction was not finalized after the validator returned\n"
      << net.logs();
  auto after = make_tx(net.chain_id(), accounts[1]);
  auto r = submit(net.node(1).url(), after);
  ASSERT_EQ(r.status, 200) << r.body << net.logs();
  uint64_t h3 = net.status(1)["height"];
  ASSERT_GT(h3, h2);
  ASSERT_TRUE(wait_until([&] { return net.converged(three, h3); }, 30s)) << net.logs();

  // 5. The validator that was down the longest catches up to the same height and state root.
  net.node(3).start();
  for (int k = 0; k < 3; ++k) {
    auto tx = make_tx(net.chain_id(), accounts[2]);
    auto r2 = submit(net.node(2).url(), tx);
    ASSERT_EQ(r2.status, 200) << r2.body << net.logs();
  }
  uint64_t h4 = net.status(2)["height"];
  std::string final_root;
  ASSERT_TRUE(wait_until([&] { return net.converged(all, h4, &final_root); }, 60s)) << net.logs();
  // It also takes part again: a transaction submitted to it is finalized.
  auto via3 = make_tx(net.chain_id(), accounts[3]);
  r = submit(net.node(3).url(), via3);
  ASSERT_EQ(r.status, 200) << r.body << net.logs();
  for (int i = 0; i < 4; ++i) net.node(i).stop();
}

TEST(Network, SingleValidatorGenesisFromInitGenesis) {
  // init-genesis with one validator gives the same one-validator Simplex network as the default.
  LocalNetwork net(1);
  net.node(0).start();
  Account a;
  for (int k = 0; k < 5; ++k) {
    auto r = submit(net.node(0).url(), make_tx(net.chain_id(), a));
    ASSERT_EQ(r.status, 200) << r.body << net.logs();
  }
  EXPECT_EQ(net.status(0)["height"].get<uint64_t>() >= 1, true);
  net.node(0).stop();
}
