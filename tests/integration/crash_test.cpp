// kill -9 at random moments while transactions flow: every acknowledged transaction survives,
// nothing is half-applied, and replaying the chain from genesis (what a node that never
// crashed computes) reproduces every recorded state root.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "cli/http_client.h"
#include "core/time.h"
#include "state/tx.h"
#include "tests/support/node_harness.h"

using namespace guts;
using namespace guts::testing;
using nlohmann::json;

namespace {
int env_int(const char* name, int dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : dflt;
}
}  // namespace

TEST(Crash, KillNineLosesNoAcknowledgedTransaction) {
  const int iterations = env_int("GUTS_CRASH_ITERATIONS", 6);
  const int clients = 6;
  uint64_t seed =
      static_cast<uint64_t>(env_int("GUTS_CRASH_SEED", static_cast<int>(std::random_device{}())));
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("GUTS_CRASH_SEED=" + std::to_string(seed));

  auto dir = unique_temp_dir("crash");
  NodeProcess node(dir / "node");
  std::mutex mu;
  std::vector<std::string> acked;

  for (int it = 0; it < iterations; ++it) {
    node.start();
    std::string chain_id =
        json::parse(cli::HttpClient(node.url()).get("/api/guts/status").body)["chain_id"];
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        auto key = crypto::SigningKey::generate();
        cli::HttpClient http(node.url());
        http.set_timeout(std::chrono::seconds(20));
        for (uint64_t nonce = 1; !stop; ++nonce) {
          state::Transaction tx;
          tx.chain_id = chain_id;
          tx.author = key.public_key();
          tx.nonce = nonce;
          tx.timestamp_ms = unix_millis();
          if (nonce == 1)
            tx.body = state::RegisterUser{"u" + std::to_string(it) + "x" + std::to_string(c) + "x" +
                                          hex_encode(ByteView(key.public_key()).first(4))};
          else
            tx.body = state::CreateRepo{"repo" + std::to_string(nonce), "made before a crash",
                                        nonce % 2 == 0, "main"};
          tx.sign(key);
          try {
            auto r =
                http.post("/api/guts/transactions", json{{"tx", hex_encode(tx.encode())}}.dump());
            if (r.status != 200) {
              ADD_FAILURE() << "unexpected rejection: " << r.body;
              return;
            }
            std::lock_guard lock(mu);
            acked.push_back(json::parse(r.body)["id"]);
          } catch (const std::exception&) {
            return;  // the node died under us: this transaction's fate is unknown, not acknowledged
          }
        }
      });
    }
    // Crash after a random number of further acknowledgements (a condition, not a timer).
    size_t base;
    {
      std::lock_guard lock(mu);
      base = acked.size();
    }
    size_t target = base + std::uniform_int_distribution<size_t>(1, 400)(rng);
    // "Stopped flowing" is a minute without a new acknowledgement, not a rate: a node with
    // hundreds of repositories on a busy 2-core machine acknowledges ~5 a second.
    for (size_t seen = base;;) {
      size_t now_acked = 0;
      bool moved = wait_until(
          [&] {
            std::lock_guard lock(mu);
            now_acked = acked.size();
            return now_acked >= target || now_acked > seen;
          },
          std::chrono::seconds(60), std::chrono::milliseconds(1));
      ASSERT_TRUE(moved) << "transactions stopped flowing (" << now_acked << " acknowledged, "
                         << target << " wanted)\n"
                         << node.log();
      if (now_acked >= target) break;
      seen = now_acked;
    }
    node.kill9();
    stop = true;
    for (auto& t : threads) t.join();

    node.start();
    cli::HttpClient check(node.url());
    std::lock_guard lock(mu);
    for (const auto& id : acked) {
      auto r = check.get("/api/guts/transactions/" + id);
      ASSERT_EQ(r.status, 200) << "acknowledged transaction " << id << " was lost in crash " << it;
    }
    node.kill9();
  }
  node.start();
  auto status = json::parse(cli::HttpClient(node.url()).get("/api/guts/status").body);
  node.stop();
  auto r =
      run({(bin_dir() / "guts-node").string(), "check", "--data-dir", (dir / "node").string()});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(status["state_root"].get<std::string>()), std::string::npos) << r.out;
  EXPECT_GT(acked.size(), static_cast<size_t>(iterations));
  std::filesystem::remove_all(dir);
}
