// The web interface's one stylesheet, compiled into the binary and served from memory at a URL
// that carries a hash of its content (/-/static/guts.<hash>.css), so that it can be cached for a
// year ("immutable") and a new build is fetched at once.
#pragma once

#include <string>
#include <string_view>

namespace guts::web {

std::string_view stylesheet();
const std::string& stylesheet_path();  // "/-/static/guts.<16 hex>.css"

}  // namespace guts::web
