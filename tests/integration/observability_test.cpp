// Health and metrics of a real guts-node process (docs/metrics.md): /health/live and
// /health/ready, request ids, the access log, and /metrics after a push and a clone with the
// stock git client (counters and histograms moved; the whole exposition passes
// tests/node/prom_text.py); a full node without peers is not ready.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/e2e/e2e_harness.h"

namespace guts::e2e {
namespace {

using namespace std::chrono_literals;

Cmd curl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"curl", "-s", "--max-time", "10"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

int status_of(const std::string& url) {
  auto r = curl({"-o", "/dev/null", "-w", "%{http_code}", url});
  return r.ok() ? std::stoi(r.out) : 0;
}

// Samples of an exposition: "name{labels}" -> value.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

TEST(Observability, HealthRequestIdsAccessLogAndMetricsAfterPushAndClone) {
  TempDir root("observability");
  Node node(root.path() / "node", {"--no-maintenance"});
  node.start();
  // A one-validator network needs no peer: ready as soon as consensus runs.
  ASSERT_TRUE(wait_until([&] { return status_of(node.url() + "/health/ready") == 200; }, 30s))
      << curl({node.url() + "/health/ready"}).out;
  EXPECT_EQ(status_of(node.url() + "/health/live"), 200);

  // Request ids: a client's is echoed, a bad one replaced.
  auto r = curl({"-D", "-", "-o", "/dev/null", "-H", "X-Request-Id: it-check-42",
                 node.url() + "/api/guts/status"});
  EXPECT_NE(r.out.find("X-Request-Id: it-check-42"), std::string::npos) << r.out;
  r = curl(
      {"-D", "-", "-o", "/dev/null", "-H", "X-Request-Id: bad id", node.url() + "/health/live"});
  EXPECT_NE(r.out.find("X-Request-Id: "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("bad id"), std::string::npos) << r.out;

  User alice(root.path(), "alice", node);
  alice.sign_up();
  auto c = alice.guts({"repo", "create", "seen", "--json"});
  ASSERT_TRUE(c.ok()) << c.both();
  auto work = root.path() / "work";
  ASSERT_TRUE(alice.git({"init", "-q", "-b", "main", work.string()}).ok());
  ASSERT_TRUE(alice.git({"remote", "add", "origin", alice.remote("alice", "seen")}, work).ok());
  commit_file(alice, work, "a.txt", std::string(20000, 'a') + "\n", "first");
  auto push = alice.git({"push", "-q", "origin", "main"}, work);
  ASSERT_TRUE(push.ok()) << push.both() << node.log();
  auto clone =
      alice.git({"clone", "-q", alice.remote("alice", "seen"), (root.path() / "clone").string()});
  ASSERT_TRUE(clone.ok()) << clone.both();
  // A query string with a secret-looking value: never in the access log.
  curl({"-H", "X-Request-Id: with-query", node.url() + "/api/guts/status?token=querysecret"});

  auto scrape = curl({node.url() + "/metrics"});
  ASSERT_TRUE(scrape.ok());
  auto m = samples(scrape.out);
  auto at = [&](const std::string& k) {
    auto it = m.find(k);
    EXPECT_NE(it, m.end()) << k;
    return it == m.end() ? 0.0 : it->second;
  };
  EXPECT_GE(at("guts_git_pushes_total{result=\"accepted\"}"), 1);
  EXPECT_EQ(at("guts_git_pushes_total{result=\"rejected\"}"), 0);
  EXPECT_GE(at("guts_git_upload_pack_requests_total"), 1);
  EXPECT_GE(at("guts_git_ref_advertisements_total{service=\"git-upload-pack\"}"), 1);
  EXPECT_GE(at("guts_git_ref_advertisements_total{service=\"git-receive-pack\"}"), 1);
  EXPECT_GT(at("guts_git_received_bytes_total"), 0);
  EXPECT_GT(at("guts_git_sent_bytes_total"), 0);
  EXPECT_GE(at("guts_git_push_duration_seconds_count"), 1);
  EXPECT_GT(at("guts_git_push_duration_seconds_sum"), 0);
  EXPECT_GE(at("guts_git_upload_pack_duration_seconds_count"), 1);
  EXPECT_GE(at("guts_http_requests_total{method=\"POST\",route=\"/{owner}/{repo}/"
               "git-receive-pack\",status=\"2xx\"}"),
            1);
  EXPECT_GE(at("guts_http_request_duration_seconds_count{route=\"/{owner}/{repo}/"
               "git-upload-pack\"}"),
            1);
  EXPECT_GT(at("guts_http_received_bytes_total"), 0);
  EXPECT_GE(at("guts_consensus_height"), 1);
  EXPECT_GE(at("guts_consensus_network_height"), 1);
  EXPECT_GE(at("guts_consensus_blocks_finalized_total"), 1);
  EXPECT_GE(at("guts_consensus_transactions_finalized_total"), 1);
  EXPECT_GE(at("guts_consensus_finalization_latency_seconds_count"), 1);
  EXPECT_GE(at("guts_consensus_view"), 1);
  EXPECT_GE(at("guts_mempool_admitted_total"), 1);
  EXPECT_EQ(at("guts_node_ready"), 1);
  EXPECT_GT(at("guts_disk_total_bytes"), 0);
  EXPECT_GT(at("guts_process_resident_memory_bytes"), 0);
  EXPECT_GT(at("guts_rocksdb_estimated_keys"), 0);
  for (const auto& [k, v] : m) {
    EXPECT_EQ(k.find("/alice/"), std::string::npos) << "a raw path as a label: " << k;
    EXPECT_EQ(k.rfind("guts_", 0), 0u) << k;
  }

  // The whole exposition, with prometheus_client's parser when installed.
  auto file = root.path() / "metrics.txt";
  write_file(file, scrape.out);
  auto check =
      run({"python3", std::string(GUTS_SOURCE_DIR) + "/tests/node/prom_text.py", file.string()});
  EXPECT_TRUE(check.ok()) << check.both();

  // Access log: route pattern and path, never the query string nor the token.
  std::string log;
  ASSERT_TRUE(wait_until(
      [&] {
        log = node.log();
        return log.find("id=with-query") != std::string::npos;
      },
      10s));
  EXPECT_NE(log.find("\"POST /alice/seen.git/git-receive-pack\" 200 "
                     "route=/{owner}/{repo}/git-receive-pack"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("\"GET /api/guts/status\" 200 route=/api/guts/status"), std::string::npos);
  EXPECT_EQ(log.find("querysecret"), std::string::npos);
  EXPECT_EQ(log.find(alice.token()), std::string::npos);
}

TEST(Observability, FullNodeWithoutPeersIsNotReady) {
  TempDir root("observability-full");
  Node validator(root.path() / "validator");
  validator.start();
  Node full(root.path() / "full",
            {"--no-validator", "--genesis-file", (validator.data_dir() / "genesis.json").string()});
  full.start();
  EXPECT_EQ(status_of(full.url() + "/health/live"), 200);
  auto r = curl({"-w", "\n%{http_code}", full.url() + "/health/ready"});
  ASSERT_TRUE(r.ok());
  auto nl = r.out.rfind('\n');
  EXPECT_EQ(r.out.substr(nl + 1), "503");
  auto body = nlohmann::json::parse(r.out.substr(0, nl));
  EXPECT_EQ(body["status"], "not ready");
  EXPECT_NE(body["reasons"].dump().find("no p2p peer connected"), std::string::npos) << body;
  auto m = samples(curl({full.url() + "/metrics"}).out);
  EXPECT_EQ(m["guts_node_ready"], 0);
  EXPECT_EQ(m["guts_node_validator"], 0);
}

}  // namespace
}  // namespace guts::e2e
