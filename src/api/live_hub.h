// The live event hub (docs/events.md): fans the events of each finalized block out to the
// subscribers of /api/guts/events, and lets a subscriber resume from a height.
//
// Fed by the chain's commit listener (publish, on the committing thread): publishing appends
// to each subscriber's bounded queue under the hub's mutex and wakes it; it never waits for a
// client. A subscriber whose queue is full is dropped: its next pull says why, and the
// connection is closed with that reason (the client reconnects with since=<last height seen>).
//
// Resume without gaps or duplicates: subscribe(since) records `live_from`, the first height the
// hub has not published yet; blocks since+1 .. live_from-1 are recomputed from stored blocks by
// the subscriber's own pulls (a few blocks per pull, on the connection's thread), blocks from
// live_from on come from the queue. Every event is sent once, in height order. A subscriber more
// than max_resume_blocks behind gets a "reset" event (reload) and continues live.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/live_events.h"
#include "core/thread_annotations.h"

namespace guts::api {

struct LiveHubOptions {
  size_t max_queue = 2000;            // events waiting for one subscriber before it is dropped
  uint64_t max_resume_blocks = 1000;  // further behind: "reset"
  uint64_t blocks_per_pull = 16;      // stored blocks recomputed per pull while resuming
};

class LiveHub {
 public:
  // The events of a stored block (nullopt: not stored, e.g. pruned or not yet committed).
  using BlockEvents = std::function<std::optional<std::vector<LiveEvent>>(uint64_t height)>;
  // Whether one event goes to a subscriber (authorization, the repo filter). Called on the
  // subscriber's thread, in pull().
  using Filter = std::function<bool(const LiveEvent&)>;

  // `published` is the height whose events are already in the past when the hub starts (the
  // chain's head): the first publish() is for published+1.
  LiveHub(BlockEvents source, uint64_t published, LiveHubOptions options = {});

  class Subscription;
  // `since`: resume after this height (nullopt: live only). `wake` is called (any thread,
  // never under a lock of the caller's) when there is something to pull.
  std::shared_ptr<Subscription> subscribe(std::optional<uint64_t> since, Filter filter,
                                          std::function<void()> wake);

  // The events of the block at `height`, just committed, made by `events` only when someone is
  // subscribed (a node nobody follows live spends nothing per block on them; a subscriber that
  // comes later resumes from stored blocks). Heights at or below the last one published are
  // ignored; a gap (a block the hub did not see) is filled from stored blocks by the
  // subscribers' pulls. Any thread; never blocks on a subscriber.
  void publish(uint64_t height, const std::function<std::vector<LiveEvent>()>& events);

  uint64_t published() const;
  size_t subscribers() const;

 private:
  friend class Subscription;
  void drop(uint64_t id);
  void publish_made(uint64_t height, std::vector<LiveEvent> events);

  // One subscriber's side shared with publish(): its queue, or why it was dropped.
  struct Entry {
    std::weak_ptr<Subscription> sub;
    std::deque<LiveEvent> queue;
    std::string closed;  // non-empty: dropped (too slow, or a gap), nothing more is queued
  };
  // The queued events and the close reason of subscriber `id` (taken).
  std::pair<std::deque<LiveEvent>, std::string> take(uint64_t id);

  const BlockEvents source_;
  const LiveHubOptions options_;
  mutable Mutex mu_;
  uint64_t published_ GUTS_GUARDED_BY(mu_) = 0;
  uint64_t next_id_ GUTS_GUARDED_BY(mu_) = 0;
  std::unordered_map<uint64_t, Entry> subs_ GUTS_GUARDED_BY(mu_);
};

class LiveHub::Subscription {
 public:
  struct Pull {
    std::vector<std::string> events;  // serialized event objects, in order
    std::string close_reason;         // non-empty: the subscription ended (too slow)
  };
  // What to send now. One thread at a time (the connection's). While resuming it returns a few
  // blocks' events and calls wake() again for the rest.
  Pull pull();
  // The last height whose events were all handed out by pull().
  uint64_t delivered() const { return delivered_; }
  ~Subscription();

  // Internal (LiveHub::subscribe).
  Subscription(LiveHub& hub, uint64_t id, uint64_t resume_from, uint64_t live_from,
               std::optional<uint64_t> since, Filter filter, std::function<void()> wake);

 private:
  friend class LiveHub;
  LiveHub& hub_;
  const uint64_t id_;
  const Filter filter_;
  const std::function<void()> wake_;
  // Owned by the pulling thread.
  uint64_t next_backlog_;     // next stored height to recompute
  const uint64_t live_from_;  // first height that comes from the queue
  const uint64_t since_;      // events at or below it are never sent
  bool started_ = false;      // the "hello" (or "reset") went out
  bool reset_ = false;        // too far behind: no backlog
  uint64_t delivered_ = 0;
};

}  // namespace guts::api
