#include "core/log.h"

#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <ctime>

#include "core/status.h"
#include "core/utf8.h"

namespace guts {

namespace {

// Length of the well-formed UTF-8 sequence at s[i] (0: none, the byte is invalid there).
size_t utf8_sequence(std::string_view s, size_t i) {
  auto c = static_cast<uint8_t>(s[i]);
  size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  return is_valid_utf8(s.substr(i, len)) ? len : 0;
}

void put(spdlog::memory_buf_t& out, std::string_view s) {
  out.append(s.data(), s.data() + s.size());
}

void append_escaped(spdlog::memory_buf_t& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<uint8_t>(text[i]);
    if (c >= 0x80) {
      size_t len = utf8_sequence(text, i);
      if (len == 0) {
        put(out, "\xef\xbf\xbd");  // U+FFFD for the invalid byte
        ++i;
      } else {
        put(out, text.substr(i, len));
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        put(out, "\\\"");
        break;
      case '\\':
        put(out, "\\\\");
        break;
      case '\n':
        put(out, "\\n");
        break;
      case '\r':
        put(out, "\\r");
        break;
      case '\t':
        put(out, "\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          out.append(esc, esc + sizeof esc);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
}

// RFC 3339 UTC with milliseconds: 2026-12-04T09:41:00.123Z.
void append_time(spdlog::memory_buf_t& out, spdlog::log_clock::time_point tp) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  if (ms < 0 && ms % 1000) --secs;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        static_cast<int>(((ms % 1000) + 1000) % 1000));
  out.append(buf, buf + n);
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    put(dest, "{\"ts\":\"");
    append_time(dest, msg.time);
    put(dest, "\",\"level\":\"");
    auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.data(), level.data() + level.size());
    dest.push_back('"');
    if (msg.logger_name.size() > 0) {
      put(dest, ",\"logger\":\"");
      append_escaped(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
      dest.push_back('"');
    }
    put(dest, ",\"thread\":");
    auto tid = std::to_string(msg.thread_id);
    dest.append(tid.data(), tid.data() + tid.size());
    put(dest, ",\"msg\":\"");
    append_escaped(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    put(dest, "\"}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_json_formatter() {
  return std::make_unique<JsonFormatter>();
}

void append_json_escaped(std::string& out, std::string_view text) {
  spdlog::memory_buf_t buf;
  append_escaped(buf, text);
  out.append(buf.data(), buf.size());
}

void init_logging(std::string_view level, std::string_view format) {
  if (format != "text" && format != "json")
    throw Error(Code::kInvalidArgument,
                "'" + std::string(format) + "' is not a log format (text, json)");
  spdlog::drop("guts");
  std::shared_ptr<spdlog::logger> logger;
  if (format == "json") {
    // No colours: a line is exactly one JSON object.
    logger = spdlog::stderr_logger_mt("guts");
    logger->set_formatter(make_json_formatter());
  } else {
    logger = spdlog::stderr_color_mt("guts");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

}  // namespace guts
