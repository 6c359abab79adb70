// guts-bench-consensus: load for a Guts network (one node or several validators) through
// POST /api/guts/transactions, with ~1 KB signed transactions (docs/benchmarks.md, "Consensus").
//
//   --mode ack    closed loop: every client submits one transaction at a time and waits for its
//                 acknowledgement (the block applied on that node); prints submit→ack latency.
//   --mode flood  open loop: clients submit everything without waiting (?wait=false, the
//                 mempool door answers), then the run ends when every client's last
//                 transaction is applied on the first node; prints finalized transactions/s.
//   --mode rate   open loop at an offered load: transaction k of the run is due at
//                 start + k / --rate seconds (clients take turns); each waits for its
//                 acknowledgement. Latency is measured from the DUE time (a client that is still
//                 waiting for its previous answer starts late and that delay counts: no
//                 coordinated omission); 503/429 answers (the door's back-pressure) are counted,
//                 not retried. Prints a `RESULT {json}` line for bench/throughput_figures.sh.
//
// Clients are spread over the --node URLs round-robin. Transactions are signed before the
// clock starts (client-side signing is not measured). Each client is a new identity with a
// username and a repository (set up before the clock starts); the load is issues opened in that
// repository, each body padding the signed transaction to --tx-bytes.
//
//   --text words  titles and bodies of made-up words instead of padding, for search figures
//                 (bench/scale_issues.py): words drawn from a Zipf(1) vocabulary of 5,000
//                 (rank r's word is syllables(r), below), 3-8 in a title and 15-60 in a body,
//                 plus one word found in no other issue, "uq" + syllables(global index), where
//                 the global index of client c's i-th issue is c * --txs-per-client + i.
//                 Flood mode retries a refused (503/429) submission after its Retry-After
//                 (20 ms without one), so a run of a million issues fills the node at the rate
//                 its door admits.
//   --batch N     flood mode: each client sends its transactions N at a time through
//                 POST /api/guts/transactions/batch (binary body, ?wait=false) instead of one
//                 request each; a batch cut short by a refusal is sent again from the refused
//                 transaction on, after its Retry-After. Rate mode: a client sends, in one
//                 waited request, all of its transactions that are due (at most N), so while
//                 it waits for an answer the next batch gathers; latency is still measured per
//                 transaction from its due time.
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
#include "state/collab.h"
#include "state/tx.h"
#include "state/tx_batch.h"

using namespace guts;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

// A word of two-letter syllables spelling n in base 16 (least significant first).
std::string syllables(uint64_t n) {
  static constexpr const char* kSyllables[16] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo",
                                                 "xe", "zu", "be", "do", "fa", "gi", "ho", "ju"};
  std::string word;
  do {
    word += kSyllables[n % 16];
    n /= 16;
  } while (n != 0);
  return word;
}

// Deterministic text for --text words (see the header).
class ZipfText {
 public:
  explicit ZipfText(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {
    double total = 0;
    for (uint64_t rank = 1; rank <= kVocabulary; ++rank) cumulative_.push_back(total += 1.0 / rank);
  }
  std::string words(int min, int max) {
    const auto count = min + static_cast<int>(next() % static_cast<uint64_t>(max - min + 1));
    std::string out;
    for (int k = 0; k < count; ++k) {
      const double u = static_cast<double>(next() >> 11) / 9007199254740992.0 * cumulative_.back();
      const auto rank =
          std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin() + 1;
      if (!out.empty()) out += ' ';
      out += syllables(static_cast<uint64_t>(rank));
    }
    return out;
  }

 private:
  static constexpr uint64_t kVocabulary = 5000;
  uint64_t next() {  // xorshift64*
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  uint64_t state_;
  std::vector<double> cumulative_;
};

// The door refused: wait for blocks to drain it, as long as its Retry-After says (at most 30 s;
// 20 ms without one), before offering again.
void back_off(const cli::HttpResult& refusal) {
  int after_s = 0;
  try {
    after_s = std::stoi(refusal.header("retry-after"));
  } catch (const std::exception&) {
  }
  std::this_thread::sleep_for(after_s > 0 ? std::chrono::milliseconds(1000 * std::min(after_s, 30))
                                          : std::chrono::milliseconds(20));
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"guts-bench-consensus: transaction load against a Guts network"};
  std::vector<std::string> nodes{"http://127.0.0.1:8080"};
  std::string mode = "ack";
  int clients = 64, per_client = 100;
  double rate = 1000;
  size_t tx_bytes = 1024;
  app.add_option("--node", nodes, "Node API URL (repeatable; clients are spread round-robin)");
  app.add_option("--mode", mode,
                 "ack (closed loop, latency), flood (open loop, throughput) or rate (open loop at "
                 "--rate tx/s, latency)")
      ->check(CLI::IsMember({"ack", "flood", "rate"}))
      ->capture_default_str();
  app.add_option("--clients", clients)->capture_default_str();
  app.add_option("--txs-per-client", per_client)->capture_default_str();
  app.add_option("--rate", rate, "Offered load of --mode rate, transactions per second")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--tx-bytes", tx_bytes, "Approximate size of each signed transaction")
      ->capture_default_str();
  std::string text = "pad";
  app.add_option("--text", text, "pad (one title, a body padded to --tx-bytes) or words")
      ->check(CLI::IsMember({"pad", "words"}))
      ->capture_default_str();
  size_t batch = 1;
  app.add_option("--batch", batch, "Flood mode: transactions per request (1: POST /transactions)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (batch > 1 && mode == "ack") {
    std::cerr << "--batch is for --mode flood or rate\n";
    return 2;
  }

  cli::HttpClient probe(nodes.front());
  auto status = json::parse(probe.get("/api/guts/status").body);
  std::string chain = status["chain_id"];
  uint64_t height0 = status["height"];

  // Setup (not measured): each client registers a username and creates one repository, then
  // the load is issues opened in it (a state write with no git work, unlike repository
  // creation, whose bare repository costs a `git init`).
  std::string run = hex_encode(crypto::random_array<3>());
  std::vector<crypto::SigningKey> keys;
  for (int c = 0; c < clients; ++c) keys.push_back(crypto::SigningKey::generate());
  std::vector<uint64_t> repo_ids(clients);
  std::atomic<int> setup_failures{0};
  {
    std::vector<std::thread> ts;
    for (int c = 0; c < clients; ++c) {
      ts.emplace_back([&, c] {
        cli::HttpClient http(nodes[static_cast<size_t>(c) % nodes.size()]);
        http.set_timeout(std::chrono::seconds(120));
        std::string user = "b" + run + "c" + std::to_string(c);
        for (uint64_t nonce = 1; nonce <= 2; ++nonce) {
          state::Transaction tx;
          tx.chain_id = chain;
          tx.author = keys[c].public_key();
          tx.nonce = nonce;
          tx.timestamp_ms = unix_millis();
          if (nonce == 1)
            tx.body = state::RegisterUser{user};
          else
            tx.body = state::CreateRepo{"load", "benchmark repository", false, "main"};
          tx.sign(keys[c]);
          try {
            auto r =
                http.post("/api/guts/transactions", json{{"tx", hex_encode(tx.encode())}}.dump());
            if (r.status != 200) throw std::runtime_error(r.body);
          } catch (const std::exception& e) {
            std::cerr << "setup: " << e.what() << "\n";
            ++setup_failures;
            return;
          }
        }
        auto r = http.get("/api/v3/repos/" + user + "/load");
        if (r.status != 200) {
          std::cerr << "setup: repository lookup " << r.status << " " << r.body << "\n";
          ++setup_failures;
          return;
        }
        repo_ids[c] = json::parse(r.body)["id"].get<uint64_t>();
      });
    }
    for (auto& t : ts) t.join();
  }
  if (setup_failures) return 1;
  {
    json users = json::array();
    for (int c = 0; c < clients; ++c) users.push_back("b" + run + "c" + std::to_string(c));
    std::cout << "SETUP " << json{{"users", users}, {"repo", "load"}}.dump() << std::endl;
  }
  height0 = json::parse(probe.get("/api/guts/status").body)["height"];

  std::vector<std::vector<std::string>> bodies(clients);
  std::vector<std::vector<Bytes>> encodings(clients);  // --batch
  std::vector<std::string> last_ids(clients);
  size_t total_bytes = 0;
  for (int c = 0; c < clients; ++c) {
    ZipfText words(static_cast<uint64_t>(c));
    for (int i = 0; i < per_client; ++i) {
      state::Transaction tx;
      tx.chain_id = chain;
      tx.author = keys[c].public_key();
      tx.nonce = static_cast<uint64_t>(i) + 3;
      tx.timestamp_ms = unix_millis();
      state::CreateIssue body;
      body.repo_id = repo_ids[c];
      if (text == "words") {
        body.title = words.words(3, 8);
        body.body = words.words(15, 60) + " uq" +
                    syllables(static_cast<uint64_t>(c) * static_cast<uint64_t>(per_client) +
                              static_cast<uint64_t>(i));
      } else {
        body.title = "load " + std::to_string(i);
        tx.body = body;
        tx.sign(keys[c]);
        size_t size = tx.encode().size();
        if (size < tx_bytes) body.body.assign(tx_bytes - size, 'x');
      }
      tx.body = body;
      tx.sign(keys[c]);
      auto enc = tx.encode();
      total_bytes += enc.size();
      if (batch > 1)
        encodings[c].push_back(enc);
      else
        bodies[c].push_back(json{{"tx", hex_encode(enc)}}.dump());
      if (i == per_client - 1) last_ids[c] = hex_encode(tx.id());
    }
  }

  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<int> failures{0}, refused{0};
  std::atomic<int64_t> last_done_us{0};
  auto start = Clock::now();
  if (mode == "rate") {
    std::vector<std::thread> ts;
    const auto period = std::chrono::duration<double>(1.0 / rate);
    for (int c = 0; c < clients; ++c) {
      ts.emplace_back([&, c] {
        cli::HttpClient http(nodes[static_cast<size_t>(c) % nodes.size()]);
        http.set_timeout(std::chrono::seconds(120));
        std::vector<double> mine;
        auto due_at = [&](int i) {
          return start + std::chrono::duration_cast<Clock::duration>(
                             period * (static_cast<double>(i) * clients + c));
        };
        for (int i = 0; batch > 1 && i < per_client;) {
          std::this_thread::sleep_until(due_at(i));
          int end = i + 1;
          for (auto now = Clock::now();
               end < per_client && end - i < static_cast<int>(batch) && due_at(end) <= now;)
            ++end;
          Bytes payload = state::encode_transactions(
              std::span<const Bytes>(encodings[c])
                  .subspan(static_cast<size_t>(i), static_cast<size_t>(end - i)));
          cli::HttpResult r;
          try {
            r = http.post("/api/guts/transactions/batch", to_string(payload),
                          "application/octet-stream");
          } catch (const std::exception& e) {
            ++failures;
            std::cerr << "error: " << e.what() << "\n";
            return;
          }
          auto done = Clock::now();
          json answer = json::parse(r.body, nullptr, false);
          if (!answer.is_object() || !answer.contains("results")) {
            ++failures;
            std::cerr << "batch answered " << r.status << ": " << r.body.substr(0, 300) << "\n";
            return;
          }
          bool stop = false;
          for (int j = i; j < end; ++j) {
            const auto& item = answer["results"][static_cast<size_t>(j - i)];
            std::string st = item.value("status", "");
            if (st == "refused" || st == "skipped") {
              ++refused;  // back-pressure: later nonces of this client cannot apply any more
              stop = true;
              break;
            }
            if (st != "applied") {
              ++failures;
              std::cerr << "rejected: " << item.dump() << "\n";
              return;
            }
            mine.push_back(std::chrono::duration<double, std::milli>(done - due_at(j)).count());
          }
          if (stop) break;
          int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(done - start).count();
          for (int64_t seen = last_done_us.load(); us > seen;)
            if (last_done_us.compare_exchange_weak(seen, us)) break;
          i = end;
        }
        for (int i = 0; batch == 1 && i < per_client; ++i) {
          auto due = due_at(i);
          std::this_thread::sleep_until(due);
          cli::HttpResult r;
          try {
            r = http.post("/api/guts/transactions", bodies[c][static_cast<size_t>(i)]);
          } catch (const std::exception& e) {
            ++failures;
            std::cerr << "error: " << e.what() << "\n";
            return;
          }
          auto done = Clock::now();
          if (r.status == 503 || r.status == 429) {
            ++refused;  // back-pressure: later nonces of this client cannot apply any more
            break;
          }
          if (r.status != 200) {
            ++failures;
            std::cerr << "rejected: " << r.body << "\n";
            return;
          }
          mine.push_back(std::chrono::duration<double, std::milli>(done - due).count());
          int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(done - start).count();
          for (int64_t seen = last_done_us.load(); us > seen;)
            if (last_done_us.compare_exchange_weak(seen, us)) break;
        }
        std::lock_guard lock(mu);
        latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
      });
    }
    for (auto& t : ts) t.join();
    const double secs = static_cast<double>(last_done_us.load()) / 1e6;
    const size_t n = latencies_ms.size();
    const double achieved = secs > 0 ? static_cast<double>(n) / secs : 0;
    json result{{"nodes", nodes.size()},
                {"clients", clients},
                {"offered", rate},
                {"achieved", achieved},
                {"transactions", n},
                {"refused", refused.load()},
                {"failures", failures.load()},
                {"p50_ms", pct(latencies_ms, 0.50)},
                {"p99_ms", pct(latencies_ms, 0.99)},
                {"max_ms", pct(latencies_ms, 1.0)}};
    std::cout << "offered " << rate << " tx/s, achieved " << static_cast<int>(achieved)
              << " tx/s; latency due->ack p50 " << pct(latencies_ms, 0.50) << " ms, p99 "
              << pct(latencies_ms, 0.99) << " ms; refused (503/429) " << refused << "\n"
              << "RESULT " << result.dump() << "\n";
    return failures == 0 ? 0 : 1;
  }
  std::vector<std::thread> threads;
  const char* path = mode == "ack" ? "/api/guts/transactions" : "/api/guts/transactions?wait=false";
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      cli::HttpClient http(nodes[static_cast<size_t>(c) % nodes.size()]);
      http.set_timeout(std::chrono::seconds(120));
      std::vector<double> mine;
      if (batch > 1) {
        // Batches of --batch, each sent again from its first refused transaction on.
        const auto& encs = encodings[c];
        for (size_t next = 0; next < encs.size();) {
          size_t end = std::min(next + batch, encs.size());
          Bytes payload =
              state::encode_transactions(std::span<const Bytes>(encs).subspan(next, end - next));
          auto t0 = Clock::now();
          cli::HttpResult r;
          try {
            r = http.post("/api/guts/transactions/batch?wait=false", to_string(payload),
                          "application/octet-stream");
          } catch (const std::exception& e) {
            ++failures;
            std::cerr << "error: " << e.what() << "\n";
            return;
          }
          double dt = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          json answer = json::parse(r.body, nullptr, false);
          if ((r.status != 202 && r.status != 503 && r.status != 429) || !answer.is_object() ||
              !answer.contains("results")) {
            ++failures;
            std::cerr << "batch answered " << r.status << ": " << r.body.substr(0, 300) << "\n";
            return;
          }
          size_t taken = 0;
          for (const auto& item : answer["results"]) {
            std::string st = item.value("status", "");
            if (st != "pending") {
              if (st == "refused" || st == "skipped") break;
              ++failures;
              std::cerr << "rejected: " << item.dump() << "\n";
              return;
            }
            ++taken;
          }
          mine.insert(mine.end(), taken, dt);
          next += taken;
          if (next < end) {  // refused from `next` on: back off as the door asks
            ++refused;
            back_off(r);
          }
        }
        std::lock_guard lock(mu);
        latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
        return;
      }
      for (const auto& body : bodies[c]) {
        auto t0 = Clock::now();
        cli::HttpResult r;
        double dt = 0;
        for (bool first = true;; first = false) {
          if (!first) {
            ++refused;  // the door is full: offer it again once it drains
            back_off(r);
          }
          try {
            r = http.post(path, body);
          } catch (const std::exception& e) {
            ++failures;
            std::cerr << "error: " << e.what() << "\n";
            return;
          }
          if (first) dt = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
          if (mode != "flood" || (r.status != 503 && r.status != 429)) break;
        }
        if (r.status != 200 && r.status != 202) {
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
  double submitted_s = std::chrono::duration<double>(Clock::now() - start).count();
  if (mode == "flood") {
    // Finalized and applied: every client's last transaction is in the chain of the first node.
    for (int c = 0; c < clients && failures == 0; ++c) {
      for (;;) {
        auto r = probe.get("/api/guts/transactions/" + last_ids[c]);
        if (r.status == 200) break;
        if (std::chrono::duration<double>(Clock::now() - start).count() > 3600) {
          std::cerr << "timed out waiting for finalization\n";
          return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  auto end_status = json::parse(probe.get("/api/guts/status").body);
  uint64_t blocks = end_status["height"].get<uint64_t>() - height0;
  size_t n = latencies_ms.size();
  std::cout << "mode " << mode << ", nodes " << nodes.size() << ", clients " << clients
            << ", transactions " << n << " (avg "
            << (n ? total_bytes / (static_cast<size_t>(clients) * per_client) : 0)
            << " bytes), failures " << failures << ", refused and offered again " << refused
            << "\n";
  if (mode == "ack") {
    std::cout << "throughput " << static_cast<int>(static_cast<double>(n) / secs) << " tx/s over "
              << secs << " s\n"
              << "latency submit->ack p50 " << pct(latencies_ms, 0.50) << " ms, p90 "
              << pct(latencies_ms, 0.90) << " ms, p99 " << pct(latencies_ms, 0.99) << " ms, max "
              << pct(latencies_ms, 1.0) << " ms\n";
  } else {
    std::cout << "submitted in " << submitted_s << " s (door latency p50 " << pct(latencies_ms, 0.5)
              << " ms)\n"
              << "finalized and applied " << static_cast<int>(static_cast<double>(n) / secs)
              << " tx/s over " << secs << " s\n";
  }
  std::cout << "blocks " << blocks << " (" << (blocks ? n / blocks : 0) << " tx per block)\n";
  return failures == 0 ? 0 : 1;
}
