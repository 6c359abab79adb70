// Live job logs (api/job_log_live.h).
#include "api/job_log_live.h"

#include <nlohmann/json.hpp>

namespace guts::api {

namespace {

using json = nlohmann::json;

// What one pull reads at most: the rest comes at the next pull (the channel wakes itself).
constexpr size_t kReadChunk = 256 << 10;

// "2026-12-05T06:00:00.1234567Z " as the runner writes it (runner/log_streamer.h).
bool is_timestamp(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s.back() != 'Z') return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || c == '-' || c == ':' || c == '.' || c == 'T' || c == 'Z'))
      return false;
  return true;
}

json line_json(const LogLine& l) {
  return json{
      {"type", "line"}, {"line", l.number}, {"time", l.time}, {"group", l.group}, {"text", l.text}};
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

class JobLogChannel : public WsChannel {
 public:
  JobLogChannel(std::shared_ptr<JobLogFeed> feed, uint64_t job, JobLogSource source,
                uint64_t after_line)
      : feed_(std::move(feed)), job_(job), source_(std::move(source)), after_(after_line) {}

  void start(std::shared_ptr<WsWaker> waker) override {
    // The channel keeps the waker (the server hands it over); the feed only refers to it, so a
    // closed connection drops out of the feed by itself.
    waker_ = std::move(waker);
    feed_->follow(job_, waker_);
    waker_->wake();
  }

  Pull pull() override {
    Pull out;
    if (ended_) return out;
    // The state before the bytes: a job seen completed has all its lines in what follows.
    auto st = source_.state();
    if (!st.exists) {
      out.close_reason = "no such job";
      ended_ = true;
      return out;
    }
    auto bytes = source_.read(offset_, kReadChunk);
    if (bytes) {
      offset_ += bytes->size();
      for (auto& l : lines_.feed(*bytes))
        if (l.number > after_) out.messages.push_back(dump(line_json(l)));
      if (bytes->size() == kReadChunk) {  // more to read: come back at once
        if (waker_) waker_->wake();
        return out;
      }
    }
    if (st.completed) {
      out.messages.push_back(dump(json{{"type", "end"},
                                       {"status", st.status},
                                       {"conclusion", st.conclusion},
                                       {"lines", lines_.count()}}));
      out.close_reason = "end of log";
      ended_ = true;
    }
    return out;
  }

  void closed() override {
    ended_ = true;
    waker_.reset();
  }

 private:
  std::shared_ptr<JobLogFeed> feed_;
  const uint64_t job_;
  JobLogSource source_;
  const uint64_t after_;
  std::shared_ptr<WsWaker> waker_;
  uint64_t offset_ = 0;
  LogLines lines_;
  bool ended_ = false;
};

}  // namespace

void JobLogFeed::follow(uint64_t job, const std::shared_ptr<WsWaker>& waker) {
  MutexLock lock(mu_);
  for (auto it = followers_.begin(); it != followers_.end();)  // forget closed connections
    it = it->second.expired() ? followers_.erase(it) : std::next(it);
  followers_.emplace(job, waker);
}

void JobLogFeed::appended(uint64_t job) {
  std::vector<std::shared_ptr<WsWaker>> wake;
  {
    MutexLock lock(mu_);
    auto [from, to] = followers_.equal_range(job);
    for (auto it = from; it != to; ++it)
      if (auto w = it->second.lock()) wake.push_back(std::move(w));
  }
  for (auto& w : wake) w->wake();  // never under our lock
}

void JobLogFeed::on_block() {
  std::vector<std::shared_ptr<WsWaker>> wake;
  {
    MutexLock lock(mu_);
    for (auto it = followers_.begin(); it != followers_.end();) {
      if (auto w = it->second.lock()) {
        wake.push_back(std::move(w));
        ++it;
      } else {
        it = followers_.erase(it);
      }
    }
  }
  for (auto& w : wake) w->wake();
}

size_t JobLogFeed::followers() const {
  MutexLock lock(mu_);
  return followers_.size();
}

std::vector<LogLine> LogLines::feed(std::string_view bytes) {
  std::vector<LogLine> out;
  partial_.append(bytes);
  size_t at = 0;
  for (size_t eol; (eol = partial_.find('\n', at)) != std::string::npos; at = eol + 1) {
    std::string_view raw(partial_.data() + at, eol - at);
    LogLine l;
    l.number = ++count_;
    auto space = raw.find(' ');
    if (space != std::string_view::npos && is_timestamp(raw.substr(0, space))) {
      l.time = std::string(raw.substr(0, space));
      raw.remove_prefix(space + 1);
    }
    if (raw.starts_with("##[group]")) {
      group_ = std::string(raw.substr(9));
    }
    l.group = group_;
    if (raw == "##[endgroup]") group_.clear();
    l.text = std::string(raw);
    out.push_back(std::move(l));
  }
  partial_.erase(0, at);
  return out;
}

std::shared_ptr<WsChannel> job_log_channel(std::shared_ptr<JobLogFeed> feed, uint64_t job,
                                           JobLogSource source, uint64_t after_line) {
  return std::make_shared<JobLogChannel>(std::move(feed), job, std::move(source), after_line);
}

std::string job_log_page(const JobLogSource& source, uint64_t after_line, size_t max_lines) {
  auto st = source.state();
  LogLines lines;
  json out = json::array();
  uint64_t offset = 0, last = after_line;
  bool more = false;
  for (;;) {
    auto bytes = source.read(offset, kReadChunk);
    if (!bytes || bytes->empty()) break;
    offset += bytes->size();
    for (auto& l : lines.feed(*bytes)) {
      if (l.number <= after_line) continue;
      if (out.size() == max_lines) {
        more = true;
        break;
      }
      last = l.number;
      out.push_back(line_json(l));
    }
    if (more || bytes->size() < kReadChunk) break;
  }
  return dump(json{{"status", st.status},
                   {"conclusion", st.conclusion},
                   {"lines", std::move(out)},
                   {"next", last},
                   {"complete", st.completed && !more}});
}

}  // namespace guts::api
