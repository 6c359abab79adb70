#include "api/request_id.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <random>

namespace guts::api {

std::optional<std::string> accept_request_id(std::string_view incoming) {
  if (incoming.empty() || incoming.size() > kMaxRequestIdLength) return std::nullopt;
  for (char c : incoming) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '@' || c == '/' || c == '+' || c == '=' ||
              c == '-';
    if (!ok) return std::nullopt;
  }
  return std::string(incoming);
}

std::string new_request_id() {
  // A process prefix from the OS's entropy, then a counter: unique without locking.
  static const uint64_t prefix = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  static std::atomic<uint64_t> seq{0};
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%016llx-%llx", static_cast<unsigned long long>(prefix),
                        static_cast<unsigned long long>(seq.fetch_add(1) + 1));
  return std::string(buf, static_cast<size_t>(n));
}

std::string request_id_for(std::string_view header) {
  if (auto id = accept_request_id(header)) return *id;
  return new_request_id();
}

}  // namespace guts::api
