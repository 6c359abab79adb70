// One background thread for the browser writes that block (a merge runs git, a review waits
// for its block): their POST routes are buffered (the CSRF check reads the form body before the
// handler), so the handler queues the work here and answers from this thread. Owned by WebEnv
// (its last member: destroyed first, so queued jobs never outlive what they use); the
// destructor drops what is still queued and joins.
#pragma once

#include <functional>
#include <limits>

#include "core/task_queue.h"

namespace guts::web {

class Jobs {
 public:
  // Unbounded: a queued job is a browser waiting for its answer, which a refusal would lose.
  Jobs() : queue_(1, "guts-web-jobs", std::numeric_limits<size_t>::max()) {}

  // Runs `fn` on the thread, after the jobs queued before it.
  void post(std::function<void()> fn) { queue_.post(std::move(fn)); }

 private:
  TaskQueue queue_;
};

}  // namespace guts::web
