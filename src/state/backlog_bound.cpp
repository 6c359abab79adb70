#include "state/backlog_bound.h"

#include <algorithm>
#include <cmath>

namespace guts::state {

void BacklogBound::expire(TimePoint now) {
  while (!blocks_.empty() && now - blocks_.front().first > options_.window) {
    in_window_ -= blocks_.front().second;
    blocks_.pop_front();
  }
}

void BacklogBound::finalized(TimePoint now, size_t txs) {
  if (txs == 0) return;
  expire(now);
  blocks_.emplace_back(now, txs);
  in_window_ += txs;
}

double BacklogBound::rate(TimePoint now) {
  expire(now);
  const double window_s = std::chrono::duration<double>(options_.window).count();
  return window_s > 0 ? double(in_window_) / window_s : 0;
}

size_t BacklogBound::limit(TimePoint now) {
  const double max_wait_s = std::chrono::duration<double>(options_.max_wait).count();
  const double by_rate = rate(now) * max_wait_s;
  return std::max(options_.floor, static_cast<size_t>(by_rate));
}

std::optional<BacklogBound::Refusal> BacklogBound::refuse(TimePoint now, size_t pending) {
  if (!options_.enabled()) return std::nullopt;
  const size_t bound = limit(now);
  if (pending < bound) return std::nullopt;
  Refusal r;
  r.limit = bound;
  r.rate = rate(now);
  // The time the network takes to finalize what waits beyond the bound, plus one more; with
  // nothing finalized lately, a max_wait.
  const double excess = double(pending - bound + 1);
  const double wait_s =
      r.rate > 0 ? excess / r.rate : std::chrono::duration<double>(options_.max_wait).count();
  r.retry_after_s = static_cast<uint32_t>(std::clamp(std::ceil(wait_s), 1.0, 30.0));
  return r;
}

}  // namespace guts::state
