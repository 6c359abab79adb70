#pragma once

#include <string_view>

namespace guts {

// Strict UTF-8: rejects overlong forms, surrogates, code points above U+10FFFF.
bool is_valid_utf8(std::string_view text);

}  // namespace guts
