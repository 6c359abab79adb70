// Bad input gets a clear 4xx in GitHub's form and changes nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/http_client.h"
#include "core/time.h"
#include "state/tx.h"
#include "tests/support/keys.h"
#include "tests/support/node_harness.h"
#include "tests/support/signed_tx.h"

using namespace guts;
using namespace guts::testing;
using nlohmann::json;

namespace {

crypto::SigningKey fixed_key(uint8_t b) {
  return test_support::fixed_key(b);
}

struct Fixture {
  std::filesystem::path dir = unique_temp_dir("bad");
  NodeProcess node{dir / "node"};
  std::string chain_id;
  Fixture() {
    node.start();
    cli::HttpClient c(node.url());
    chain_id = json::parse(c.get("/api/guts/status").body)["chain_id"];
  }
  ~Fixture() {
    node.stop();
    std::filesystem::remove_all(dir);
  }
  state::Transaction tx(const crypto::SigningKey& k, uint64_t nonce, state::TxBody body) {
    return test_support::signed_tx(k, chain_id, nonce, std::move(body), unix_millis());
  }
  cli::HttpResult submit(const state::Transaction& t) {
    cli::HttpClient c(node.url());
    return c.post("/api/guts/transactions", json{{"tx", hex_encode(t.encode())}}.dump());
  }
  json status() { return json::parse(cli::HttpClient(node.url()).get("/api/guts/status").body); }
  // curl's view of one request: "<status> <body>".
  std::pair<int, std::string> curl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"curl", "-s", "-w", "\n%{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run(argv);
    auto nl = r.out.rfind('\n');
    return {std::stoi(r.out.substr(nl + 1)), r.out.substr(0, nl)};
  }
};

}  // namespace

TEST(BadInput, TransactionsAreRejectedWithReasonsAndChangeNothing) {
  Fixture f;
  auto alice = fixed_key(1), bob = fixed_key(2);
  auto ok = f.submit(f.tx(alice, 1, state::RegisterUser{"alice"}));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["status"], "applied");
  auto before = f.status();

  auto forged = f.tx(bob, 1, state::RegisterUser{"bob"});
  forged.signature[5] ^= 1;
  auto r = f.submit(forged);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(json::parse(r.body)["message"], "rejected: bad signature");

  r = f.submit(f.tx(bob, 1, state::RegisterUser{"Alice"}));
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(json::parse(r.body)["message"].get<std::string>().find("already taken"),
            std::string::npos)
      << r.body;

  r = f.submit(f.tx(alice, 1, state::CreateRepo{"r", "", false, "main"}));  // replayed nonce
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("nonce"), std::string::npos) << r.body;

  r = f.submit(f.tx(bob, 1, state::CreateRepo{"r", "", false, "main"}));  // no username
  EXPECT_EQ(r.status, 403);

  auto good = f.tx(bob, 1, state::RegisterUser{"bob"});
  auto hex = hex_encode(good.encode());
  for (const std::string& body :
       {std::string("{\"tx\": \"") + hex.substr(0, hex.size() - 10) + "\"}",
        std::string("{\"tx\": \"zz\"}"), std::string("{\"tx\": 5}"),
        std::string("{\"tx\": \"") + hex + "00\"}"}) {
    auto [code, text] = f.curl({"-X", "POST", "-H", "Content-Type: application/json",
                                "--data-binary", body, f.node.url() + "/api/guts/transactions"});
    EXPECT_TRUE(code == 400 || code == 422) << code << " " << text;
    EXPECT_TRUE(json::parse(text).contains("message")) << text;
  }
  auto after = f.status();
  EXPECT_EQ(after["height"], before["height"]);
  EXPECT_EQ(after["state_root"], before["state_root"]);
  // Resubmitting an applied transaction is idempotent: it reports where it was applied.
  r = f.submit(f.tx(alice, 1, state::RegisterUser{"alice"}));
  EXPECT_EQ(r.status, 422);  // a new signature time: a different transaction with a used nonce
}

TEST(BadInput, RestErrorsFollowGitHub) {
  Fixture f;
  CliUser alice(f.dir / "alice", f.node.url());
  ASSERT_EQ(alice.guts({"identity", "new"}).code, 0);
  ASSERT_EQ(alice.guts({"auth", "login", "--username", "alice"}).code, 0);
  auto token = alice.token();
  auto auth = "Authorization: token " + token;
  auto url = f.node.url() + "/api/v3/user/repos";
  auto before = f.status();

  auto [c1, b1] = f.curl({"-X", "POST", "-H", auth, "--data-binary", "{\"name\": ", url});
  EXPECT_EQ(c1, 400);
  EXPECT_EQ(json::parse(b1)["message"], "Problems parsing JSON");
  auto [c2, b2] = f.curl({"-X", "POST", "-H", auth, "--data-binary", "{\"name\": 5}", url});
  EXPECT_EQ(c2, 422);
  EXPECT_NE(b2.find("properties/name"), std::string::npos) << b2;
  auto [c3, b3] = f.curl({"-X", "POST", "-H", auth, "--data-binary", "[1,2]", url});
  EXPECT_EQ(c3, 422);
  auto [c4, b4] = f.curl({"-X", "POST", "-H", auth, "--data-binary", "{\"name\": \"a b\"}", url});
  EXPECT_EQ(c4, 422);
  EXPECT_EQ(json::parse(b4)["errors"][0]["field"], "name");
  auto [c5, b5] = f.curl({"-X", "POST", "-H", auth, "--data-binary", "{}", url});
  EXPECT_EQ(c5, 422);
  EXPECT_EQ(json::parse(b5)["errors"][0]["code"], "missing_field");
  auto [c6, b6] = f.curl({"-X", "POST", "-H", "Authorization: token guts_nope", "--data-binary",
                          "{\"name\":\"x\"}", url});
  EXPECT_EQ(c6, 401);
  EXPECT_EQ(json::parse(b6)["message"], "Bad credentials");
  auto [c7, b7] = f.curl({"-X", "POST", "--data-binary", "{\"name\":\"x\"}", url});
  EXPECT_EQ(c7, 401);
  // An oversized body is refused before it is read.
  auto big = f.dir / "big.json";
  {
    std::ofstream out(big);
    out << "{\"name\": \"x\", \"description\": \"" << std::string(11 << 20, 'a') << "\"}";
  }
  auto [c8, b8] = f.curl({"-X", "POST", "-H", auth, "--data-binary", "@" + big.string(), url});
  EXPECT_EQ(c8, 413);
  auto [c9, b9] = f.curl({f.node.url() + "/api/v3/nowhere"});
  EXPECT_EQ(c9, 404);
  auto [c10, b10] = f.curl({"-X", "PUT", f.node.url() + "/api/v3/user/repos"});
  EXPECT_EQ(c10, 405);
  auto [c11, b11] = f.curl({"-X", "PATCH", "-H", auth, "--data-binary", "{\"private\": \"yes\"}",
                            f.node.url() + "/api/v3/repos/alice/none"});
  EXPECT_EQ(c11, 404);

  auto after = f.status();
  EXPECT_EQ(after["height"], before["height"]);
  EXPECT_EQ(after["state_root"], before["state_root"]);

  // Pagination follows GitHub: Link headers with next/last.
  cli::HttpClient c(f.node.url());
  c.set_token(token);
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(c.post("/api/v3/user/repos", json{{"name", "r" + std::to_string(i)}}.dump()).status,
              201);
  auto page = c.get("/api/v3/users/alice/repos?per_page=2");
  EXPECT_EQ(json::parse(page.body).size(), 2u);
  auto link = page.header("link");
  EXPECT_NE(link.find("page=2>; rel=\"next\""), std::string::npos) << link;
  EXPECT_NE(link.find("page=3>; rel=\"last\""), std::string::npos) << link;
  auto last = c.get("/api/v3/users/alice/repos?per_page=2&page=3");
  EXPECT_EQ(json::parse(last.body).size(), 1u);
  EXPECT_NE(last.header("link").find("rel=\"prev\""), std::string::npos);
}
