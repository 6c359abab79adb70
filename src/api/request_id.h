// Request ids (X-Request-Id): a client's id is kept when it is short and printable, otherwise
// the server makes one. The id is echoed in the response and appears in the access log.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace guts::api {

inline constexpr size_t kMaxRequestIdLength = 128;

// `incoming` when it is 1..kMaxRequestIdLength characters of [A-Za-z0-9._:@/+=-]; else nullopt.
std::optional<std::string> accept_request_id(std::string_view incoming);
// A fresh id: 16 random hex digits then a per-process sequence number (unique per process).
std::string new_request_id();
// The id of a request whose X-Request-Id header is `header` ("" when absent).
std::string request_id_for(std::string_view header);

}  // namespace guts::api
