// Node configuration: flags, environment variables (GUTS_*) and an optional config file.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "finality/relay_core.h"
#include "replication/object_sync.h"

namespace guts::node {

// Test seams: behaviour a test double injects (tests/support/byzantine_*.h, used by the
// test-only guts-node-byzantine). Empty in every production node; nothing in src/ reads the
// environment to misbehave.
struct TestSeams {
  // Replaces the bytes of each finalization head this node sends (nullopt: the real one).
  std::function<std::optional<Bytes>(const finality::HeadSend&)> rewrite_finality_heads;
  // Produces the pack this node serves to a peer instead of the honest one.
  replication::ServeOverride serve_packs;
};

struct NodeConfig {
  std::string api_addr = "127.0.0.1:8080";
  std::string p2p_addr = "127.0.0.1:9000";
  std::filesystem::path data_dir = "data";
  std::filesystem::path genesis_file;      // empty: <data>/genesis.json, created on first start
  std::string public_url;                  // empty: http://<api-addr>
  std::vector<std::string> bootstrap;      // did:key:...@host:port (used by the network layer)
  std::vector<std::string> external_addr;  // p2p host:port announced to peers (default: p2p_addr)
  bool validator = true;
  // Full nodes: which repositories to host (node/seed_policy.h): "all", "repo:<owner>/<name>",
  // "follow:<did>". Empty: all. Validators host everything.
  std::vector<std::string> seed;
  std::string log_level = "info";
  std::filesystem::path port_file;  // if set, the bound API port is written here
  size_t max_block_txs = 5000;
  int api_threads = 2;
  // Repository maintenance (git/maintenance.h, docs/maintenance.md).
  bool maintenance = true;
  uint64_t maintenance_interval_ms = 600000;      // periodic scan; repack at most this often
  int maintenance_concurrency = 1;                // git tasks at a time
  uint64_t maintenance_prune_window_hours = 336;  // unreachable loose objects kept (2 weeks)
  TestSeams seams;
};

// Splits "host:port"; throws guts::Error on malformed input.
std::pair<std::string, uint16_t> split_host_port(const std::string& addr);

}  // namespace guts::node
