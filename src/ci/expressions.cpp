// The workflow expression language (ci/expressions.h): a recursive-descent parser that
// evaluates as it parses. In check mode (no context) every value is null.
#include "ci/expressions.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace guts::ci {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status bad(std::string why, size_t at) {
  return {Code::kInvalidArgument, "expression: " + why + " at offset " + std::to_string(at)};
}

double to_number(const Value& v) {
  switch (v.type) {
    case Value::kNull:
      return 0;
    case Value::kBool:
      return v.b ? 1 : 0;
    case Value::kNumber:
      return v.n;
    case Value::kString: {
      std::string t = v.s;
      while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
      size_t i = 0;
      while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
      t = t.substr(i);
      if (t.empty()) return 0;
      char* end = nullptr;
      double d = std::strtod(t.c_str(), &end);
      if (end != t.c_str() + t.size()) return std::nan("");
      return d;
    }
  }
  return 0;
}

bool equal(const Value& a, const Value& b) {
  if (a.type == b.type) {
    switch (a.type) {
      case Value::kNull:
        return true;
      case Value::kBool:
        return a.b == b.b;
      case Value::kNumber:
        return a.n == b.n;
      case Value::kString:
        return lower(a.s) == lower(b.s);
    }
  }
  double x = to_number(a), y = to_number(b);
  return x == y;  // NaN never equal
}

class Parser {
 public:
  Parser(std::string_view text, const ExprContext* ctx) : t_(text), ctx_(ctx) {}

  Result<Value> run() {
    if (t_.size() > kMaxExpressionBytes) return bad("longer than 4096 bytes", 0);
    auto v = parse_or();
    if (!err_.ok()) return err_;
    skip();
    if (pos_ != t_.size()) return bad("unexpected '" + std::string(1, t_[pos_]) + "'", pos_);
    return v;
  }
  bool used_status_function() const { return status_fn_; }

 private:
  void skip() {
    while (pos_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[pos_]))) ++pos_;
  }
  bool eat(std::string_view tok) {
    skip();
    if (t_.substr(pos_, tok.size()) == tok) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }
  Value fail(std::string why) {
    if (err_.ok()) err_ = bad(std::move(why), pos_);
    pos_ = t_.size();
    return Value::null();
  }
  bool enter() {
    if (++depth_ > kMaxExpressionDepth) {
      fail("nested deeper than 32");
      return false;
    }
    return true;
  }

  Value parse_or() {
    if (!enter()) return {};
    Value v = parse_and();
    while (err_.ok() && eat("||")) {
      Value r = parse_and();
      v = v.truthy() ? v : r;  // GitHub returns the operand, not a boolean
    }
    --depth_;
    return v;
  }
  Value parse_and() {
    Value v = parse_cmp();
    while (err_.ok() && eat("&&")) {
      Value r = parse_cmp();
      v = !v.truthy() ? v : r;
    }
    return v;
  }
  Value parse_cmp() {
    Value v = parse_unary();
    if (!err_.ok()) return v;
    if (eat("==")) return Value::boolean(equal(v, parse_unary()));
    if (eat("!=")) return Value::boolean(!equal(v, parse_unary()));
    return v;
  }
  Value parse_unary() {
    skip();
    if (pos_ < t_.size() && t_[pos_] == '!' && t_.substr(pos_, 2) != "!=") {
      ++pos_;
      if (!enter()) return {};
      Value v = parse_unary();
      --depth_;
      return Value::boolean(!v.truthy());
    }
    return parse_primary();
  }
  std::string ident() {
    size_t s = pos_;
    while (pos_ < t_.size() && (std::isalnum(static_cast<unsigned char>(t_[pos_])) ||
                                t_[pos_] == '_' || t_[pos_] == '-'))
      ++pos_;
    return std::string(t_.substr(s, pos_ - s));
  }
  Value parse_primary() {
    skip();
    if (pos_ >= t_.size()) return fail("unexpected end");
    char c = t_[pos_];
    if (c == '(') {
      ++pos_;
      Value v = parse_or();
      if (!eat(")")) return fail("expected ')'");
      return v;
    }
    if (c == '\'') {
      ++pos_;
      std::string s;
      while (true) {
        if (pos_ >= t_.size()) return fail("unterminated string");
        if (t_[pos_] == '\'') {
          if (pos_ + 1 < t_.size() && t_[pos_ + 1] == '\'') {
            s += '\'';
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        s += t_[pos_++];
      }
      return Value::string(std::move(s));
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.') {
      size_t s = pos_;
      if (c == '-') ++pos_;
      while (pos_ < t_.size() &&
             (std::isalnum(static_cast<unsigned char>(t_[pos_])) || t_[pos_] == '.'))
        ++pos_;
      std::string num(t_.substr(s, pos_ - s));
      char* end = nullptr;
      double d = std::strtod(num.c_str(), &end);
      if (num.empty() || end != num.c_str() + num.size()) return fail("bad number '" + num + "'");
      return Value::number(d);
    }
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '_')
      return fail("unexpected '" + std::string(1, c) + "'");
    size_t start = pos_;
    std::string name = ident();
    skip();
    if (pos_ < t_.size() && t_[pos_] == '(') {
      ++pos_;
      return call(name, start);
    }
    if (name == "true") return Value::boolean(true);
    if (name == "false") return Value::boolean(false);
    if (name == "null") return Value::null();
    return path(name, start);
  }
  Value call(const std::string& name, size_t at) {
    std::vector<Value> args;
    if (!eat(")")) {
      while (true) {
        if (args.size() >= 8) return fail("too many arguments");
        args.push_back(parse_or());
        if (!err_.ok()) return {};
        if (eat(")")) break;
        if (!eat(",")) return fail("expected ',' or ')'");
      }
    }
    std::string f = lower(name);
    const std::string status = ctx_ ? ctx_->job_status : "success";
    auto arity = [&](size_t n) {
      if (args.size() != n) {
        pos_ = at;
        fail(name + "() takes " + std::to_string(n) + " argument" + (n == 1 ? "" : "s"));
        return false;
      }
      return true;
    };
    if (f == "success" || f == "failure" || f == "always" || f == "cancelled") {
      status_fn_ = true;
      if (!arity(0)) return {};
      if (f == "always") return Value::boolean(true);
      if (f == "success") return Value::boolean(status == "success");
      if (f == "failure") return Value::boolean(status == "failure");
      return Value::boolean(status == "cancelled");
    }
    if (f == "contains" || f == "startswith" || f == "endswith") {
      if (!arity(2)) return {};
      std::string a = lower(args[0].to_string()), b = lower(args[1].to_string());
      if (f == "contains") return Value::boolean(a.find(b) != std::string::npos);
      if (f == "startswith") return Value::boolean(a.rfind(b, 0) == 0);
      return Value::boolean(a.size() >= b.size() &&
                            a.compare(a.size() - b.size(), b.size(), b) == 0);
    }
    pos_ = at;
    return fail("unknown function '" + name + "'");
  }
  Value path(const std::string& context, size_t at) {
    std::vector<std::string> props;
    while (true) {
      if (pos_ < t_.size() && t_[pos_] == '.') {
        ++pos_;
        std::string p = ident();
        if (p.empty()) return fail("expected a property name");
        props.push_back(p);
        if (props.size() > 8) return fail("property path too long");
        continue;
      }
      break;
    }
    static const char* kContexts[] = {"github", "env", "matrix", "secrets", "needs", "inputs"};
    std::string c = lower(context);
    if (std::find_if(std::begin(kContexts), std::end(kContexts),
                     [&](const char* k) { return c == k; }) == std::end(kContexts)) {
      pos_ = at;
      return fail("unknown context '" + context + "'");
    }
    if (!ctx_) return Value::null();
    if (props.empty()) return Value::null();  // whole objects are not values here
    auto look = [&](const std::map<std::string, std::string>& m, const std::string& k) {
      for (const auto& [key, v] : m)
        if (lower(key) == lower(k)) return Value::string(v);
      return Value::null();
    };
    if (c == "needs") {
      // needs.<job>.result
      if (props.size() == 2 && lower(props[1]) == "result")
        return look(ctx_->needs_result, props[0]);
      return Value::null();
    }
    // github.event.inputs.<name>: the workflow_dispatch inputs, as on GitHub.
    if (c == "github" && props.size() == 3 && lower(props[0]) == "event" &&
        lower(props[1]) == "inputs")
      return look(ctx_->inputs, props[2]);
    if (props.size() != 1) return Value::null();
    if (c == "github") return look(ctx_->github, props[0]);
    if (c == "env") return look(ctx_->env, props[0]);
    if (c == "matrix") return look(ctx_->matrix, props[0]);
    if (c == "secrets") return look(ctx_->secrets, props[0]);
    return look(ctx_->inputs, props[0]);
  }

  std::string_view t_;
  const ExprContext* ctx_;
  size_t pos_ = 0;
  size_t depth_ = 0;
  bool status_fn_ = false;
  Status err_;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Removes one `${{ ... }}` wrapper around the whole condition.
std::string_view unwrap(std::string_view s) {
  s = trim(s);
  if (s.size() >= 5 && s.substr(0, 3) == "${{" && s.substr(s.size() - 2) == "}}" &&
      s.find("${{", 3) == std::string_view::npos)
    return trim(s.substr(3, s.size() - 5));
  return s;
}

Result<bool> condition(std::string_view text, const ExprContext* ctx) {
  auto expr = unwrap(text);
  if (expr.empty()) return ctx ? ctx->job_status == "success" : true;
  Parser p(expr, ctx);
  auto v = p.run();
  if (!v.ok()) return v.status();
  bool r = v->truthy();
  if (!p.used_status_function()) r = r && (ctx ? ctx->job_status == "success" : true);
  return r;
}

Result<std::string> interp(std::string_view text, const ExprContext* ctx) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find("${{", i);
    if (open == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, open - i));
    size_t close = text.find("}}", open + 3);
    if (close == std::string_view::npos)
      return Status{Code::kInvalidArgument, "expression: '${{' without '}}'"};
    Parser p(text.substr(open + 3, close - open - 3), ctx);
    auto v = p.run();
    if (!v.ok()) return v.status();
    out += v->to_string();
    if (out.size() > kMaxInterpolatedBytes)
      return Status{Code::kTooLarge, "expression: interpolated text is too long"};
    i = close + 2;
  }
  return out;
}

}  // namespace

bool Value::truthy() const {
  switch (type) {
    case kNull:
      return false;
    case kBool:
      return b;
    case kNumber:
      return n != 0 && !std::isnan(n);
    case kString:
      return !s.empty();
  }
  return false;
}

std::string Value::to_string() const {
  switch (type) {
    case kNull:
      return "";
    case kBool:
      return b ? "true" : "false";
    case kNumber: {
      if (std::isfinite(n) && n == std::floor(n) && std::fabs(n) < 1e15)
        return std::to_string(static_cast<long long>(n));
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.15g", n);
      return buf;
    }
    case kString:
      return s;
  }
  return "";
}

Status check_expression(std::string_view expr) {
  Parser p(expr, nullptr);
  return p.run().status();
}

Result<Value> evaluate(std::string_view expr, const ExprContext& ctx) {
  return Parser(expr, &ctx).run();
}

Result<bool> evaluate_condition(std::string_view cond, const ExprContext& ctx) {
  return condition(cond, &ctx);
}

Status check_condition(std::string_view cond) {
  return condition(cond, nullptr).status();
}

Result<std::string> interpolate(std::string_view text, const ExprContext& ctx) {
  return interp(text, &ctx);
}

Status check_interpolation(std::string_view text) {
  return interp(text, nullptr).status();
}

}  // namespace guts::ci
