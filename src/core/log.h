// Logging goes through spdlog; this header only sets it up so modules include <spdlog/spdlog.h>.
//
// Two formats on stderr:
//   text  2026-12-04T09:41:00.123 info message
//   json  one object per line: {"ts":"2026-12-04T09:41:00.123Z","level":"info",
//         "logger":"guts","thread":1234,"msg":"message"} — the message escaped as JSON (control
//         bytes as \u00XX, invalid UTF-8 as U+FFFD), so a line is always one valid object.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace guts {

// level: trace|debug|info|warn|error|critical|off; format: text|json (anything else throws
// guts::Error). Logs go to stderr. Safe to call again (tests): the default logger is replaced.
void init_logging(std::string_view level, std::string_view format = "text");

// The formatter of the json format (exposed for tests and other sinks).
std::unique_ptr<spdlog::formatter> make_json_formatter();

// `text` as the contents of a JSON string (without the quotes): ", \ and control characters
// escaped, invalid UTF-8 bytes replaced by U+FFFD. Appends to `out`.
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace guts
