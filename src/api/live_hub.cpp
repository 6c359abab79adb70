// The live event hub (api/live_hub.h).
#include "api/live_hub.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/assert.h"

namespace guts::api {

namespace {
std::string control_event(const char* type, uint64_t height, std::optional<uint64_t> since) {
  nlohmann::ordered_json j{{"type", type}, {"height", height}};
  if (since) j["since"] = *since;
  return j.dump();
}
}  // namespace

LiveHub::LiveHub(BlockEvents source, uint64_t published, LiveHubOptions options)
    : source_(std::move(source)), options_(options) {
  MutexLock lk(mu_);
  published_ = published;
}

uint64_t LiveHub::published() const {
  MutexLock lk(mu_);
  return published_;
}

size_t LiveHub::subscribers() const {
  MutexLock lk(mu_);
  size_t n = 0;
  for (const auto& [id, e] : subs_)
    if (e.closed.empty()) ++n;
  return n;
}

std::pair<std::deque<LiveEvent>, std::string> LiveHub::take(uint64_t id) {
  MutexLock lk(mu_);
  auto it = subs_.find(id);
  if (it == subs_.end()) return {};
  std::pair<std::deque<LiveEvent>, std::string> out;
  out.first.swap(it->second.queue);
  out.second = it->second.closed;
  return out;
}

std::shared_ptr<LiveHub::Subscription> LiveHub::subscribe(std::optional<uint64_t> since,
                                                          Filter filter,
                                                          std::function<void()> wake) {
  std::shared_ptr<Subscription> s;
  {
    MutexLock lk(mu_);
    uint64_t live_from = published_ + 1;
    uint64_t resume_from = since ? *since + 1 : live_from;
    s = std::make_shared<Subscription>(*this, next_id_++, resume_from, live_from, since,
                                       std::move(filter), std::move(wake));
    subs_[s->id_].sub = s;
  }
  s->wake_();  // the hello, and the backlog if any
  return s;
}

void LiveHub::publish(uint64_t height, const std::function<std::vector<LiveEvent>()>& events) {
  {
    MutexLock lk(mu_);
    if (height <= published_) return;
    const bool followed = std::any_of(subs_.begin(), subs_.end(), [](const auto& id_entry) {
      return id_entry.second.closed.empty() && !id_entry.second.sub.expired();
    });
    // Nobody to tell: the height is passed (one who subscribes now starts after it). Else the
    // events are made outside the lock; one who subscribes meanwhile gets them queued.
    if (!followed) {
      published_ = height;
      return;
    }
  }
  publish_made(height, events());
}

void LiveHub::publish_made(uint64_t height, std::vector<LiveEvent> events) {
  std::vector<std::shared_ptr<Subscription>> woken;
  {
    MutexLock lk(mu_);
    if (height <= published_) return;
    // A gap (height > published_ + 1) cannot be queued: the subscribers recompute nothing for
    // it, so they are told to reload. It does not happen with the chain's listener, which sees
    // every block in order.
    bool gap = height != published_ + 1;
    published_ = height;
    for (auto& [id, e] : subs_) {
      if (!e.closed.empty()) continue;
      auto s = e.sub.lock();
      if (!s) continue;
      if (gap) {
        e.closed = "missed blocks: reconnect with since=<the last height you saw>";
        e.queue.clear();
      } else if (e.queue.size() + events.size() > options_.max_queue) {
        e.closed = "too slow: reconnect with since=<the last height you saw>";
        e.queue.clear();
      } else {
        e.queue.insert(e.queue.end(), events.begin(), events.end());
      }
      woken.push_back(std::move(s));
    }
  }
  for (auto& s : woken) s->wake_();
}

void LiveHub::drop(uint64_t id) {
  MutexLock lk(mu_);
  subs_.erase(id);
}

LiveHub::Subscription::Subscription(LiveHub& hub, uint64_t id, uint64_t resume_from,
                                    uint64_t live_from, std::optional<uint64_t> since,
                                    Filter filter, std::function<void()> wake)
    : hub_(hub),
      id_(id),
      filter_(std::move(filter)),
      wake_(std::move(wake)),
      next_backlog_(resume_from),
      live_from_(live_from),
      since_(since.value_or(live_from - 1)) {
  reset_ = live_from > resume_from && live_from - resume_from > hub.options_.max_resume_blocks;
  delivered_ = since ? std::min(*since, live_from - 1) : live_from - 1;
}

LiveHub::Subscription::~Subscription() {
  hub_.drop(id_);
}

LiveHub::Subscription::Pull LiveHub::Subscription::pull() {
  Pull out;
  auto keep = [&](const LiveEvent& e) {
    if (e.height > since_ && (!filter_ || filter_(e))) out.events.push_back(e.json);
  };
  if (!started_) {
    started_ = true;
    if (reset_) {
      // Too far behind to replay: the client reloads what it shows, then follows live.
      out.events.push_back(control_event("reset", live_from_ - 1, since_));
      next_backlog_ = live_from_;
    } else {
      out.events.push_back(control_event("hello", live_from_ - 1, since_));
    }
  }
  // The backlog: stored blocks below live_from, a few per pull.
  if (next_backlog_ < live_from_) {
    uint64_t end = std::min(live_from_, next_backlog_ + hub_.options_.blocks_per_pull);
    for (; next_backlog_ < end; ++next_backlog_) {
      auto events = hub_.source_(next_backlog_);
      if (!events) {
        // Not stored (pruned): the client must reload.
        out.events.push_back(control_event("reset", live_from_ - 1, since_));
        next_backlog_ = live_from_;
        break;
      }
      for (const auto& e : *events) keep(e);
      delivered_ = std::max(delivered_, next_backlog_);
    }
    if (next_backlog_ < live_from_) {
      wake_();  // more next time
      return out;
    }
    delivered_ = std::max(delivered_, live_from_ - 1);
  }
  auto [queue, closed] = hub_.take(id_);
  out.close_reason = std::move(closed);
  for (const auto& e : queue) {
    keep(e);
    delivered_ = std::max(delivered_, e.height);
  }
  return out;
}

}  // namespace guts::api
