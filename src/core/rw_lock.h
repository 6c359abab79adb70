// A reader-writer lock that lets a waiting writer in before new readers. glibc's default
// (std::shared_mutex) prefers readers: readers that keep arriving starve a writer for as long
// as they come, as proofs reading the repository tree did to the commit advancing it
// (state/smt.h). Not recursive for readers: a thread holding it shared must not take it shared
// again while a writer may be waiting. Usable with std::unique_lock and std::shared_lock.
#pragma once

#include <pthread.h>

namespace guts {

class WriterFirstRwLock {
 public:
  WriterFirstRwLock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~WriterFirstRwLock() { pthread_rwlock_destroy(&lock_); }
  WriterFirstRwLock(const WriterFirstRwLock&) = delete;
  WriterFirstRwLock& operator=(const WriterFirstRwLock&) = delete;

  void lock() { pthread_rwlock_wrlock(&lock_); }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

}  // namespace guts
