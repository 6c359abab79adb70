#include "runner/log_streamer.h"

#include <algorithm>
#include <ctime>

#include "core/time.h"

namespace guts::runner {

void Masker::add(std::string_view secret) {
  auto push = [&](std::string_view v) {
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
    if (v.empty()) return;
    if (std::find(values_.begin(), values_.end(), v) == values_.end()) values_.emplace_back(v);
  };
  push(secret);
  size_t start = 0;
  while (start < secret.size()) {  // each line of a multi-line secret
    auto nl = secret.find('\n', start);
    if (nl == std::string_view::npos) nl = secret.size();
    push(secret.substr(start, nl - start));
    start = nl + 1;
  }
  std::stable_sort(values_.begin(), values_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Masker::mask(std::string_view line) const {
  std::string out(line);
  for (const auto& v : values_) {
    size_t pos = 0;
    while ((pos = out.find(v, pos)) != std::string::npos) {
      out.replace(pos, v.size(), "***");
      pos += 3;
    }
  }
  return out;
}

std::string LogBound::admit(std::string_view line) {
  if (full_) return {};
  static constexpr std::string_view kNotice =
      "##[error]the log reached its size limit: truncated\n";
  uint64_t need = line.size() + 1;
  if (used_ + need + kNotice.size() > max_) {
    full_ = true;
    used_ += kNotice.size();
    return std::string(kNotice);
  }
  used_ += need;
  std::string out(line);
  out.push_back('\n');
  return out;
}

std::string log_timestamp(uint64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

LogStreamer::LogStreamer(const Masker& masker, uint64_t max_bytes,
                         std::function<bool(const std::string&)> upload)
    : masker_(masker), upload_(std::move(upload)), bound_(max_bytes) {
  thread_ = std::thread([this] { loop(); });
}

LogStreamer::~LogStreamer() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  flush();
}

void LogStreamer::line(std::string_view text) {
  std::string formatted = log_timestamp(unix_millis()) + masker_.mask(text);
  bool big = false;
  {
    MutexLock lock(mu_);
    auto admitted = bound_.admit(formatted);
    full_ += admitted;
    queued_ += admitted;
    big = queued_.size() >= kMaxBatchBytes;
  }
  if (big) cv_.notify_all();
}

void LogStreamer::flush() {
  MutexLock order(upload_mu_);
  std::string batch;
  {
    MutexLock lock(mu_);
    batch.swap(queued_);
  }
  if (batch.empty()) return;
  if (!upload_(batch)) {
    MutexLock lock(mu_);
    queued_.insert(0, batch);  // kept for the next attempt
  }
}

std::string LogStreamer::full() const {
  MutexLock lock(mu_);
  return full_;
}

void LogStreamer::loop() {
  for (;;) {
    {
      MutexLock lock(mu_);
      lock.wait_for(cv_, kFlushInterval);
      if (stop_) return;
    }
    flush();
  }
}

}  // namespace guts::runner
