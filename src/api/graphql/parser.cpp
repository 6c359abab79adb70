#include "api/graphql/parser.h"

#include <cerrno>
#include <cstdlib>

namespace guts::api::graphql {
namespace {

enum class Tok { kEnd, kPunct, kName, kInt, kFloat, kString };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // punctuator, name, number as written, or the decoded string
  Location loc;
};

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}

void append_utf8(std::string& out, uint32_t cp) {
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

class Lexer {
 public:
  Lexer(std::string_view s, const ParseLimits& limits) : s_(s), limits_(limits) {}

  Token next() {
    skip_ignored();
    Token t;
    t.loc = loc();
    if (pos_ >= s_.size()) return t;
    if (++tokens_ > limits_.max_tokens) fail("too many tokens");
    char c = s_[pos_];
    if (c == '.') {
      if (s_.substr(pos_, 3) != "...") fail("unexpected '.'");
      advance(3);
      t.kind = Tok::kPunct;
      t.text = "...";
      return t;
    }
    if (std::string_view("!$&():=@[]{}|").find(c) != std::string_view::npos) {
      advance(1);
      t.kind = Tok::kPunct;
      t.text = std::string(1, c);
      return t;
    }
    if (name_start(c)) {
      size_t b = pos_;
      while (pos_ < s_.size() && name_char(s_[pos_])) advance(1);
      t.kind = Tok::kName;
      t.text = std::string(s_.substr(b, pos_ - b));
      return t;
    }
    if (c == '-' || digit(c)) return number(t);
    if (c == '"') return string(t);
    fail(std::string("unexpected character '") + (c >= 0x20 && c < 0x7f ? std::string(1, c) : "?") +
         "'");
  }

  [[noreturn]] void fail(const std::string& why) const { throw ParseError(why, loc()); }
  Location loc() const { return {line_, pos_ - line_start_ + 1}; }

 private:
  void advance(size_t n) {
    for (size_t i = 0; i < n && pos_ < s_.size(); ++i) {
      if (s_[pos_] == '\n') {
        ++line_;
        line_start_ = pos_ + 1;
      }
      ++pos_;
    }
  }

  void skip_ignored() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
        advance(1);
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') advance(1);
      } else if (s_.substr(pos_, 3) == "\xEF\xBB\xBF") {
        pos_ += 3;
      } else {
        break;
      }
    }
  }

  Token number(Token& t) {
    size_t b = pos_;
    bool is_float = false;
    if (s_[pos_] == '-') advance(1);
    if (pos_ >= s_.size() || !digit(s_[pos_])) fail("invalid number");
    if (s_[pos_] == '0' && pos_ + 1 < s_.size() && digit(s_[pos_ + 1]))
      fail("invalid number: leading zero");
    while (pos_ < s_.size() && digit(s_[pos_])) advance(1);
    if (pos_ < s_.size() && s_[pos_] == '.') {
      is_float = true;
      advance(1);
      if (pos_ >= s_.size() || !digit(s_[pos_])) fail("invalid number");
      while (pos_ < s_.size() && digit(s_[pos_])) advance(1);
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      is_float = true;
      advance(1);
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) advance(1);
      if (pos_ >= s_.size() || !digit(s_[pos_])) fail("invalid number");
      while (pos_ < s_.size() && digit(s_[pos_])) advance(1);
    }
    if (pos_ < s_.size() && (name_start(s_[pos_]) || s_[pos_] == '.')) fail("invalid number");
    t.kind = is_float ? Tok::kFloat : Tok::kInt;
    t.text = std::string(s_.substr(b, pos_ - b));
    return t;
  }

  uint32_t hex4() {
    if (pos_ + 4 > s_.size()) fail("invalid unicode escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_ + i];
      v <<= 4;
      if (digit(c))
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        fail("invalid unicode escape");
    }
    advance(4);
    return v;
  }

  Token string(Token& t) {
    t.kind = Tok::kString;
    if (s_.substr(pos_, 3) == "\"\"\"") return block_string(t);
    advance(1);
    std::string out;
    while (true) {
      if (pos_ >= s_.size() || s_[pos_] == '\n' || s_[pos_] == '\r') fail("unterminated string");
      char c = s_[pos_];
      if (c == '"') {
        advance(1);
        break;
      }
      if (c != '\\') {
        out += c;
        advance(1);
        continue;
      }
      advance(1);
      if (pos_ >= s_.size()) fail("unterminated string");
      char e = s_[pos_];
      advance(1);
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") fail("invalid surrogate pair");
            advance(2);
            uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("invalid surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("invalid surrogate pair");
          }
          append_utf8(out, cp);
          break;
        }
        default:
          fail("invalid escape in string");
      }
    }
    t.text = std::move(out);
    return t;
  }

  // """block strings""": kept raw, with \""" unescaped; the common indentation is removed.
  Token block_string(Token& t) {
    advance(3);
    std::string raw;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated block string");
      if (s_.substr(pos_, 3) == "\"\"\"") {
        advance(3);
        break;
      }
      if (s_.substr(pos_, 4) == "\\\"\"\"") {
        raw += "\"\"\"";
        advance(4);
        continue;
      }
      raw += s_[pos_];
      advance(1);
    }
    std::vector<std::string> lines;
    size_t b = 0;
    for (size_t i = 0; i <= raw.size(); ++i) {
      if (i == raw.size() || raw[i] == '\n') {
        std::string l = raw.substr(b, i - b);
        if (!l.empty() && l.back() == '\r') l.pop_back();
        lines.push_back(std::move(l));
        b = i + 1;
      }
    }
    size_t common = std::string::npos;
    for (size_t i = 1; i < lines.size(); ++i) {
      size_t ind = lines[i].find_first_not_of(" \t");
      if (ind != std::string::npos && ind < common) common = ind;
    }
    for (size_t i = 1; i < lines.size(); ++i)
      if (common != std::string::npos)
        lines[i] = lines[i].size() > common ? lines[i].substr(common) : "";
    auto blank = [](const std::string& l) {
      return l.find_first_not_of(" \t") == std::string::npos;
    };
    while (!lines.empty() && blank(lines.front())) lines.erase(lines.begin());
    while (!lines.empty() && blank(lines.back())) lines.pop_back();
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) out += (i ? "\n" : "") + lines[i];
    t.text = std::move(out);
    return t;
  }

  std::string_view s_;
  const ParseLimits& limits_;
  size_t pos_ = 0, line_ = 1, line_start_ = 0, tokens_ = 0;
};

class Parser {
 public:
  Parser(std::string_view s, const ParseLimits& limits) : lex_(s, limits), limits_(limits) {
    tok_ = lex_.next();
  }

  Document document() {
    Document doc;
    if (tok_.kind == Tok::kEnd) fail("the document is empty");
    size_t definitions = 0;
    while (tok_.kind != Tok::kEnd) {
      if (++definitions > limits_.max_definitions) fail("too many definitions");
      if (is_punct("{")) {
        Operation op;
        op.loc = tok_.loc;
        op.selections = selection_set(1);
        doc.operations.push_back(std::move(op));
      } else if (tok_.kind == Tok::kName && (tok_.text == "query" || tok_.text == "mutation")) {
        doc.operations.push_back(operation());
      } else if (tok_.kind == Tok::kName && tok_.text == "fragment") {
        Fragment f = fragment();
        if (doc.fragments.count(f.name))
          fail_at(f.loc, "fragment '" + f.name + "' is defined twice");
        std::string name = f.name;
        doc.fragments.emplace(std::move(name), std::move(f));
      } else if (tok_.kind == Tok::kName && tok_.text == "subscription") {
        fail("subscriptions are not supported");
      } else {
        fail("expected an operation or a fragment, found " + describe());
      }
    }
    if (doc.operations.empty()) fail("the document has no operation");
    return doc;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw ParseError(why, tok_.loc); }
  [[noreturn]] void fail_at(Location at, const std::string& why) const {
    throw ParseError(why, at);
  }

  std::string describe() const {
    switch (tok_.kind) {
      case Tok::kEnd:
        return "the end of the document";
      case Tok::kString:
        return "a string";
      default:
        return "'" + tok_.text + "'";
    }
  }
  bool is_punct(std::string_view p) const { return tok_.kind == Tok::kPunct && tok_.text == p; }
  void advance() { tok_ = lex_.next(); }
  void expect(std::string_view p) {
    if (!is_punct(p)) fail("expected '" + std::string(p) + "', found " + describe());
    advance();
  }
  std::string name() {
    if (tok_.kind != Tok::kName) fail("expected a name, found " + describe());
    std::string n = std::move(tok_.text);
    advance();
    return n;
  }

  Operation operation() {
    Operation op;
    op.loc = tok_.loc;
    op.type = tok_.text == "mutation" ? Operation::kMutation : Operation::kQuery;
    advance();
    if (tok_.kind == Tok::kName) op.name = name();
    if (is_punct("(")) {
      advance();
      while (!is_punct(")")) {
        if (op.variables.size() >= 100) fail("too many variables");
        VariableDefinition v;
        expect("$");
        v.name = name();
        expect(":");
        v.type = type(0, &v.non_null);
        if (is_punct("=")) {
          advance();
          v.has_default = true;
          v.default_value = value(1, /*constant=*/true);
        }
        for (const auto& d : op.variables)
          if (d.name == v.name) fail("variable '$" + v.name + "' is defined twice");
        op.variables.push_back(std::move(v));
      }
      advance();
    }
    directives();  // operation directives are accepted and ignored
    op.selections = selection_set(1);
    return op;
  }

  std::string type(size_t depth, bool* non_null) {
    if (depth > 8) fail("type nested too deeply");
    std::string t;
    if (is_punct("[")) {
      advance();
      bool inner = false;
      t = "[" + type(depth + 1, &inner) + "]";
      expect("]");
    } else {
      t = name();
    }
    *non_null = false;
    if (is_punct("!")) {
      advance();
      t += "!";
      *non_null = true;
    }
    return t;
  }

  Fragment fragment() {
    Fragment f;
    f.loc = tok_.loc;
    advance();
    if (tok_.kind == Tok::kName && tok_.text == "on") fail("a fragment needs a name");
    f.name = name();
    if (!(tok_.kind == Tok::kName && tok_.text == "on")) fail("expected 'on', found " + describe());
    advance();
    f.type_condition = name();
    directives();
    f.selections = selection_set(1);
    return f;
  }

  std::vector<Directive> directives() {
    std::vector<Directive> out;
    while (is_punct("@")) {
      if (out.size() >= 8) fail("too many directives");
      advance();
      Directive d;
      d.name = name();
      if (is_punct("(")) d.args = arguments(1);
      out.push_back(std::move(d));
    }
    return out;
  }

  std::vector<std::pair<std::string, json>> arguments(size_t depth) {
    std::vector<std::pair<std::string, json>> args;
    expect("(");
    if (is_punct(")")) fail("an argument list cannot be empty");
    while (!is_punct(")")) {
      if (args.size() >= 64) fail("too many arguments");
      std::string n = name();
      expect(":");
      for (const auto& a : args)
        if (a.first == n) fail("argument '" + n + "' is given twice");
      args.emplace_back(std::move(n), value(depth, false));
    }
    advance();
    return args;
  }

  json value(size_t depth, bool constant) {
    if (depth > limits_.max_depth) fail("value nested too deeply");
    if (is_punct("$")) {
      if (constant) fail("a default value cannot use a variable");
      advance();
      return json{{"$var", name()}};
    }
    if (is_punct("[")) {
      advance();
      json list = json::array();
      while (!is_punct("]")) {
        if (tok_.kind == Tok::kEnd) fail("unterminated list");
        list.push_back(value(depth + 1, constant));
      }
      advance();
      return list;
    }
    if (is_punct("{")) {
      advance();
      json obj = json::object();
      while (!is_punct("}")) {
        std::string n = name();
        expect(":");
        if (obj.contains(n)) fail("field '" + n + "' is given twice");
        obj[n] = value(depth + 1, constant);
      }
      advance();
      return obj;
    }
    Token t = tok_;
    switch (t.kind) {
      case Tok::kInt: {
        advance();
        errno = 0;
        char* end = nullptr;
        long long v = std::strtoll(t.text.c_str(), &end, 10);
        if (errno == ERANGE) fail_at(t.loc, "integer out of range");
        return json(static_cast<int64_t>(v));
      }
      case Tok::kFloat: {
        advance();
        return json(std::strtod(t.text.c_str(), nullptr));
      }
      case Tok::kString:
        advance();
        return json(t.text);
      case Tok::kName:
        advance();
        if (t.text == "true") return json(true);
        if (t.text == "false") return json(false);
        if (t.text == "null") return json(nullptr);
        return json(t.text);  // an enum value
      default:
        fail("expected a value, found " + describe());
    }
  }

  std::vector<Selection> selection_set(size_t depth) {
    if (depth > limits_.max_depth) fail("selections nested too deeply");
    expect("{");
    std::vector<Selection> out;
    if (is_punct("}")) fail("a selection set cannot be empty");
    while (!is_punct("}")) {
      if (++selections_ > limits_.max_selections) fail("too many selections");
      Selection s;
      s.loc = tok_.loc;
      if (is_punct("...")) {
        advance();
        if (tok_.kind == Tok::kName && tok_.text != "on") {
          s.kind = Selection::kFragmentSpread;
          s.name = name();
          s.directives = directives();
        } else {
          s.kind = Selection::kInlineFragment;
          if (tok_.kind == Tok::kName) {  // "on"
            advance();
            s.type_condition = name();
          }
          s.directives = directives();
          s.selections = selection_set(depth + 1);
        }
      } else {
        s.kind = Selection::kField;
        s.name = name();
        if (is_punct(":")) {
          advance();
          s.alias = std::move(s.name);
          s.name = name();
        }
        if (is_punct("(")) s.args = arguments(depth);
        s.directives = directives();
        if (is_punct("{")) s.selections = selection_set(depth + 1);
      }
      out.push_back(std::move(s));
    }
    advance();
    return out;
  }

  Lexer lex_;
  const ParseLimits& limits_;
  Token tok_;
  size_t selections_ = 0;
};

}  // namespace

Document parse(std::string_view text, const ParseLimits& limits) {
  if (text.size() > limits.max_bytes)
    throw ParseError("the query is larger than " + std::to_string(limits.max_bytes) + " bytes",
                     Location{});
  return Parser(text, limits).document();
}

}  // namespace guts::api::graphql
