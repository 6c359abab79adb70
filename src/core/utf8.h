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

// Whether every byte of `text` is printable ASCII (0x20-0x7e): what printable_excerpt writes, so
// decoders of messages that carry one can insist on a single encoding.
bool is_printable_ascii(std::string_view text);

}  // namespace guts
