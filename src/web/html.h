// HTML output that escapes by construction. Pages are built by appending to an Html: strings go
// through escape() unless they are wrapped in Safe, which only code of this module makes (fixed
// markup written here, the Markdown renderer's output, the highlighter's fragments). Attribute
// values are quoted with '"' everywhere, so escape() covers both text and attributes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace guts::web {

// & < > " ' escaped; invalid UTF-8 replaced with U+FFFD; NUL and other C0 controls but \t \n \r
// dropped. Safe in element content and in double-quoted attribute values.
std::string escape(std::string_view text);

// Markup trusted to be well-formed and free of user-controlled HTML.
struct Safe {
  std::string html;
};

class Html {
 public:
  Html& operator<<(std::string_view text) {
    out_ += escape(text);
    return *this;
  }
  Html& operator<<(const std::string& text) { return *this << std::string_view(text); }
  Html& operator<<(const char* text) { return *this << std::string_view(text); }
  Html& operator<<(const Safe& markup) {
    out_ += markup.html;
    return *this;
  }
  Html& operator<<(uint64_t n) {
    out_ += std::to_string(n);
    return *this;
  }
  Html& operator<<(int n) {
    out_ += std::to_string(n);
    return *this;
  }
  // Appends fixed markup written in this module's code (never user data).
  Html& raw(std::string_view markup) {
    out_.append(markup);
    return *this;
  }
  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// A URL path segment or path (slashes kept) percent-encoded for an href.
std::string url_path(std::string_view path);
// A query parameter value percent-encoded.
std::string url_query(std::string_view value);

// Human-friendly "3 minutes ago"-style age of a time in the past (unix ms) relative to now_ms.
std::string age(uint64_t then_ms, uint64_t now_ms);
// "1.2 KiB"
std::string byte_size(uint64_t n);

}  // namespace guts::web
