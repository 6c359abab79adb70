#include "core/net_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <utility>

#include "core/status.h"
#include "core/utf8.h"

namespace guts {

namespace {

[[noreturn]] void bad(std::string_view text, const std::string& why) {
  throw Error(Code::kInvalidArgument, "invalid address '" + printable_excerpt(text) + "': " + why);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_ipv4(std::string_view s) {
  int parts = 0;
  size_t pos = 0;
  while (true) {
    size_t dot = s.find('.', pos);
    auto part = s.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (!all_digits(part) || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
    if (std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return parts == 4;
}

bool valid_dns_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t pos = 0;
  while (true) {
    size_t dot = s.find('.', pos);
    auto label = s.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label) {
      bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return true;
}

// Owns the sockets opened while picking ports: all are closed when it goes out of scope.
class Sockets {
 public:
  Sockets() = default;
  Sockets(const Sockets&) = delete;
  Sockets& operator=(const Sockets&) = delete;
  ~Sockets() { close_all(); }
  void close_all() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
  }
  void adopt(int fd) { fds_.push_back(fd); }
  size_t size() const { return fds_.size(); }

 private:
  std::vector<int> fds_;
};

// Where pick_free_ports draws from: below the kernel's ephemeral range when there is room, so
// that no outgoing connection (every test's HTTP and git clients draw their source ports from
// that range) takes a port between its pick and the bind of the process it was picked for.
// Drawn at random, so that two processes picking at once rarely meet.
std::pair<uint32_t, uint32_t> candidate_port_range() {
  constexpr uint32_t kLowest = 10000;
  uint32_t ephemeral_low = 32768, ephemeral_high = 60999;  // Linux's defaults
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  uint32_t lo = 0, hi = 0;
  if (in >> lo >> hi && lo <= hi && hi <= 65535) {
    ephemeral_low = lo;
    ephemeral_high = hi;
  }
  if (ephemeral_low >= kLowest + 4096) return {kLowest, ephemeral_low - 1};
  // A range that starts too low leaves no such room: draw above it, or from it as a last resort.
  if (ephemeral_high + 4096 <= 65535) return {ephemeral_high + 1, 65535};
  return {1024, 65535};
}

}  // namespace

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

HostPort parse_host_port(std::string_view text, PortZero zero) {
  if (text.empty()) bad(text, "empty");
  if (text.size() > kMaxHostPortLength) bad(text, "too long");
  HostPort hp;
  std::string_view port;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) bad(text, "unterminated '['");
    auto host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') bad(text, "missing ':port' after ']'");
    port = text.substr(close + 2);
    in6_addr a6;
    std::string h(host);
    if (h.empty() || h.find('%') != std::string::npos || inet_pton(AF_INET6, h.c_str(), &a6) != 1) {
      bad(text, "not an IPv6 address between brackets");
    }
    hp.host = std::move(h);
  } else {
    auto colon = text.find(':');
    if (colon == std::string_view::npos) bad(text, "missing ':port'");
    if (text.find(':', colon + 1) != std::string_view::npos) {
      bad(text, "IPv6 addresses must be written in brackets ([::1]:9000)");
    }
    auto host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.empty()) bad(text, "missing host");
    bool numeric = std::all_of(host.begin(), host.end(),
                               [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    if (numeric ? !valid_ipv4(host) : !valid_dns_name(host)) {
      bad(text, numeric ? "not a dotted-quad IPv4 address" : "not a valid host name");
    }
    hp.host = std::string(host);
  }
  if (zero == PortZero::kAllow && port == "0") return hp;  // hp.port == 0
  const char* range = zero == PortZero::kAllow ? "port must be 0..65535" : "port must be 1..65535";
  if (!all_digits(port) || port.size() > 5 || port[0] == '0') bad(text, range);
  auto p = std::stoul(std::string(port));
  if (p == 0 || p > 65535) bad(text, range);
  hp.port = static_cast<uint16_t>(p);
  return hp;
}

std::vector<uint16_t> pick_free_ports(size_t n, const std::set<uint16_t>& exclude) {
  auto [low, high] = candidate_port_range();
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<uint32_t> draw(low, high);
  Sockets held;  // closed on return and on every throw
  std::vector<uint16_t> ports;
  size_t attempts = 0;
  while (ports.size() < n) {
    if (++attempts > 16 * n + 256) throw Error(Code::kInternal, "cannot find free ports");
    auto port = static_cast<uint16_t>(draw(rng));
    if (exclude.count(port) || std::find(ports.begin(), ports.end(), port) != ports.end()) continue;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      // Out of descriptors, most likely: give them back before building the error, whose
      // handling (a sanitizer's checks, a log line) may itself need one.
      std::string why = std::strerror(errno);
      held.close_all();
      throw Error(Code::kInternal, "cannot find a free port: socket: " + why);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      held.adopt(fd);  // kept bound until every port is picked
      ports.push_back(port);
      continue;
    }
    const int bind_errno = errno;
    ::close(fd);  // taken: tried no more
    if (bind_errno != EADDRINUSE && bind_errno != EACCES)
      throw Error(Code::kInternal,
                  std::string("cannot find a free port: ") + std::strerror(bind_errno));
  }
  return ports;
}

}  // namespace guts
