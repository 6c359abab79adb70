// "host:port" addresses and free loopback ports: the one parser and the one port finder of the
// code base (p2p peer addresses, listen addresses, the CLI's local networks, test harnesses).
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace guts {

inline constexpr size_t kMaxHostPortLength = 300;

struct HostPort {
  std::string host;  // IPv4 dotted quad, IPv6 (without brackets) or a DNS name
  uint16_t port = 0;
  std::string to_string() const;  // IPv6 in brackets; parse_host_port(to_string()) == *this
  bool operator==(const HostPort&) const = default;
};

// Port 0 means "any free port" in a listen address; a peer address never has it.
enum class PortZero { kReject, kAllow };

// Strict "host:port", at most kMaxHostPortLength bytes: host is a dotted-quad IPv4 address, a
// bracketed IPv6 address (no zone) or a DNS name (LDH labels of 1..63 bytes, 253 bytes at most);
// port is 1..65535 in decimal without leading zeros (or exactly "0" with PortZero::kAllow).
// Throws guts::Error(kInvalidArgument) with a message saying what is wrong.
HostPort parse_host_port(std::string_view text, PortZero zero = PortZero::kReject);

// `n` distinct TCP ports that are free on 127.0.0.1 now, none in `exclude`. Every socket stays
// bound until all ports are picked (so they differ) and is closed on every path, errors
// included. Ports are drawn at random below the kernel's ephemeral range (so no outgoing
// connection takes one before its process binds it); another process picking ports at the same
// moment may still draw the same one, so a caller that can retries a failed bind. Throws
// guts::Error(kInternal).
std::vector<uint16_t> pick_free_ports(size_t n, const std::set<uint16_t>& exclude = {});
inline uint16_t pick_free_port() {
  return pick_free_ports(1).front();
}

}  // namespace guts
