#include "core/compute_pool.h"

#include <algorithm>
#include <atomic>
#include <exception>

#include "core/thread_name.h"

namespace guts {

struct ComputePool::Job {
  Job(size_t n, const std::function<void(size_t)>& fn) : n(n), fn(fn) {}
  const size_t n;
  const std::function<void(size_t)>& fn;  // the caller's: it outlives the job (run() waits)
  std::atomic<size_t> next{0};            // the next index to hand out
  Mutex mu;
  std::condition_variable finished;
  size_t done GUTS_GUARDED_BY(mu) = 0;  // calls returned
  std::exception_ptr error GUTS_GUARDED_BY(mu);
};

ComputePool::ComputePool(size_t helpers, const char* name) {
  threads_.reserve(helpers);
  for (size_t i = 0; i < helpers; ++i) threads_.emplace_back([this, name] { helper_loop(name); });
}

ComputePool::~ComputePool() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

size_t ComputePool::helpers_for_cores() {
  unsigned cores = std::thread::hardware_concurrency();
  return cores > 1 ? cores - 1 : 0;
}

void ComputePool::run(size_t n, const std::function<void(size_t)>& fn, bool urgent) {
  if (n == 0) return;
  auto job = std::make_shared<Job>(n, fn);
  if (n > 1 && !threads_.empty()) {
    {
      MutexLock lock(mu_);
      if (urgent)
        jobs_.push_front(job);
      else
        jobs_.push_back(job);
    }
    wake_.notify_all();
  }
  work_on(job);
  {
    // Helpers may still be inside calls they took: wait for those to return.
    MutexLock lock(job->mu);
    lock.wait(job->finished, [&]() GUTS_NO_THREAD_SAFETY_ANALYSIS { return job->done == n; });
  }
  {
    MutexLock lock(mu_);
    std::erase(jobs_, job);  // if no helper took its last index
  }
  std::exception_ptr error;
  {
    MutexLock lock(job->mu);
    error = job->error;
  }
  if (error) std::rethrow_exception(error);
}

void ComputePool::work_on(const std::shared_ptr<Job>& job) {
  size_t ran = 0;
  std::exception_ptr error;
  for (;;) {
    size_t i = job->next.fetch_add(1, std::memory_order_relaxed);
    if (i >= job->n) break;
    try {
      job->fn(i);
    } catch (...) {
      if (!error) error = std::current_exception();
    }
    ++ran;
  }
  if (ran == 0) return;
  MutexLock lock(job->mu);
  if (error && !job->error) job->error = error;
  job->done += ran;
  if (job->done == job->n) job->finished.notify_all();
}

void ComputePool::helper_loop(const char* name) {
  set_thread_name(name);
  for (;;) {
    std::shared_ptr<Job> job;
    {
      MutexLock lock(mu_);
      lock.wait(wake_, [&]() GUTS_NO_THREAD_SAFETY_ANALYSIS { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      job = jobs_.front();
      // Every index handed out: nothing left for another helper to take.
      if (job->next.load(std::memory_order_relaxed) >= job->n) {
        jobs_.pop_front();
        continue;
      }
    }
    work_on(job);
  }
}

}  // namespace guts
