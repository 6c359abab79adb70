// guts-node's config file parser (node/config_file.h): a strict TOML subset, with bounds.
#include "node/config_file.h"

#include <fstream>
#include <limits>
#include <set>

#include "core/status.h"

namespace guts::node {

std::string_view describe(ConfigValue::Type type) {
  switch (type) {
    case ConfigValue::Type::kString:
      return "a string";
    case ConfigValue::Type::kInteger:
      return "an integer";
    case ConfigValue::Type::kBoolean:
      return "a boolean";
    case ConfigValue::Type::kStringArray:
      return "an array of strings";
  }
  return "a value";
}

namespace {

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// A cursor over the text; every error names the file and the current line.
class Parser {
 public:
  Parser(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  std::vector<ConfigEntry> parse() {
    if (text_.size() > kConfigMaxBytes)
      fail("the file is larger than " + std::to_string(kConfigMaxBytes) + " bytes");
    std::vector<ConfigEntry> out;
    std::set<std::string> seen;
    // A UTF-8 byte order mark is tolerated at the very start.
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    while (true) {
      skip_blank_and_comments_across_lines();
      if (at_end()) break;
      char c = peek();
      if (c == '[')
        fail(
            "tables ([section]) are not supported: every guts-node option is a top-level key "
            "(docs/configuration.md)");
      if (!is_key_char(c)) fail_char("expected a key");
      ConfigEntry e;
      e.line = line_;
      e.key = parse_key();
      key_ = e.key;
      if (!seen.insert(e.key).second) fail("the key appears more than once");
      skip_spaces();
      if (peek() == '.')
        fail("dotted keys are not supported: every guts-node option is a top-level key");
      if (peek() != '=') fail_char("expected '=' after the key");
      ++pos_;
      skip_spaces();
      e.value = parse_value();
      end_of_line();
      if (out.size() >= kConfigMaxEntries)
        fail("more than " + std::to_string(kConfigMaxEntries) + " entries");
      out.push_back(std::move(e));
      key_.clear();
    }
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::string msg = name_ + ":" + std::to_string(line_) + ": ";
    if (!key_.empty()) msg += "key '" + key_ + "': ";
    throw Error(Code::kMalformed, msg + what);
  }
  [[noreturn]] void fail_char(const std::string& what) const {
    if (at_end()) fail(what + ", found the end of the file (truncated?)");
    char c = peek();
    if (c == '\n') fail(what + ", found the end of the line");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      fail(what + ", found control character " + std::to_string(static_cast<unsigned char>(c)));
    fail(what + ", found '" + std::string(1, c) + "'");
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  void skip_spaces() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) ++pos_;
  }
  void skip_comment() {
    if (peek() != '#') return;
    while (!at_end() && peek() != '\n') {
      auto c = static_cast<unsigned char>(peek());
      if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
        fail("control character " + std::to_string(c) + " in a comment");
      ++pos_;
    }
  }
  // A newline is "\n" or "\r\n".
  bool newline() {
    if (peek() == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    if (peek() != '\n') return false;
    ++pos_;
    ++line_;
    return true;
  }
  void skip_blank_and_comments_across_lines() {
    while (true) {
      skip_spaces();
      skip_comment();
      if (!newline()) return;
    }
  }
  void end_of_line() {
    skip_spaces();
    skip_comment();
    if (at_end()) return;
    if (!newline()) fail_char("expected the end of the line after the value");
  }

  std::string parse_key() {
    size_t start = pos_;
    while (!at_end() && is_key_char(peek())) {
      if (pos_ - start >= kConfigMaxKeyBytes)
        fail("a key is longer than " + std::to_string(kConfigMaxKeyBytes) + " bytes");
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  ConfigValue parse_value() {
    ConfigValue v;
    char c = peek();
    if (c == '"' || c == '\'') {
      v.type = ConfigValue::Type::kString;
      v.string = parse_string();
    } else if (c == '[') {
      v.type = ConfigValue::Type::kStringArray;
      v.strings = parse_array();
    } else if (c == 't' || c == 'f') {
      v.type = ConfigValue::Type::kBoolean;
      if (text_.substr(pos_, 4) == "true") {
        v.boolean = true;
        pos_ += 4;
      } else if (text_.substr(pos_, 5) == "false") {
        pos_ += 5;
      } else {
        fail("expected a value: a \"string\", an integer, true/false or [\"an\", \"array\"]");
      }
    } else if (c == '+' || c == '-' || (c >= '0' && c <= '9')) {
      v.type = ConfigValue::Type::kInteger;
      v.integer = parse_integer();
    } else if (c == '{') {
      fail("inline tables are not supported");
    } else {
      fail_char("expected a value: a \"string\", an integer, true/false or [\"an\", \"array\"]");
    }
    return v;
  }

  int64_t parse_integer() {
    bool negative = false;
    if (peek() == '+' || peek() == '-') {
      negative = peek() == '-';
      ++pos_;
    }
    if (!(peek() >= '0' && peek() <= '9')) fail_char("expected digits");
    // Magnitude accumulated as unsigned; the limit allows INT64_MIN.
    const uint64_t limit =
        negative ? uint64_t{1} << 63 : static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    uint64_t n = 0;
    const bool leading_zero = peek() == '0';
    bool last_digit = false;
    size_t digits = 0;
    while (!at_end()) {
      char c = peek();
      if (c >= '0' && c <= '9') {
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (n > (limit - d) / 10) fail("the integer is out of the 64-bit range");
        n = n * 10 + d;
        last_digit = true;
        ++digits;
      } else if (c == '_') {
        if (!last_digit) fail("'_' in an integer must be between digits");
        last_digit = false;
      } else {
        break;
      }
      ++pos_;
    }
    if (!last_digit) fail("'_' in an integer must be between digits");
    if (leading_zero && digits > 1) fail("leading zeros are not allowed in an integer");
    char c = peek();
    if (c == '.' || c == 'e' || c == 'E') fail("floating-point values are not supported");
    if (c == ':' || c == '-' || c == 'x' || c == 'o' || c == 'b')
      fail("expected a decimal integer (dates, hex, octal and binary are not supported)");
    if (negative)
      return n == (uint64_t{1} << 63) ? std::numeric_limits<int64_t>::min()
                                      : -static_cast<int64_t>(n);
    return static_cast<int64_t>(n);
  }

  void append_utf8(std::string& out, uint32_t cp) {
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("invalid \\u escape (not a scalar)");
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // One-line basic ("…") or literal ('…') string; the cursor is on the opening quote.
  std::string parse_string() {
    const char quote = peek();
    const int start_line = line_;
    if (text_.substr(pos_, 3) == std::string(3, quote))
      fail("multi-line strings are not supported");
    ++pos_;
    std::string out;
    while (true) {
      if (at_end() || peek() == '\n' || peek() == '\r')
        fail("unterminated string (opened on line " + std::to_string(start_line) + ")");
      char c = peek();
      ++pos_;
      if (c == quote) break;
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f)
        fail("control character " + std::to_string(u) + " in a string");
      if (c == '\\' && quote == '"') {
        if (at_end())
          fail("unterminated string (opened on line " + std::to_string(start_line) + ")");
        char e = peek();
        ++pos_;
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case 'u': {
            uint32_t cp = 0;
            for (int i = 0; i < 4; ++i) {
              char h = peek();
              uint32_t d;
              if (h >= '0' && h <= '9')
                d = static_cast<uint32_t>(h - '0');
              else if (h >= 'a' && h <= 'f')
                d = static_cast<uint32_t>(h - 'a' + 10);
              else if (h >= 'A' && h <= 'F')
                d = static_cast<uint32_t>(h - 'A' + 10);
              else
                fail("\\u needs four hex digits");
              cp = cp * 16 + d;
              ++pos_;
            }
            append_utf8(out, cp);
            break;
          }
          default:
            fail("unsupported escape '\\" + std::string(1, e) + "' in a string");
        }
      } else {
        out += c;
      }
      if (out.size() > kConfigMaxStringBytes)
        fail("a string is longer than " + std::to_string(kConfigMaxStringBytes) + " bytes");
    }
    return out;
  }

  // An array of strings; may span lines (comments allowed between items).
  std::vector<std::string> parse_array() {
    const int start_line = line_;
    ++pos_;  // '['
    std::vector<std::string> out;
    while (true) {
      skip_blank_and_comments_across_lines();
      if (at_end()) fail("unterminated array (opened on line " + std::to_string(start_line) + ")");
      if (peek() == ']') {
        ++pos_;
        return out;
      }
      if (peek() != '"' && peek() != '\'') {
        if (peek() == '[' || peek() == '{') fail("arrays may hold strings only");
        fail_char("expected a string in the array");
      }
      if (out.size() >= kConfigMaxArrayItems)
        fail("an array has more than " + std::to_string(kConfigMaxArrayItems) + " items");
      out.push_back(parse_string());
      skip_blank_and_comments_across_lines();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ']') {
        if (at_end())
          fail("unterminated array (opened on line " + std::to_string(start_line) + ")");
        fail_char("expected ',' or ']' in the array");
      }
    }
  }

  std::string_view text_;
  const std::string& name_;
  size_t pos_ = 0;
  int line_ = 1;
  std::string key_;  // the key being parsed, for messages
};

}  // namespace

std::vector<ConfigEntry> parse_config_text(std::string_view text, const std::string& name) {
  return Parser(text, name).parse();
}

std::vector<ConfigEntry> parse_config_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Code::kNotFound, "config file " + path.string() + " cannot be read");
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kConfigMaxBytes)
      throw Error(Code::kTooLarge, "config file " + path.string() + " is larger than " +
                                       std::to_string(kConfigMaxBytes) + " bytes");
  }
  if (in.bad()) throw Error(Code::kInternal, "config file " + path.string() + ": read error");
  return parse_config_text(text, path.string());
}

std::string toml_quote(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (u < 0x20 || u == 0x7f) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else
      out += c;
  }
  return out + "\"";
}

}  // namespace guts::node
