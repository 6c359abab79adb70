// Thread ownership written in the types and checked by clang's -Wthread-safety (scripts/test
// runs clang-tidy with it on the node layer): a member that a mutex protects is declared
// GUTS_GUARDED_BY(mu_), a function that needs the lock GUTS_REQUIRES(mu_). libstdc++'s
// std::mutex carries no annotations, so annotated code uses guts::Mutex and guts::MutexLock.
// Under GCC the macros expand to nothing.
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define GUTS_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define GUTS_THREAD_ANNOTATION(x)
#endif

#define GUTS_CAPABILITY(x) GUTS_THREAD_ANNOTATION(capability(x))
#define GUTS_SCOPED_CAPABILITY GUTS_THREAD_ANNOTATION(scoped_lockable)
#define GUTS_GUARDED_BY(x) GUTS_THREAD_ANNOTATION(guarded_by(x))
#define GUTS_PT_GUARDED_BY(x) GUTS_THREAD_ANNOTATION(pt_guarded_by(x))
#define GUTS_REQUIRES(...) GUTS_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define GUTS_EXCLUDES(...) GUTS_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define GUTS_ACQUIRE(...) GUTS_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define GUTS_RELEASE(...) GUTS_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define GUTS_NO_THREAD_SAFETY_ANALYSIS GUTS_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace guts {

class GUTS_CAPABILITY("mutex") Mutex {
 public:
  void lock() GUTS_ACQUIRE() { mu_.lock(); }
  void unlock() GUTS_RELEASE() { mu_.unlock(); }
  // For std::condition_variable waits (MutexLock::wait); not for general use.
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Holds `mu` for its scope. wait() releases it while blocked, as std::condition_variable does.
class GUTS_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) GUTS_ACQUIRE(mu) : lock_(mu.native()) {}
  ~MutexLock() GUTS_RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void wait(std::condition_variable& cv) { cv.wait(lock_); }
  template <typename Pred>
  void wait(std::condition_variable& cv, Pred pred) {
    cv.wait(lock_, pred);
  }
  template <typename Duration>
  std::cv_status wait_for(std::condition_variable& cv, Duration d) {
    return cv.wait_for(lock_, d);
  }
  template <typename TimePoint>
  std::cv_status wait_until(std::condition_variable& cv, TimePoint t) {
    return cv.wait_until(lock_, t);
  }
  // Temporarily releases the lock (e.g. to run a job), then takes it back.
  void unlock() GUTS_RELEASE() { lock_.unlock(); }
  void lock() GUTS_ACQUIRE() { lock_.lock(); }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace guts
