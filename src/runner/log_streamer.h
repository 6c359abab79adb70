// A job's log on the runner side (docs/ci.md "Logs"): secrets masked as `***` in every line,
// each line prefixed with its UTC timestamp (GitHub's log format), kept whole for the final
// store and streamed to the node in batches (at most every kFlushInterval, or when a batch
// reaches kMaxBatchBytes), within the job's bound (state::kMaxJobLogBytes; past it one notice
// line and nothing more).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"

namespace guts::runner {

// Replaces every occurrence of each secret value by "***" (longest values first; values of a
// multi-line secret are masked line by line too). Pure.
class Masker {
 public:
  void add(std::string_view secret);
  std::string mask(std::string_view line) const;

 private:
  std::vector<std::string> values_;  // longest first
};

// Bounds one log: the lines that fit in `max_bytes` (including the newline), then one notice.
class LogBound {
 public:
  explicit LogBound(uint64_t max_bytes) : max_(max_bytes) {}
  // The text to append for `line` (already formatted, without newline): the line and "\n",
  // the notice when the bound is reached now, or "" afterwards.
  std::string admit(std::string_view line);
  uint64_t used() const { return used_; }

 private:
  uint64_t max_;
  uint64_t used_ = 0;
  bool full_ = false;
};

class LogStreamer {
 public:
  static constexpr auto kFlushInterval = std::chrono::milliseconds(200);
  static constexpr size_t kMaxBatchBytes = 256 * 1024;
  // `upload` sends one batch of whole lines (returns false on failure: the batch is kept).
  LogStreamer(const Masker& masker, uint64_t max_bytes,
              std::function<bool(const std::string&)> upload);
  ~LogStreamer();  // flushes
  LogStreamer(const LogStreamer&) = delete;
  LogStreamer& operator=(const LogStreamer&) = delete;

  void line(std::string_view text);  // masks, timestamps, bounds, queues
  void flush();                      // uploads what is queued now
  // The whole log as stored (after flush()).
  std::string full() const GUTS_EXCLUDES(mu_);

 private:
  void loop();
  const Masker& masker_;
  std::function<bool(const std::string&)> upload_;
  mutable Mutex mu_;
  std::condition_variable cv_;
  LogBound bound_ GUTS_GUARDED_BY(mu_);
  std::string full_ GUTS_GUARDED_BY(mu_);
  std::string queued_ GUTS_GUARDED_BY(mu_);
  bool stop_ GUTS_GUARDED_BY(mu_) = false;
  Mutex upload_mu_;  // one upload at a time, in order
  std::thread thread_;
};

// "2026-01-02T03:04:05.678Z " for a Unix time in ms.
std::string log_timestamp(uint64_t unix_ms);

}  // namespace guts::runner
