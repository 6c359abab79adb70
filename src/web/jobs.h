// One background thread for the browser writes that block (a merge runs git, a review waits
// for its block): their POST routes are buffered (the CSRF check reads the form body before the
// handler), so the handler queues the work here and answers from this thread. Owned by WebEnv
// (its last member: destroyed first, so queued jobs never outlive what they use); the
// destructor drops what is still queued and joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <thread>

#include "core/thread_annotations.h"

namespace guts::web {

class Jobs {
 public:
  Jobs();
  ~Jobs();
  Jobs(const Jobs&) = delete;
  Jobs& operator=(const Jobs&) = delete;

  // Runs `fn` on the thread, after the jobs queued before it.
  void post(std::function<void()> fn);

 private:
  void run();
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_ GUTS_GUARDED_BY(mu_);
  bool stop_ GUTS_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: started once the rest is constructed
};

}  // namespace guts::web
