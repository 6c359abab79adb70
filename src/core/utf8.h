#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace guts {

// Strict UTF-8: rejects overlong forms, surrogates, code points above U+10FFFF.
bool is_valid_utf8(std::string_view text);

// At most `max` bytes of untrusted `text`, every byte outside printable ASCII replaced by '?':
// safe to quote in an error message or a log line.
std::string printable_excerpt(std::string_view text, size_t max = 120);

}  // namespace guts
