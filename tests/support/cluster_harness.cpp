#include "tests/support/cluster_harness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "core/bytes.h"
#include "core/time.h"

namespace guts::testing {

using nlohmann::json;

Cluster::Cluster(ClusterOptions opts)
    : opts_(opts), dir_(unique_temp_dir("cluster")), validators_(opts.validators) {
  std::vector<std::string> init{(bin_dir() / "guts-node").string(),
                                "init-genesis",
                                "--validators",
                                std::to_string(opts.validators),
                                "--out",
                                dir_.string(),
                                "--leader-timeout-ms",
                                std::to_string(opts.leader_timeout_ms),
                                "--certification-timeout-ms",
                                std::to_string(opts.certification_timeout_ms),
                                "--timeout-retry-ms",
                                std::to_string(opts.timeout_retry_ms)};
  init.insert(init.end(), opts.init_args.begin(), opts.init_args.end());
  auto r = run(init);
  if (!r.ok()) throw std::runtime_error("guts-node init-genesis failed: " + r.both());
  genesis_ = json::parse(read_file(genesis_file()));
  chain_id_ = genesis_["chain_id"];
  // init-genesis wrote each validator's key to <out>/node<i>/node.key: that is its data dir.
  for (int i = 0; i < opts.validators; ++i) {
    const auto& v = genesis_["validators"].at(i);
    std::string addr = v["p2p_address"];
    std::vector<std::string> args{"--genesis-file", genesis_file().string(), "--p2p-addr", addr,
                                  "--validator"};
    args.insert(args.end(), opts.validator_args.begin(), opts.validator_args.end());
    nodes_.push_back(make_node(dir_ / ("node" + std::to_string(i)), std::move(args)));
    p2p_addrs_.push_back(addr);
    dids_.push_back(v["did"]);
  }
}

Cluster::~Cluster() {
  nodes_.clear();  // SIGKILL + reap whatever still runs
  bool keep = ::testing::Test::HasFailure() || keep_test_dirs();
  if (keep) {
    std::cerr << "cluster directory kept (genesis, data dirs, node.log): " << dir_.string() << "\n";
  } else {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::unique_ptr<NodeProcess> Cluster::make_node(const fs::path& data_dir,
                                                std::vector<std::string> args) {
  const char* env_level = std::getenv("GUTS_TEST_LOG_LEVEL");
  bool has_level = std::find(args.begin(), args.end(), "--log-level") != args.end();
  if (!(env_level && *env_level) && !has_level && !opts_.log_level.empty())
    args.insert(args.end(), {"--log-level", opts_.log_level});
  return std::make_unique<NodeProcess>(data_dir, std::move(args));
}

int Cluster::add_full_node(std::vector<std::string> extra_args, int bootstrap) {
  return add_node("--no-validator", "full", std::move(extra_args), bootstrap);
}

int Cluster::add_spare_validator(std::vector<std::string> extra_args, int bootstrap) {
  return add_node("--validator", "spare", std::move(extra_args), bootstrap);
}

int Cluster::add_node(const char* role_flag, const char* dir_prefix,
                      std::vector<std::string> extra_args, int bootstrap) {
  if (bootstrap < 0 || bootstrap >= validators_)
    throw std::invalid_argument("bootstrap must be a validator index");
  int index = size();
  std::string addr = "127.0.0.1:" + std::to_string(pick_free_port());
  std::vector<std::string> args{"--genesis-file",
                                genesis_file().string(),
                                role_flag,
                                "--p2p-addr",
                                addr,
                                "--bootstrap",
                                dids_.at(bootstrap) + "@" + p2p_addrs_.at(bootstrap)};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  nodes_.push_back(make_node(dir_ / (dir_prefix + std::to_string(index)), std::move(args)));
  p2p_addrs_.push_back(addr);
  dids_.push_back("");
  return index;
}

void Cluster::start_all() {
  for (int i = 0; i < size(); ++i)
    if (!node(i).running()) start(i);
}

void Cluster::start(int i) {
  if (is_validator(i)) return node(i).start();  // its address is fixed by the genesis
  // A full node's port was free when it was picked; something else may have bound it since.
  for (int attempt = 0;; ++attempt) {
    try {
      return node(i).start();
    } catch (const std::runtime_error& e) {
      if (attempt == 2 || std::string(e.what()).find("in use") == std::string::npos) throw;
    }
    std::string addr = "127.0.0.1:" + std::to_string(pick_free_port());
    auto& args = node(i).extra_args();
    for (size_t k = 0; k + 1 < args.size(); ++k)
      if (args[k] == "--p2p-addr") args[k + 1] = addr;
    p2p_addrs_.at(i) = addr;
  }
}

std::vector<int> Cluster::all() const {
  std::vector<int> v;
  for (int i = 0; i < size(); ++i) v.push_back(i);
  return v;
}

std::vector<int> Cluster::running() const {
  std::vector<int> v;
  for (int i = 0; i < size(); ++i)
    if (nodes_[i]->running()) v.push_back(i);
  return v;
}

std::string Cluster::did(int i) {
  if (dids_.at(i).empty()) dids_[i] = status(i)["node_did"];
  return dids_[i];
}

json Cluster::status(int i) {
  if (!node(i).running()) throw std::runtime_error("node " + std::to_string(i) + " not running");
  cli::HttpClient c(node(i).url());
  c.set_timeout(std::chrono::seconds(5));
  auto r = c.get("/api/guts/status");
  if (r.status != 200)
    throw std::runtime_error("node " + std::to_string(i) + " status " + std::to_string(r.status));
  return json::parse(r.body);
}

std::optional<json> Cluster::try_status(int i) {
  try {
    return status(i);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool Cluster::reached(const std::vector<int>& which, uint64_t height) {
  for (int i : which) {
    auto s = try_status(i);
    if (!s || (*s)["height"].get<uint64_t>() < height) return false;
  }
  return true;
}

bool Cluster::converged(const std::vector<int>& which, uint64_t height, std::string* root) {
  std::optional<std::pair<uint64_t, std::string>> first;
  for (int i : which) {
    auto s = try_status(i);
    if (!s) return false;
    uint64_t h = (*s)["height"];
    std::string r = (*s)["state_root"];
    if (h < height) return false;
    if (!first)
      first.emplace(h, r);
    else if (first->first != h || first->second != r)
      return false;
  }
  if (root && first) *root = first->second;
  return true;
}

bool Cluster::wait_reached(const std::vector<int>& which, uint64_t height,
                           std::chrono::milliseconds deadline) {
  return wait_until([&] { return reached(which, height); }, deadline,
                    std::chrono::milliseconds(50));
}

bool Cluster::wait_converged(const std::vector<int>& which, uint64_t height,
                             std::chrono::milliseconds deadline, std::string* root) {
  return wait_until([&] { return converged(which, height, root); }, deadline,
                    std::chrono::milliseconds(50));
}

std::string Cluster::logs() {
  std::string out;
  for (int i = 0; i < size(); ++i) {
    auto& n = node(i);
    // A node that died on its own is reaped here, so the report says how it ended.
    n.exited();
    std::string state = n.running()               ? "running"
                        : n.exit_status().empty() ? "never started"
                                                  : "ended: " + n.exit_status();
    out += "---- node " + std::to_string(i) +
           (is_validator(i) ? " (validator, " : " (full node, ") + state + ") " +
           n.log_path().string() + "\n" + n.log();
  }
  return out;
}

state::Transaction TxAccount::sign_next(const std::string& chain_id, state::TxBody body) {
  state::Transaction tx;
  tx.chain_id = chain_id;
  tx.author = key.public_key();
  tx.nonce = ++nonce;
  tx.timestamp_ms = unix_millis();
  tx.body = std::move(body);
  tx.sign(key);
  return tx;
}

cli::HttpResult submit_tx(const std::string& url, const state::Transaction& tx,
                          std::chrono::milliseconds timeout) {
  cli::HttpClient c(url);
  c.set_timeout(timeout);
  return c.post("/api/guts/transactions", json{{"tx", hex_encode(tx.encode())}}.dump());
}

bool tx_applied(const std::string& url, const state::Transaction& tx) {
  try {
    cli::HttpClient c(url);
    c.set_timeout(std::chrono::seconds(5));
    return c.get("/api/guts/transactions/" + hex_encode(tx.id())).status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace guts::testing
