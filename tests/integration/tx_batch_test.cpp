// POST /api/guts/transactions/batch against a running guts-node, driven by curl: transactions
// taken in order and answered one by one, bad bodies refused whole, and the door's refusal
// stopping a batch until Retry-After (docs/api.md "Transactions in batches").
#include "state/tx_batch.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/http_client.h"
#include "core/time.h"
#include "crypto/did.h"
#include "state/tx.h"
#include "tests/support/keys.h"
#include "tests/support/node_harness.h"
#include "tests/support/signed_tx.h"

using namespace guts;
using namespace guts::testing;
using nlohmann::json;

namespace {

struct BatchNode {
  std::filesystem::path dir = unique_temp_dir("txbatch");
  NodeProcess node;
  std::string chain_id;
  explicit BatchNode(std::vector<std::string> args) : node(dir / "node", std::move(args)) {
    node.start();
    chain_id = json::parse(cli::HttpClient(node.url()).get("/api/guts/status").body)["chain_id"];
  }
  ~BatchNode() {
    node.stop();
    std::filesystem::remove_all(dir);
  }
  state::Transaction tx(const crypto::SigningKey& k, uint64_t nonce, state::TxBody body) {
    return test_support::signed_tx(k, chain_id, nonce, std::move(body), unix_millis());
  }
  struct Answer {
    int status = 0;
    std::string headers;
    json body;
  };
  // curl posts `body` to the batch route; `query` e.g. "?wait=false".
  Answer post(const std::string& content_type, const std::string& body,
              const std::string& query = "") {
    auto file = dir / "body";
    std::ofstream(file, std::ios::binary) << body;
    auto headers = dir / "headers";
    auto r = run({"curl", "-s", "-D", headers.string(), "-w", "\n%{http_code}", "-X", "POST", "-H",
                  "Content-Type: " + content_type, "--data-binary", "@" + file.string(),
                  node.url() + "/api/guts/transactions/batch" + query});
    auto nl = r.out.rfind('\n');
    Answer a;
    a.status = std::stoi(r.out.substr(nl + 1));
    a.headers = read_file(headers);
    a.body = json::parse(r.out.substr(0, nl), nullptr, false);
    return a;
  }
  static std::string json_batch(const std::vector<state::Transaction>& txs) {
    json j{{"txs", json::array()}};
    for (const auto& t : txs) j["txs"].push_back(hex_encode(t.encode()));
    return j.dump();
  }
  json status() { return json::parse(cli::HttpClient(node.url()).get("/api/guts/status").body); }
  bool applied(const state::Transaction& t) {
    return cli::HttpClient(node.url()).get("/api/guts/transactions/" + hex_encode(t.id())).status ==
           200;
  }
};

TEST(TxBatch, CurlBatchesAreTakenInOrderAndAnsweredOneByOne) {
  BatchNode n({"--door-limit-min-reputation", "0"});
  auto alice = test_support::fixed_key(31), bob = test_support::fixed_key(32);
  auto forged = n.tx(bob, 1, state::RegisterUser{"mallory"});
  forged.signature[3] ^= 1;
  std::vector<state::Transaction> txs{
      n.tx(alice, 1, state::RegisterUser{"batch-alice"}),
      // The door checks each against the finalized state, as POST /transactions does: a
      // repository of a username registered in the same batch is not possible yet.
      n.tx(alice, 2, state::CreateRepo{"first", "", false, "main"}), forged,
      n.tx(bob, 1, state::RegisterUser{"batch-bob"}),
      n.tx(alice, 9, state::CreateRepo{"gap", "", false, "main"}),  // nonce 2 expected
  };
  auto a = n.post("application/json", BatchNode::json_batch(txs));
  ASSERT_EQ(a.status, 200) << a.body.dump();
  const auto& res = a.body["results"];
  ASSERT_EQ(res.size(), txs.size()) << a.body.dump();
  for (size_t i = 0; i < txs.size(); ++i) EXPECT_EQ(res[i]["id"], hex_encode(txs[i].id())) << i;
  EXPECT_EQ(res[0]["status"], "applied") << res[0];
  EXPECT_GE(res[0]["height"].get<uint64_t>(), 1u);
  EXPECT_EQ(res[1]["status"], "rejected") << res[1];
  EXPECT_EQ(res[1]["http_status"], 403) << res[1];
  EXPECT_EQ(res[2]["status"], "rejected") << res[2];
  EXPECT_EQ(res[2]["http_status"], 422) << res[2];
  EXPECT_NE(res[2]["message"].get<std::string>().find("bad signature"), std::string::npos);
  EXPECT_EQ(res[3]["status"], "applied") << res[3];
  EXPECT_EQ(res[4]["status"], "rejected") << res[4];
  EXPECT_NE(res[4]["message"].get<std::string>().find("nonce"), std::string::npos) << res[4];
  auto ident =
      json::parse(cli::HttpClient(n.node.url())
                      .get("/api/guts/identities/" + crypto::did_from_key(alice.public_key()))
                      .body);
  EXPECT_EQ(ident["username"], "batch-alice") << ident;

  // The binary body, not waited for: 202 with every one pending, then applied.
  std::vector<state::Transaction> more{
      n.tx(alice, 2, state::CreateRepo{"second", "", false, "main"}),
      n.tx(alice, 3, state::CreateRepo{"third", "", false, "main"}),
      n.tx(bob, 2, state::CreateRepo{"bobs", "", false, "main"})};
  auto b = n.post("application/octet-stream", to_string(state::encode_transactions(more)),
                  "?wait=false");
  ASSERT_EQ(b.status, 202) << b.body.dump();
  ASSERT_EQ(b.body["results"].size(), 3u);
  for (const auto& r : b.body["results"]) EXPECT_EQ(r["status"], "pending") << r;
  EXPECT_TRUE(
      wait_until([&] { return n.applied(more[0]) && n.applied(more[1]) && n.applied(more[2]); },
                 std::chrono::seconds(30)));
  EXPECT_EQ(cli::HttpClient(n.node.url()).get("/api/v3/repos/batch-alice/third").status, 200);
}

TEST(TxBatch, BadBodiesAreRefusedWholeAndChangeNothing) {
  BatchNode n({"--door-limit-min-reputation", "0"});
  auto carol = test_support::fixed_key(33);
  auto good = n.tx(carol, 1, state::RegisterUser{"batch-carol"});
  auto before = n.status();
  auto j = json::parse(BatchNode::json_batch({good, good}));
  j["txs"][1] = "00ff";  // the second is not a transaction: the first is not taken either
  for (auto [type, body, want] : std::vector<std::tuple<std::string, std::string, int>>{
           {"application/json", "{\"txs\": 1}", 422},
           {"application/json", "{}", 422},
           {"application/json", "not json", 400},
           {"application/json", j.dump(), 400},
           {"application/octet-stream", "\x05garbage", 400},
           {"application/octet-stream", std::string(1, '\0'), 422}}) {
    auto a = n.post(type, body);
    EXPECT_EQ(a.status, want) << type << " " << body << " -> " << a.body.dump();
    EXPECT_TRUE(a.body.contains("message")) << a.body.dump();
  }
  auto after = n.status();
  EXPECT_EQ(after["height"], before["height"]);
  EXPECT_EQ(after["state_root"], before["state_root"]);
  EXPECT_FALSE(n.applied(good));
}

// The door's backlog bound at its floor of one waiting transaction (and nothing finalized
// lately, so the floor is the bound): the first of a batch is taken, the next is refused with
// 503 and Retry-After, the rest skipped; sent again later, they are all applied.
TEST(TxBatch, ARefusalStopsTheBatchAndTheRestIsSentAgainAfterRetryAfter) {
  BatchNode n({"--door-limit-min-reputation", "0", "--door-min-backlog", "1", "--door-max-wait-ms",
               "2000"});
  std::vector<state::Transaction> txs;
  for (uint8_t i = 0; i < 40; ++i)
    txs.push_back(n.tx(test_support::fixed_key(100 + i), 1,
                       state::RegisterUser{"batch-user-" + std::to_string(i)}));
  auto a =
      n.post("application/octet-stream", to_string(state::encode_transactions(txs)), "?wait=false");
  ASSERT_EQ(a.status, 202) << a.body.dump();
  const auto& res = a.body["results"];
  ASSERT_EQ(res.size(), txs.size());
  size_t k = 0;
  while (k < res.size() && res[k]["status"] == "pending") ++k;
  ASSERT_GE(k, 1u);
  ASSERT_LT(k, res.size()) << "nothing refused: " << a.body.dump();
  EXPECT_EQ(res[k]["status"], "refused") << res[k];
  EXPECT_EQ(res[k]["http_status"], 503) << res[k];
  EXPECT_GE(res[k]["retry_after"].get<int>(), 1) << res[k];
  EXPECT_NE(res[k]["message"].get<std::string>().find("saturated"), std::string::npos);
  for (size_t i = k + 1; i < res.size(); ++i) EXPECT_EQ(res[i]["status"], "skipped") << i;
  EXPECT_NE(a.headers.find("Retry-After:"), std::string::npos) << a.headers;
  // The rest again, each time once every transaction taken so far is applied (nothing waits,
  // so the door takes at least the first): round by round, until every one is in.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (size_t sent = k; sent < txs.size();) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << sent << " of " << txs.size();
    ASSERT_TRUE(wait_until(
        [&] {
          for (size_t i = 0; i < sent; ++i)
            if (!n.applied(txs[i])) return false;
          return true;
        },
        std::chrono::seconds(60)));
    std::vector<state::Transaction> rest(txs.begin() + static_cast<long>(sent), txs.end());
    // Applied is not yet out of the waiting count (the mempool hears of a block after its
    // commit): a 503 with nothing taken is offered again, as a client does.
    size_t taken = 0;
    ASSERT_TRUE(wait_until(
        [&] {
          auto again = n.post("application/octet-stream",
                              to_string(state::encode_transactions(rest)), "?wait=false");
          if (again.status != 202 && again.status != 503) {
            ADD_FAILURE() << again.status << " " << again.body.dump();
            return true;
          }
          const auto& results = again.body["results"];
          while (taken < rest.size() &&
                 (results[taken]["status"] == "pending" || results[taken]["status"] == "applied"))
            ++taken;
          return taken >= 1;
        },
        std::chrono::seconds(60), std::chrono::milliseconds(50)));
    ASSERT_GE(taken, 1u);
    sent += taken;
  }
  EXPECT_TRUE(wait_until(
      [&] {
        for (const auto& t : txs)
          if (!n.applied(t)) return false;
        return true;
      },
      std::chrono::seconds(60)));
}

// `guts tx submit`: a file of signed transactions (hex, one per line), sent in batches of two,
// each outcome printed; a rejected one makes the command fail after the others are in.
TEST(TxBatch, TheCliSubmitsAFileOfSignedTransactionsInBatches) {
  BatchNode n({"--door-limit-min-reputation", "0"});
  auto dave = test_support::fixed_key(34), erin = test_support::fixed_key(35),
       frank = test_support::fixed_key(36);
  std::vector<state::Transaction> txs{n.tx(dave, 1, state::RegisterUser{"cli-dave"}),
                                      n.tx(erin, 1, state::RegisterUser{"cli-erin"}),
                                      n.tx(frank, 1, state::RegisterUser{"cli-frank"})};
  auto file = n.dir / "txs.hex";
  {
    std::ofstream out(file);
    out << "# signed offline\n";
    for (const auto& t : txs) out << hex_encode(t.encode()) << "\n\n";
  }
  auto guts = (bin_dir() / "guts").string();
  auto home = (n.dir / "home").string();
  auto r = run({guts, "--home", home, "--node", n.node.url(), "--json", "tx", "submit",
                file.string(), "--batch-size", "2"});
  ASSERT_TRUE(r.ok()) << r.both();
  auto out = json::parse(r.out);
  ASSERT_EQ(out.size(), 3u) << r.out;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i]["id"], hex_encode(txs[i].id())) << out[i];
    EXPECT_EQ(out[i]["status"], "applied") << out[i];
  }
  // The same again: already applied, each reports where; one new, wrong one: the command says so.
  {
    std::ofstream out(file, std::ios::app);
    out << hex_encode(n.tx(dave, 5, state::CreateRepo{"late", "", false, "main"}).encode()) << "\n";
  }
  r = run({guts, "--home", home, "--node", n.node.url(), "tx", "submit", file.string()});
  EXPECT_EQ(r.code, 1) << r.both();
  EXPECT_NE(r.out.find("applied at"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rejected: "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("1 of 4 transactions were rejected"), std::string::npos) << r.err;
  // A line that is not a transaction: nothing is sent.
  auto bad = n.dir / "bad.hex";
  std::ofstream(bad) << hex_encode(txs[0].encode()) << "\nnot-hex\n";
  auto before = n.status();
  r = run({guts, "--home", home, "--node", n.node.url(), "tx", "submit", bad.string()});
  EXPECT_EQ(r.code, 1) << r.both();
  EXPECT_NE(r.err.find(":2: not hexadecimal"), std::string::npos) << r.err;
  EXPECT_EQ(n.status()["height"], before["height"]);
}

}  // namespace
