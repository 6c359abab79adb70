// Wall-clock time in Unix milliseconds, and ISO-8601 formatting for the API.
// Sans-I/O cores never call these: the driver passes time in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace guts {

uint64_t unix_millis();
// "2026-11-21T00:20:57Z" (GitHub's format: seconds precision, UTC).
std::string iso8601(uint64_t unix_ms);
std::optional<uint64_t> parse_iso8601(std::string_view text);

}  // namespace guts
