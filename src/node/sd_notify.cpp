// sd_notify(3) over $NOTIFY_SOCKET (node/sd_notify.h).
#include "node/sd_notify.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace guts::node {

SdNotify SdNotify::from_environment() {
  const char* sock = std::getenv("NOTIFY_SOCKET");
  if (!sock || !*sock) return {};
  std::optional<std::chrono::microseconds> watchdog;
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  bool ours = !pid || !*pid || std::strtoll(pid, nullptr, 10) == ::getpid();
  if (usec && *usec && ours) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(usec, &end, 10);
    if (errno == 0 && end && *end == '\0' && v > 0 && v < (1ULL << 40))
      watchdog = std::chrono::microseconds(static_cast<int64_t>(v));
  }
  return SdNotify(sock, watchdog);
}

bool SdNotify::send(std::string_view state) const {
  if (socket_.empty()) return false;
  if (socket_[0] != '/' && socket_[0] != '@') {
    spdlog::debug("NOTIFY_SOCKET '{}' is neither a path nor an abstract socket", socket_);
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, socket_.data(), socket_.size());
  if (socket_[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size() +
                                    (socket_[0] == '@' ? 0 : 1));
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), len);
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(state.size())) {
    spdlog::debug("sd_notify to {} failed: {}", socket_, std::strerror(err));
    return false;
  }
  return true;
}

std::optional<std::chrono::microseconds> SdNotify::watchdog_interval() const {
  if (socket_.empty() || !watchdog_) return std::nullopt;
  // At least 1 ms: a tiny WATCHDOG_USEC must not turn the signal wait into a busy loop.
  return std::max(*watchdog_ / 2, std::chrono::microseconds(1000));
}

}  // namespace guts::node
