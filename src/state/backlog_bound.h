// The door's bound on the transactions waiting for a block (issue 19 point 3; docs/design.md
// "Back-pressure at the door").
//
// A node that accepts transactions faster than the network finalizes them queues the excess:
// every accepted transaction then waits longer, until the mempool's size bound (100,000) is
// reached, at a wait of tens of seconds. This bound refuses a client's transaction at once
// (503 with Retry-After) when more wait than the network finalized in the last `max_wait`, so
// an accepted transaction waits about `max_wait` at most and the excess is told when to come
// back. The rate is measured over a sliding window of finalized blocks; `floor` keeps an idle
// or stalled network (rate near 0) from refusing a burst.
//
// Pure logic: the time is an argument (the mempool's clock; the simulator's in the simulator).
// Not thread-safe: the mempool calls it under its lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

namespace guts::state {

struct BacklogOptions {
  // The longest an accepted transaction should wait for its block; 0: no bound.
  std::chrono::milliseconds max_wait{2000};
  // Never refuse while fewer than this many wait.
  size_t floor = 1000;
  // The finalization rate is measured over the blocks of this last stretch of time.
  std::chrono::milliseconds window{5000};

  bool enabled() const { return max_wait.count() > 0; }
};

class BacklogBound {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit BacklogBound(BacklogOptions options) : options_(options) {}
  const BacklogOptions& options() const { return options_; }

  // A block with `txs` transactions was finalized (applied here) at `now`.
  void finalized(TimePoint now, size_t txs);
  // Transactions finalized per second over the window before `now`.
  double rate(TimePoint now);
  // How many may wait at `now`: max(floor, rate × max_wait).
  size_t limit(TimePoint now);

  struct Refusal {
    size_t limit = 0;
    double rate = 0;             // tx/s
    uint32_t retry_after_s = 1;  // when the excess should have drained (1..30)
  };
  // nullopt while `pending` (already waiting) is under the limit; else why not.
  std::optional<Refusal> refuse(TimePoint now, size_t pending);

 private:
  void expire(TimePoint now);

  BacklogOptions options_;
  std::deque<std::pair<TimePoint, size_t>> blocks_;  // finalized in the window, oldest first
  size_t in_window_ = 0;                             // their transactions
};

}  // namespace guts::state
