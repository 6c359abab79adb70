// Test helpers: a blocking loopback socket with deadlines, and a minimal HTTP response parser.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace guts::testing {

using Clock = std::chrono::steady_clock;

class RawConn {
 public:
  explicit RawConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect");
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  // Sends everything; false if the peer closed.
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads what is available, waiting until the deadline. Returns nullopt on timeout, "" on EOF.
  std::optional<std::string> read_some(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r <= 0) return std::nullopt;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return std::string();
    return std::string(buf, static_cast<size_t>(n));
  }

  // Appends to `acc` until pred(acc) holds, EOF, or the deadline. True if pred held.
  bool read_until(std::string& acc, const std::function<bool(const std::string&)>& pred,
                  Clock::time_point deadline) {
    while (!pred(acc)) {
      auto chunk = read_some(deadline);
      if (!chunk || chunk->empty()) return pred(acc);
      acc += *chunk;
    }
    return true;
  }

  // True if the peer closes the connection before the deadline (data read meanwhile is kept).
  bool wait_closed(Clock::time_point deadline, std::string* acc = nullptr) {
    for (;;) {
      auto chunk = read_some(deadline);
      if (!chunk) return false;
      if (chunk->empty()) return true;
      if (acc) *acc += *chunk;
    }
  }

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

struct ParsedResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  bool chunked = false;
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
};

// Parses complete responses from the front of `data` (Content-Length or chunked framing).
// `head_only` responses have no body. Stops at the first incomplete one.
inline std::vector<ParsedResponse> parse_responses(std::string_view data,
                                                   size_t* consumed = nullptr,
                                                   bool head_only = false) {
  std::vector<ParsedResponse> out;
  size_t pos = 0;
  for (;;) {
    size_t end = data.find("\r\n\r\n", pos);
    if (end == std::string_view::npos) break;
    ParsedResponse r;
    std::string_view head = data.substr(pos, end - pos);
    size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() < 12) break;
    r.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
    size_t p = line_end == std::string_view::npos ? head.size() : line_end + 2;
    std::optional<size_t> cl;
    while (p < head.size()) {
      size_t e = head.find("\r\n", p);
      if (e == std::string_view::npos) e = head.size();
      std::string_view line = head.substr(p, e - p);
      size_t colon = line.find(':');
      std::string name(line.substr(0, colon));
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (name == "content-length") cl = std::stoul(std::string(value));
      if (name == "transfer-encoding" && value == "chunked") r.chunked = true;
      r.headers.emplace_back(name, std::string(value));
      p = e + 2;
    }
    size_t body_start = end + 4;
    if (r.status < 200 && r.status >= 100) {  // interim
      out.push_back(std::move(r));
      pos = body_start;
      continue;
    }
    if (head_only) {
      pos = body_start;
    } else if (r.chunked) {
      size_t q = body_start;
      bool complete = false;
      for (;;) {
        size_t le = data.find("\r\n", q);
        if (le == std::string_view::npos) break;
        size_t n = std::stoul(std::string(data.substr(q, le - q)), nullptr, 16);
        if (n == 0) {
          if (data.size() < le + 4) break;
          q = le + 4;  // no trailers in our responses
          complete = true;
          break;
        }
        if (data.size() < le + 2 + n + 2) break;
        r.body.append(data.substr(le + 2, n));
        q = le + 2 + n + 2;
      }
      if (!complete) break;
      pos = q;
    } else {
      size_t n = cl.value_or(0);
      if (data.size() < body_start + n) break;
      r.body = std::string(data.substr(body_start, n));
      pos = body_start + n;
    }
    out.push_back(std::move(r));
  }
  if (consumed) *consumed = pos;
  return out;
}

// Resident set size of this process in bytes.
inline size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  size_t pages_total = 0, pages_rss = 0;
  f >> pages_total >> pages_rss;
  return pages_rss * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

// A one-shot event with a deadline-bounded wait.
class Event {
 public:
  void set() {
    {
      std::lock_guard lk(mu_);
      set_ = true;
    }
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return set_; });
  }
  bool is_set() {
    std::lock_guard lk(mu_);
    return set_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

inline Clock::time_point in(std::chrono::milliseconds d) {
  return Clock::now() + d;
}

}  // namespace guts::testing
