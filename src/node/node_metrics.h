// The node's metrics (docs/metrics.md): what the modules already count, read at scrape time
// (consensus, mempool, p2p, replication, maintenance, RocksDB, disk, process), and what the
// node counts itself from its chain's commits (blocks, finalization latency, nullified views).
#pragma once

#include <filesystem>
#include <functional>
#include <utility>

#include "core/metrics.h"

namespace guts {
namespace state {
class Chain;
class Mempool;
}  // namespace state
namespace runtime {
class SimplexDriver;
}
namespace finality {
class FinalityRelay;
}
namespace replication {
class ObjectSync;
}
namespace git {
class Maintenance;
}
namespace storage {
class Db;
}
namespace api {
class PendingPushes;
}
}  // namespace guts

namespace guts::node {

class Network;

// Counts finalized blocks, their transactions and latency (now - the block's timestamp), and
// the views skipped. A commit listener: call before blocks flow (Chain::add_commit_listener).
void observe_commits(metrics::Registry& registry, state::Chain& chain);

// What the scrape-time collectors read. Each pointer must outlive the registry's use (the node
// stops its API server first); null: that part is left out.
struct NodeMetricsSources {
  std::filesystem::path data_dir;
  bool validator = true;
  size_t validators = 1;  // in the genesis
  state::Chain* chain = nullptr;
  state::Mempool* mempool = nullptr;
  runtime::SimplexDriver* driver = nullptr;  // validators
  finality::FinalityRelay* finality = nullptr;
  Network* network = nullptr;
  replication::ObjectSync* object_sync = nullptr;
  git::Maintenance* maintenance = nullptr;
  storage::Db* db = nullptr;
  api::PendingPushes* pending_pushes = nullptr;
  std::function<bool()> ready;  // guts_node_ready
  // Byzantine-validator evidence records kept (node/evidence.h); empty on a full node.
  std::function<uint64_t()> evidence_records;
  // Webhook deliveries (node/webhooks.h): attempts answered 2xx, and failed attempts.
  std::function<std::pair<uint64_t, uint64_t>()> webhook_deliveries;
};

void add_node_collectors(metrics::Registry& registry, NodeMetricsSources sources);

}  // namespace guts::node
