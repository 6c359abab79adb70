// guts-bench-submit: load against a running node through POST /api/guts/transactions.
// Every client has its own identity, pre-signs its transactions (so client-side signing is not
// measured), and submits them one at a time, each waiting for its acknowledgement (the block
// applied). Prints throughput and submit→ack latency percentiles.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/http_client.h"
#include "core/time.h"
#include "crypto/hash.h"
#include "state/tx.h"

using namespace guts;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  CLI::App app{"guts-bench-submit"};
  std::string node = "http://127.0.0.1:8080";
  int clients = 64, per_client = 200;
  app.add_option("--node", node)->capture_default_str();
  app.add_option("--clients", clients)->capture_default_str();
  app.add_option("--txs-per-client", per_client)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  cli::HttpClient probe(node);
  auto status = nlohmann::json::parse(probe.get("/api/guts/status").body);
  std::string chain = status["chain_id"];

  // Pre-sign: a username registration, then delegation grants (pure state, ~270 bytes signed).
  // Repository creation is not the workload: each one also runs `git init` for its bare
  // repository, which would measure git rather than the ledger.
  std::vector<std::vector<std::string>> bodies(clients);
  std::string run = hex_encode(crypto::random_array<3>());
  for (int c = 0; c < clients; ++c) {
    auto key = crypto::SigningKey::generate();
    for (int i = 0; i < per_client; ++i) {
      state::Transaction tx;
      tx.chain_id = chain;
      tx.author = key.public_key();
      tx.nonce = static_cast<uint64_t>(i) + 1;
      tx.timestamp_ms = unix_millis();
      if (i == 0)
        tx.body = state::RegisterUser{"b" + run + "c" + std::to_string(c)};
      else
        tx.body = state::GrantDelegation{crypto::SigningKey::generate().public_key(),
                                         state::kScopeAll, unix_millis() + 3600 * 1000};
      tx.sign(key);
      bodies[c].push_back(nlohmann::json{{"tx", hex_encode(tx.encode())}}.dump());
    }
  }

  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<int> failures{0};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      cli::HttpClient http(node);
      std::vector<double> mine;
      for (const auto& body : bodies[c]) {
        auto t0 = Clock::now();
        auto r = http.post("/api/guts/transactions", body);
        auto dt = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (r.status != 200) {
          ++failures;
          std::cerr << "rejected: " << r.body << "\n";
          return;
        }
        mine.push_back(dt);
      }
      std::lock_guard lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    return latencies_ms.empty()
               ? 0.0
               : latencies_ms[std::min(latencies_ms.size() - 1,
                                       static_cast<size_t>(p * latencies_ms.size()))];
  };
  auto end_status = nlohmann::json::parse(probe.get("/api/guts/status").body);
  uint64_t blocks = end_status["height"].get<uint64_t>() - status["height"].get<uint64_t>();
  std::cout << "clients " << clients << ", transactions " << latencies_ms.size() << ", failures "
            << failures << "\nthroughput " << static_cast<int>(latencies_ms.size() / secs)
            << " tx/s over " << secs << " s"
            << "\nlatency submit->ack p50 " << pct(0.50) << " ms, p99 " << pct(0.99) << " ms, max "
            << (latencies_ms.empty() ? 0 : latencies_ms.back()) << " ms"
            << "\nblocks " << blocks << " (" << (blocks ? latencies_ms.size() / blocks : 0)
            << " tx per block)\n";
  return failures == 0 ? 0 : 1;
}
