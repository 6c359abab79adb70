// Logging goes through spdlog; this header only sets it up so modules include <spdlog/spdlog.h>.
#pragma once

#include <string_view>

namespace guts {

// level: trace|debug|info|warn|error|off. Logs go to stderr.
void init_logging(std::string_view level);

}  // namespace guts
