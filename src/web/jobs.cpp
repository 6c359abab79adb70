#include "web/jobs.h"

#include <spdlog/spdlog.h>

namespace guts::web {

Jobs::Jobs() : thread_([this] { run(); }) {}

Jobs::~Jobs() {
  {
    MutexLock lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  thread_.join();
}

void Jobs::post(std::function<void()> fn) {
  {
    MutexLock lock(mu_);
    if (stop_) return;
    queue_.push_back(std::move(fn));
  }
  cv_.notify_one();
}

void Jobs::run() {
  for (;;) {
    std::function<void()> job;
    {
      MutexLock lock(mu_);
      while (!stop_ && queue_.empty()) lock.wait(cv_);
      if (stop_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::warn("web job failed: {}", e.what());
    }
  }
}

}  // namespace guts::web
