// Threads that run posted tasks in the order they were posted, with a bound on how many may
// wait: work taken off an I/O thread so that one long request does not hold up the others on
// that thread (web::Jobs: the browser's merge form), without queueing without end where a
// caller can answer "busy".
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"

namespace guts {

class TaskQueue {
 public:
  TaskQueue(size_t threads, const char* name, size_t max_waiting);
  // Tasks still waiting are dropped (destroyed unrun); running ones end first.
  ~TaskQueue();
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  // False, and `task` dropped, when `max_waiting` tasks wait already: the caller answers
  // "busy". A task that throws is logged and the thread goes on.
  bool post(std::function<void()> task);

 private:
  void loop(const char* name);

  const size_t max_waiting_;
  Mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_ GUTS_GUARDED_BY(mu_);
  bool stop_ GUTS_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace guts
