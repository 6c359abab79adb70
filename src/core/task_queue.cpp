#include "core/task_queue.h"

#include <spdlog/spdlog.h>

#include <exception>

#include "core/thread_name.h"

namespace guts {

TaskQueue::TaskQueue(size_t threads, const char* name, size_t max_waiting)
    : max_waiting_(max_waiting) {
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this, name] { loop(name); });
}

TaskQueue::~TaskQueue() {
  std::deque<std::function<void()>> dropped;
  {
    MutexLock lock(mu_);
    stop_ = true;
    dropped.swap(tasks_);
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

bool TaskQueue::post(std::function<void()> task) {
  {
    MutexLock lock(mu_);
    if (stop_ || tasks_.size() >= max_waiting_) return false;
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
  return true;
}

void TaskQueue::loop(const char* name) {
  set_thread_name(name);
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(mu_);
      lock.wait(wake_, [&]() GUTS_NO_THREAD_SAFETY_ANALYSIS { return stop_ || !tasks_.empty(); });
      if (stop_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("{}: a task failed: {}", name, e.what());
    }
  }
}

}  // namespace guts
