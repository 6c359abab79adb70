#include "node/blob_gc.h"

#include <spdlog/spdlog.h>

#include "core/time.h"

namespace guts::node {

BlobCollector::BlobCollector(const storage::BlobStore& blobs, LiveSet live, BlobGcOptions options)
    : blobs_(blobs), live_(std::move(live)), opts_(std::move(options)) {
  if (opts_.metrics) {
    removed_total_ = &opts_.metrics
                          ->counter("guts_blobs_collected_total",
                                    "Blobs removed because no finalized state refers to them")
                          .get();
    removed_bytes_total_ = &opts_.metrics
                                ->counter("guts_blobs_collected_bytes_total",
                                          "Bytes of the blobs removed by garbage collection")
                                .get();
  }
}

BlobCollector::~BlobCollector() {
  stop();
}

BlobCollector::Report BlobCollector::collect_once(int64_t now_s) {
  const auto live = live_();
  std::vector<storage::BlobStore::Entry> dead;
  Report r;
  for (const auto& e : blobs_.list()) {
    if (live.count(e.sha)) {
      ++r.kept;
    } else if (e.mtime_s + opts_.grace.count() > now_s) {
      ++r.young;
    } else {
      dead.push_back(e);
    }
  }
  if (dead.empty()) return r;
  const auto again = live_();  // a reference committed while listing keeps its blob
  for (const auto& e : dead) {
    if (again.count(e.sha)) {
      ++r.kept;
      continue;
    }
    if (blobs_.remove(e.sha)) {
      ++r.removed;
      r.removed_bytes += e.size;
    }
  }
  if (removed_total_) removed_total_->inc(r.removed);
  if (removed_bytes_total_) removed_bytes_total_->inc(r.removed_bytes);
  return r;
}

void BlobCollector::start() {
  if (opts_.interval.count() <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void BlobCollector::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BlobCollector::run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, opts_.interval, [&] { return stop_; })) {
    lock.unlock();
    try {
      auto r = collect_once(static_cast<int64_t>(unix_millis() / 1000));
      if (r.removed > 0)
        spdlog::info("blobs: removed {} ({} bytes) that no state refers to; kept {}, {} young",
                     r.removed, r.removed_bytes, r.kept, r.young);
    } catch (const std::exception& e) {
      spdlog::warn("blobs: garbage collection skipped: {}", e.what());
    }
    lock.lock();
  }
}

}  // namespace guts::node
