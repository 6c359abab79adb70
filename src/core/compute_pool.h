// A fixed set of helper threads for CPU-bound work split into independent items: run(n, fn)
// calls fn(0) … fn(n-1) once each, on the calling thread and on the helpers, and returns when
// every call has returned. The ledger verifies the Ed25519 signatures of a forwarded batch or
// of a block on it (issue 19: one core verifies ~20,000 a second; a block of 2,000 would hold
// the consensus worker for ~100 ms on one core).
//
// The caller always takes part, so a pool with no helpers runs everything inline, and several
// threads may call run() at once (their jobs are served in arrival order, urgent ones first;
// each caller works on its own job until it is taken, so none waits idle behind another's).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"

namespace guts {

class ComputePool {
 public:
  // `helpers` threads besides the callers, named `name` (≤ 15 characters are kept).
  ComputePool(size_t helpers, const char* name);
  ~ComputePool();
  ComputePool(const ComputePool&) = delete;
  ComputePool& operator=(const ComputePool&) = delete;

  // One helper per core beyond the caller's (none on a one-core machine).
  static size_t helpers_for_cores();

  // Calls fn(i) for each i in [0, n), each once, in no particular order and possibly
  // concurrently. If calls throw, the first exception is rethrown here after all have ended.
  // `urgent`: the helpers take this job before those already waiting (a block a validator must
  // vote on before a forwarded batch it only keeps for later).
  void run(size_t n, const std::function<void(size_t)>& fn, bool urgent = false);

  size_t helpers() const { return threads_.size(); }

 private:
  struct Job;
  void helper_loop(const char* name);
  void work_on(const std::shared_ptr<Job>& job);

  Mutex mu_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> jobs_ GUTS_GUARDED_BY(mu_);
  bool stop_ GUTS_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace guts
