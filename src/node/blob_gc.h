// The blob garbage collector (docs/blobs.md "Garbage collection"): removes from this node's
// BlobStore the blobs that finalized state no longer refers to — expired or deleted CI
// artifacts, deleted release assets, LFS objects and logs of deleted repositories — so that
// retention frees disk. Node-local and derived, like repository maintenance: state is not
// changed, and another node keeps its copies until its own collector runs.
//
// A blob is removed only when it is in no reference of state::live_blobs at the head (with the
// head block's time for expiry; the node passes that as `live`), computed twice — before listing
// the store and again just before removing, so a reference committed meanwhile keeps it — and when
// its file is older than the grace period: an upload whose transaction has not committed yet (an
// LFS object before its batch verify, an artifact before create_artifact, a blob fetched for a
// block being voted on) is young and kept.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "core/metrics.h"
#include "storage/blob_store.h"

namespace guts::node {

struct BlobGcOptions {
  std::chrono::seconds interval{3600};         // between passes; 0: never (collect_once only)
  std::chrono::seconds grace{3600};            // a blob younger than this is kept
  std::shared_ptr<metrics::Registry> metrics;  // optional
};

class BlobCollector {
 public:
  // `live`: the blobs state refers to now (the node: state::live_blobs at its head).
  using LiveSet = std::function<std::set<storage::Sha256>()>;
  BlobCollector(const storage::BlobStore& blobs, LiveSet live, BlobGcOptions options);
  ~BlobCollector();  // stop()
  BlobCollector(const BlobCollector&) = delete;
  BlobCollector& operator=(const BlobCollector&) = delete;

  struct Report {
    uint64_t kept = 0;     // referenced by state
    uint64_t young = 0;    // not referenced, but within the grace period
    uint64_t removed = 0;  // not referenced and old: removed
    uint64_t removed_bytes = 0;
  };
  // One pass at wall-clock time `now_s` (Unix seconds). Throws when the state cannot be read
  // (then nothing was removed).
  Report collect_once(int64_t now_s);
  // Starts the periodic passes on a thread of their own (when interval > 0).
  void start();
  void stop();

 private:
  void run();

  const storage::BlobStore& blobs_;
  LiveSet live_;
  BlobGcOptions opts_;
  metrics::Counter* removed_total_ = nullptr;
  metrics::Counter* removed_bytes_total_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace guts::node
