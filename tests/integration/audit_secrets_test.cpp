// Logs and audit against a real node (docs/audit.md, docs/operator.md "Logs"): guts-node at
// trace level with --log-format json, driven by the real clients (the guts CLI, curl, stock
// git). Every log line is one JSON object; no secret (an API token, the node key's seed, the
// user's identity seed) appears in the log or in any file of the data directory; the audit
// log has every action, with the filters and pagination of GET /api/guts/audit and `guts
// audit`; `guts-node check` agrees with it.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/node_harness.h"

using namespace guts::testing;
using nlohmann::json;

namespace {

void expect_ok(const CmdResult& r, const std::string& what) {
  ASSERT_EQ(r.code, 0) << what << "\nstdout: " << r.out << "\nstderr: " << r.err;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The 64 hex characters of a key file (crypto/keyfile.h: "guts-ed25519-seed-v1\n<hex>\n").
std::string seed_hex(const fs::path& key_file) {
  std::istringstream in(read_file(key_file));
  std::string header, hex;
  std::getline(in, header);
  std::getline(in, hex);
  return trim(hex);
}

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// curl with arguments; the body on stdout.
CmdResult curl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"curl", "-sS", "--max-time", "60"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

Env git_env(const fs::path& home) {
  return {{"HOME", home.string()},
          {"XDG_CONFIG_HOME", (home / ".config").string()},
          {"GIT_CONFIG_NOSYSTEM", "1"},
          {"GIT_TERMINAL_PROMPT", "0"},
          {"GIT_ASKPASS", ""},
          {"GIT_AUTHOR_NAME", "alice"},
          {"GIT_AUTHOR_EMAIL", "alice@example.com"},
          {"GIT_COMMITTER_NAME", "alice"},
          {"GIT_COMMITTER_EMAIL", "alice@example.com"},
          {"LC_ALL", "C"}};
}

}  // namespace

TEST(LogsAndAudit, JsonLogsHoldNoSecretsAndTheAuditLogHasEveryAction) {
  TempDir dir("logs-audit");
  CliUser alice(dir / "alice", ""), bob(dir / "bob", "");
  expect_ok(alice.guts({"identity", "new"}), "alice identity");
  expect_ok(bob.guts({"identity", "new"}), "bob identity");
  auto shown = alice.guts({"identity", "show", "--json"});
  expect_ok(shown, "identity show");
  std::string alice_did = json::parse(shown.out)["did"];

  // Trace level: the most the node ever logs.
  NodeProcess node(dir / "node", {"--log-level", "trace", "--log-format", "json", "--operators",
                                  alice_did, "--no-maintenance"});
  node.start();
  CliUser a(dir / "alice", node.url()), b(dir / "bob", node.url());
  expect_ok(a.guts({"auth", "login", "--username", "alice"}), "alice login");  // signed txs
  expect_ok(b.guts({"auth", "login", "--username", "bob"}), "bob login");
  std::string token = a.token(), bob_token = b.token();
  ASSERT_EQ(token.rfind("guts_", 0), 0u) << token;
  expect_ok(a.guts({"repo", "create", "hello"}), "repo create");

  // The token in use: Authorization header, basic auth, and in the query string (not a way to
  // authenticate, but a client may send it: it must not be logged either).
  auto r = curl({"-f", "-H", "Authorization: token " + token, node.url() + "/api/v3/user"});
  expect_ok(r, "curl token");
  EXPECT_EQ(json::parse(r.out)["login"], "alice");
  r = curl({"-f", "-u", "alice:" + token, node.url() + "/api/v3/user"});
  expect_ok(r, "curl basic");
  r = curl(
      {"-o", "/dev/null", "-w", "%{http_code}", node.url() + "/api/v3/user?access_token=" + token});
  EXPECT_EQ(r.out, "401");
  r = curl({"-o", "/dev/null", "-w", "%{http_code}", "-H",
            "Authorization: token guts_" + std::string(64, '0'), node.url() + "/api/v3/user"});
  EXPECT_EQ(r.out, "401");  // a wrong token

  // git push with the token in the URL.
  auto work = dir / "work";
  fs::create_directories(work);
  auto genv = git_env(dir / "alice");
  expect_ok(run({"git", "init", "-q", "-b", "main", work.string()}, genv), "git init");
  { std::ofstream(work / "README") << "hello\n"; }
  expect_ok(run({"git", "add", "README"}, genv, work), "git add");
  expect_ok(run({"git", "commit", "-q", "-m", "first"}, genv, work), "git commit");
  std::string push_url =
      "http://alice:" + token + "@127.0.0.1:" + std::to_string(node.port()) + "/alice/hello.git";
  expect_ok(run({"git", "push", "-q", push_url, "main"}, genv, work), "git push");

  // A token revoked (logout): a local audit record. Alice logs in again for the queries.
  expect_ok(b.guts({"auth", "logout"}), "bob logout");
  expect_ok(b.guts({"auth", "login"}), "bob login again");
  bob_token = b.token();

  // --- the audit log over HTTP ---
  r = curl({"-f", "-D", (dir / "headers").string(), "-H", "Authorization: token " + token,
            node.url() + "/api/guts/audit?per_page=100"});
  expect_ok(r, "GET /api/guts/audit");
  auto all = json::parse(r.out);
  ASSERT_TRUE(all.is_array());
  std::map<std::string, int> kinds;
  for (const auto& rec : all) kinds[rec["kind"]]++;
  EXPECT_EQ(kinds["register_user"], 2) << all.dump(1);
  EXPECT_GE(kinds["grant_delegation"], 2);
  EXPECT_EQ(kinds["create_repo"], 1);
  EXPECT_EQ(kinds["update_refs"], 1);
  EXPECT_GE(kinds["token.create"], 3);
  EXPECT_GE(kinds["token.revoke"], 1);
  for (size_t i = 1; i < all.size(); ++i) {
    auto key = [](const json& x) {
      return std::pair{x["height"].get<uint64_t>(), x["local"].get<bool>()};
    };
    EXPECT_GE(key(all[i - 1]), key(all[i])) << "newest first";
  }
  json push;
  for (const auto& rec : all)
    if (rec["kind"] == "update_refs") push = rec;
  EXPECT_EQ(push["repo"], "alice/hello");
  EXPECT_EQ(push["actor"], alice_did);
  EXPECT_EQ(push["actor_username"], "alice");
  EXPECT_EQ(push["refs"], json::array({"refs/heads/main"}));
  EXPECT_EQ(push["outcome"], "applied");
  ASSERT_TRUE(push["transaction"].is_string());
  // The transaction it names is in the block it names.
  r = curl({"-f", node.url() + "/api/guts/transactions/" + push["transaction"].get<std::string>()});
  expect_ok(r, "the audited transaction");
  EXPECT_EQ(json::parse(r.out)["height"], push["height"]);

  // Filters, and cursor pages following the Link header.
  r = curl({"-f", "-H", "Authorization: token " + token,
            node.url() + "/api/guts/audit?actor=bob&kind=register_user"});
  expect_ok(r, "filtered");
  auto bobs = json::parse(r.out);
  ASSERT_EQ(bobs.size(), 1u);
  EXPECT_EQ(bobs[0]["actor_username"], "bob");
  std::string next = node.url() + "/api/guts/audit?per_page=2";
  json paged = json::array();
  for (int pages = 0; pages < 100 && !next.empty(); ++pages) {
    r = curl({"-f", "-D", (dir / "h").string(), "-H", "Authorization: token " + token, next});
    expect_ok(r, "page");
    for (auto& x : json::parse(r.out)) paged.push_back(x);
    next.clear();
    std::istringstream hs(read_file(dir / "h"));
    for (std::string line; std::getline(hs, line);) {
      if (line.rfind("Link:", 0) != 0 && line.rfind("link:", 0) != 0) continue;
      auto lt = line.find('<'), gt = line.find('>');
      ASSERT_NE(line.find("rel=\"next\""), std::string::npos) << line;
      next = line.substr(lt + 1, gt - lt - 1);
    }
  }
  EXPECT_EQ(paged, all);

  // Who may read: bob is no operator; he reads the records of a repository he can read.
  r = curl({"-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: token " + bob_token,
            node.url() + "/api/guts/audit"});
  EXPECT_EQ(r.out, "403");
  r = curl({"-o", "/dev/null", "-w", "%{http_code}", node.url() + "/api/guts/audit"});
  EXPECT_EQ(r.out, "401");
  r = curl({"-f", "-H", "Authorization: token " + bob_token,
            node.url() + "/api/guts/repos/alice/hello/audit"});
  expect_ok(r, "repo audit");
  auto repo_records = json::parse(r.out);
  ASSERT_EQ(repo_records.size(), 2u) << repo_records.dump(1);
  EXPECT_EQ(repo_records[0]["kind"], "update_refs");
  EXPECT_EQ(repo_records[1]["kind"], "create_repo");

  // The CLI.
  auto out = a.guts({"audit", "--repo", "alice/hello"});
  expect_ok(out, "guts audit --repo");
  EXPECT_NE(out.out.find("update_refs  alice/hello  refs/heads/main"), std::string::npos)
      << out.out;
  out = a.guts({"audit", "--kind", "token.revoke", "--json"});
  expect_ok(out, "guts audit --kind");
  auto revokes = json::parse(out.out);
  ASSERT_GE(revokes.size(), 1u);
  EXPECT_EQ(revokes[0]["local"], true);
  EXPECT_EQ(revokes[0]["actor_username"], "bob");
  out = b.guts({"audit"});
  EXPECT_NE(out.code, 0);
  EXPECT_NE(out.err.find("operator"), std::string::npos) << out.err;

  node.stop();
  // `guts-node check` replays the chain and compares the audit log.
  r = run({(bin_dir() / "guts-node").string(), "check", "--data-dir", node.data_dir().string()});
  expect_ok(r, "guts-node check");

  // --- the log: one JSON object per line ("==== start" lines are the harness's) ---
  auto log = read_file(node.log_path());
  size_t lines = 0;
  bool saw_debug = false;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("==== ", 0) == 0) continue;
    ++lines;
    json j;
    ASSERT_NO_THROW(j = json::parse(line)) << "not JSON: " << line;
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    if (j["level"] == "trace" || j["level"] == "debug") saw_debug = true;
  }
  EXPECT_GT(lines, 5u);
  EXPECT_TRUE(saw_debug) << "trace/debug lines expected at --log-level trace";

  // --- no secret anywhere but in the key files themselves ---
  std::string node_seed = seed_hex(node.data_dir() / "node.key");
  std::string alice_seed = seed_hex(dir / "alice" / "identity.key");
  ASSERT_EQ(node_seed.size(), 64u);
  ASSERT_EQ(alice_seed.size(), 64u);
  const std::vector<std::pair<std::string, std::string>> secrets = {
      {"token", token},
      {"token secret (hex)", token.substr(5)},
      {"token secret (raw)", unhex(token.substr(5))},
      {"bob's token", bob_token},
      {"node seed (hex)", node_seed},
      {"node seed (HEX)", upper(node_seed)},
      {"node seed (raw)", unhex(node_seed)},
      {"identity seed (hex)", alice_seed},
      {"identity seed (raw)", unhex(alice_seed)},
  };
  for (const auto& [what, secret] : secrets)
    EXPECT_EQ(log.find(secret), std::string::npos) << what << " in the node's log";
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(node.data_dir())) {
    if (!e.is_regular_file() || e.path().filename() == "node.key") continue;
    ++files;
    auto content = read_file(e.path());
    for (const auto& [what, secret] : secrets)
      EXPECT_EQ(content.find(secret), std::string::npos) << what << " in " << e.path();
  }
  EXPECT_GT(files, 5u);
}
