#include "node/node_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>

#include "api/git_routes.h"
#include "core/thread_annotations.h"
#include "core/time.h"
#include "finality/relay.h"
#include "git/maintenance.h"
#include "node/network.h"
#include "p2p/address_book.h"
#include "p2p/discovery.h"
#include "replication/object_sync.h"
#include "runtime/simplex_driver.h"
#include "state/chain.h"
#include "state/mempool.h"
#include "storage/db.h"

namespace guts::node {

namespace fs = std::filesystem;

namespace {

double to_double(uint64_t v) {
  return static_cast<double>(v);
}

uint64_t resident_bytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

uint64_t open_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return 0;
  uint64_t n = 0;
  while (auto* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n > 0 ? n - 1 : 0;  // the directory stream's own descriptor
}

// The size of the files under a directory, recomputed at most once per `min_interval` (a walk
// of every repository is too slow for every scrape).
class CachedDirSize {
 public:
  CachedDirSize(fs::path dir, std::chrono::seconds min_interval)
      : dir_(std::move(dir)), min_interval_(min_interval) {}
  uint64_t get() {
    MutexLock lock(mu_);
    auto now = std::chrono::steady_clock::now();
    if (measured_ && now - at_ < min_interval_) return bytes_;
    uint64_t total = 0;
    std::error_code ec;
    for (fs::recursive_directory_iterator
             it(dir_, fs::directory_options::skip_permission_denied, ec),
         end;
         !ec && it != end; it.increment(ec)) {
      std::error_code fec;
      if (it->is_regular_file(fec)) {
        auto sz = it->file_size(fec);
        if (!fec) total += sz;
      }
    }
    bytes_ = total;
    at_ = now;
    measured_ = true;
    return bytes_;
  }

 private:
  const fs::path dir_;
  const std::chrono::seconds min_interval_;
  Mutex mu_;
  bool measured_ GUTS_GUARDED_BY(mu_) = false;
  uint64_t bytes_ GUTS_GUARDED_BY(mu_) = 0;
  std::chrono::steady_clock::time_point at_ GUTS_GUARDED_BY(mu_);
};

}  // namespace

void observe_commits(metrics::Registry& registry, state::Chain& chain) {
  auto& blocks =
      registry.counter("guts_consensus_blocks_finalized_total", "Blocks committed by this node")
          .get();
  auto& txs = registry
                  .counter("guts_consensus_transactions_finalized_total",
                           "Transactions in the blocks committed by this node")
                  .get();
  auto& latency =
      registry
          .histogram("guts_consensus_finalization_latency_seconds",
                     "From a block's timestamp (set by its proposer) to its commit on this node",
                     {}, metrics::latency_buckets())
          .get();
  // Each finalized block occupies one view; the views between them were nullified (a leader
  // down or slow, or nothing to propose: an idle network nullifies its views): the last block's
  // view minus its height.
  auto& skipped = registry
                      .gauge("guts_consensus_nullified_views",
                             "Views nullified up to the last committed block (its view minus its "
                             "height; idle views included)")
                      .get();
  chain.add_commit_listener([&blocks, &txs, &latency, &skipped](const state::Block& b) {
    blocks.inc();
    txs.inc(b.txs.size());
    auto now = static_cast<int64_t>(unix_millis());
    auto ts = static_cast<int64_t>(b.header.timestamp_ms);
    latency.observe(now > ts ? static_cast<double>(now - ts) / 1000.0 : 0.0);
    if (b.header.view >= b.header.height)
      skipped.set(static_cast<double>(b.header.view - b.header.height));
  });
}

void add_node_collectors(metrics::Registry& registry, NodeMetricsSources s) {
  const double start_unix = static_cast<double>(unix_millis()) / 1000.0;
  auto repos_size = std::make_shared<CachedDirSize>(s.data_dir / "repos", std::chrono::minutes(5));
  registry.add_collector([s, start_unix, repos_size](metrics::Scrape& m) {
    // ---- node and consensus ----
    m.gauge("guts_node_validator", "1 when this node votes in consensus, 0 for a full node",
            s.validator ? 1 : 0);
    m.gauge("guts_consensus_validators", "Validators in the genesis", to_double(s.validators));
    if (s.ready)
      m.gauge("guts_node_ready", "1 when GET /health/ready answers 200", s.ready() ? 1 : 0);
    if (s.chain)
      m.gauge("guts_consensus_height", "Height of the last block committed by this node",
              to_double(s.chain->head().height));
    if (s.finality)
      m.gauge("guts_consensus_network_height", "Highest finalized height this node knows of",
              to_double(s.finality->network_height()));
    if (s.driver) {
      auto st = s.driver->stats();
      m.gauge("guts_consensus_view", "Current consensus view", to_double(st.view));
      m.gauge("guts_consensus_finalized_view", "Last finalized view", to_double(st.last_finalized));
      m.counter("guts_consensus_journal_syncs_total", "Consensus journal fsyncs",
                to_double(st.syncs));
    } else if (s.finality) {
      auto v = to_double(s.finality->finalized_view());
      m.gauge("guts_consensus_view", "Current consensus view", v);
      m.gauge("guts_consensus_finalized_view", "Last finalized view", v);
    }
    // ---- mempool ----
    if (s.mempool) {
      m.gauge("guts_mempool_transactions", "Transactions pending in the mempool",
              to_double(s.mempool->size()));
      auto st = s.mempool->stats();
      m.counter("guts_mempool_admitted_total", "Transactions accepted at the mempool's door",
                to_double(st.admitted));
      m.counter("guts_mempool_rejected_total", "Transactions refused at the mempool's door",
                to_double(st.rejected));
      m.counter("guts_mempool_saturated_total",
                "Of those, client transactions refused by the backlog bound (503)",
                to_double(st.saturated));
    }
    if (s.pending_pushes)
      m.gauge("guts_git_pushes_pending", "Pushes waiting for their transaction's finalization",
              to_double(s.pending_pushes->size()));
    // ---- p2p (the transport's own counters follow, as guts_p2p_*) ----
    if (s.network)
      m.gauge("guts_p2p_connected_peers", "Connected p2p peers",
              to_double(s.network->listening() ? s.network->transport().peers().size() : 0));
    // ---- replication ----
    if (s.object_sync) {
      auto st = s.object_sync->stats();
      m.gauge("guts_replication_pending_fetches", "Object fetch jobs in progress",
              to_double(st.pending_jobs));
      m.counter("guts_replication_fetch_failures_total",
                "Object fetches that ended without the objects", to_double(st.fetches_failed));
      m.counter("guts_replication_packs_fetched_total", "Packs fetched from peers and ingested",
                to_double(st.packs_fetched));
      m.counter("guts_replication_packs_rejected_total", "Packs from peers that failed checks",
                to_double(st.packs_rejected));
      m.counter("guts_replication_attempts_total", "Object requests sent to peers",
                to_double(st.attempts));
      m.counter("guts_replication_requests_served_total", "Packs served to peers",
                to_double(st.requests_served));
      m.counter("guts_replication_requests_refused_total", "Peer requests refused",
                to_double(st.requests_refused));
      m.counter("guts_replication_private_refusals_total",
                "Requests for a private repository from a peer neither validator nor seed",
                to_double(st.private_refusals));
      m.counter("guts_replication_peers_blocked_total",
                "Peers blocked for bad packs or protocol violations", to_double(st.peers_blocked));
    }
    if (s.evidence_records)
      m.gauge("guts_consensus_evidence_records",
              "Byzantine-validator evidence records this validator keeps (GET /api/guts/evidence)",
              to_double(s.evidence_records()));
    if (s.webhook_deliveries) {
      auto [sent, failed] = s.webhook_deliveries();
      m.counter("guts_webhook_deliveries_sent_total",
                "Webhook deliveries answered 2xx by their receiver (docs/webhooks.md)",
                to_double(sent));
      m.counter("guts_webhook_deliveries_failed_total",
                "Webhook delivery attempts that failed (non-2xx or no response)",
                to_double(failed));
    }
    // ---- repository maintenance ----
    if (s.maintenance) {
      auto st = s.maintenance->stats();
      m.gauge("guts_maintenance_running", "Maintenance git tasks running", st.running);
      m.gauge("guts_maintenance_paused", "1 when maintenance is paused because of load",
              st.paused ? 1 : 0);
      m.counter("guts_maintenance_tasks_total", "Maintenance tasks run (succeeded or failed)",
                to_double(st.tasks_run));
      m.counter("guts_maintenance_failures_total", "Maintenance tasks that failed",
                to_double(st.failures));
      m.counter("guts_maintenance_scans_total", "Maintenance scans of every repository",
                to_double(st.scans));
      for (const auto& [task, ts] : st.by_task) {
        m.counter("guts_maintenance_task_runs_total", "Maintenance tasks run, by task",
                  to_double(ts.runs), {{"task", task}});
        m.counter("guts_maintenance_task_failures_total", "Maintenance tasks failed, by task",
                  to_double(ts.failures), {{"task", task}});
        m.counter("guts_maintenance_task_seconds_total", "Time spent in maintenance tasks",
                  to_double(ts.total_ms) / 1000.0, {{"task", task}});
      }
      uint64_t packs = 0, loose = 0;
      for (const auto& [key, rs] : st.by_repo) {
        packs += rs.measured.packs;
        loose += rs.measured.loose_objects;
      }
      m.gauge("guts_maintenance_repository_packs", "Packs in the repositories maintenance measured",
              to_double(packs));
      m.gauge("guts_maintenance_repository_loose_objects",
              "Loose objects in the repositories maintenance measured", to_double(loose));
    }
    // ---- RocksDB ----
    if (s.db) {
      const std::pair<const char*, const char*> props[] = {
          {"rocksdb.estimate-live-data-size", "guts_rocksdb_live_data_bytes"},
          {"rocksdb.total-sst-files-size", "guts_rocksdb_sst_files_bytes"},
          {"rocksdb.cur-size-all-mem-tables", "guts_rocksdb_memtable_bytes"},
          {"rocksdb.estimate-pending-compaction-bytes", "guts_rocksdb_pending_compaction_bytes"},
          {"rocksdb.num-running-compactions", "guts_rocksdb_running_compactions"},
          {"rocksdb.estimate-num-keys", "guts_rocksdb_estimated_keys"},
      };
      for (const auto& [prop, name] : props)
        if (auto v = s.db->property(prop))
          m.gauge(name, std::string("RocksDB property ") + prop, to_double(*v));
    }
    // ---- disk ----
    struct statvfs vfs {};
    if (::statvfs(s.data_dir.c_str(), &vfs) == 0) {
      m.gauge("guts_disk_free_bytes",
              "Bytes available to the node on the data directory's file system",
              static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize));
      m.gauge("guts_disk_total_bytes", "Size of the data directory's file system",
              static_cast<double>(vfs.f_blocks) * static_cast<double>(vfs.f_frsize));
    }
    m.gauge("guts_repositories_bytes",
            "Bytes under <data-dir>/repos (measured at most every 5 minutes)",
            to_double(repos_size->get()));
    // ---- process ----
    m.gauge("guts_process_start_time_seconds", "Start of the node, seconds since the epoch",
            start_unix);
    m.gauge("guts_process_resident_memory_bytes", "Resident memory", to_double(resident_bytes()));
    m.gauge("guts_process_open_fds", "Open file descriptors", to_double(open_fds()));
    struct rusage ru {};
    if (::getrusage(RUSAGE_SELF, &ru) == 0) {
      double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                   static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
      m.counter("guts_process_cpu_seconds_total", "User and system CPU time", cpu);
    }
  });
  // The transport's and discovery's counters (docs/p2p.md), renamed guts_p2p_*.
  if (s.network) {
    Network* net = s.network;
    registry.add_text([net] {
      auto* d = net->discovery();
      if (!d) return std::string();
      std::map<std::string, uint64_t> renamed;
      for (const auto& [k, v] : d->metrics()) renamed["guts_" + k] = v;
      // Counters the transport reports only once non-zero, always present for dashboards.
      for (const char* k : {"guts_p2p_bytes_total{dir=\"in\"}", "guts_p2p_bytes_total{dir=\"out\"}",
                            "guts_p2p_handshakes_total{result=\"ok\"}",
                            "guts_p2p_handshakes_total{result=\"failed\"}"})
        renamed.emplace(k, 0);
      return p2p::render_prometheus(renamed);
    });
  }
}

}  // namespace guts::node
