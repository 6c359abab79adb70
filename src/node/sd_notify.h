// systemd's readiness protocol (sd_notify(3)) without libsystemd: datagrams such as "READY=1"
// to the unix socket named by $NOTIFY_SOCKET, and the watchdog interval of $WATCHDOG_USEC.
// Outside systemd (no NOTIFY_SOCKET) every call is a no-op. deploy/systemd/guts-node.service
// runs guts-node with Type=notify and WatchdogSec=.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace guts::node {

class SdNotify {
 public:
  // Reads NOTIFY_SOCKET ("/path" or "@abstract"), WATCHDOG_USEC and WATCHDOG_PID (the watchdog
  // is this process's only when WATCHDOG_PID is unset or equals getpid()).
  static SdNotify from_environment();
  SdNotify() = default;
  SdNotify(std::string socket, std::optional<std::chrono::microseconds> watchdog)
      : socket_(std::move(socket)), watchdog_(watchdog) {}

  bool enabled() const { return !socket_.empty(); }
  // Sends one datagram ("READY=1", "WATCHDOG=1", "STOPPING=1", "STATUS=…", lines joined by
  // '\n'). False when disabled or the send failed (logged once at debug: systemd may be gone).
  bool send(std::string_view state) const;
  // How often to send WATCHDOG=1 (half of WATCHDOG_USEC), when systemd asked for it.
  std::optional<std::chrono::microseconds> watchdog_interval() const;

 private:
  std::string socket_;
  std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace guts::node
