// The `${{ }}` expression language of workflows (docs/ci.md "Expressions"): a small, bounded
// subset of GitHub Actions expressions, evaluated the same way on every node (it decides which
// jobs a run skips, so it is part of the state machine through state/ci_exec.cpp).
//
// Grammar (precedence low to high):
//   or   := and ('||' and)*
//   and  := cmp ('&&' cmp)*
//   cmp  := unary (('==' | '!=') unary)?
//   unary:= '!' unary | primary
//   primary := literal | '(' or ')' | call | path
//   literal := 'string' (quote doubled to escape) | number | true | false | null
//   call := success() | failure() | always() | cancelled()
//         | contains(a, b) | startsWith(a, b) | endsWith(a, b)
//   path := context ('.' name)*       context: github env matrix secrets needs inputs
// Strings compare case-insensitively (like GitHub); values of different types compare as
// numbers. An unknown property is null; an unknown context or function is an error.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "core/status.h"

namespace guts::ci {

inline constexpr size_t kMaxExpressionBytes = 4096;
inline constexpr size_t kMaxExpressionDepth = 32;
inline constexpr size_t kMaxInterpolatedBytes = 256 * 1024;

struct Value {
  enum Type { kNull, kBool, kNumber, kString } type = kNull;
  bool b = false;
  double n = 0;
  std::string s;
  static Value null() { return {}; }
  static Value boolean(bool v) { return {kBool, v, 0, {}}; }
  static Value number(double v) { return {kNumber, false, v, {}}; }
  static Value string(std::string v) { return {kString, false, 0, std::move(v)}; }
  bool truthy() const;
  std::string to_string() const;  // what interpolation inserts
};

// Everything an expression may read. Map keys are the property names (case-insensitive lookup).
struct ExprContext {
  std::map<std::string, std::string> github;  // sha, ref, event_name, repository, actor, ...
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> matrix;
  std::map<std::string, std::string> secrets;
  std::map<std::string, std::string> inputs;
  std::map<std::string, std::string> needs_result;  // job id -> success|failure|cancelled|skipped
  // What success()/failure()/cancelled() look at: "success", "failure" or "cancelled".
  std::string job_status = "success";
};

// Parses without evaluating (kInvalidArgument with the reason and offset).
Status check_expression(std::string_view expr);
Result<Value> evaluate(std::string_view expr, const ExprContext& ctx);
// An `if:` value: an optional `${{ }}` wrapper is removed; without a status function
// (success/failure/always/cancelled) the condition is `success() && (<expr>)` like GitHub's.
// An empty condition is `success()`.
Result<bool> evaluate_condition(std::string_view condition, const ExprContext& ctx);
Status check_condition(std::string_view condition);
// Replaces every `${{ expr }}` in `text` by its value's string form.
Result<std::string> interpolate(std::string_view text, const ExprContext& ctx);
// Checks every `${{ }}` in `text` parses (no evaluation).
Status check_interpolation(std::string_view text);

}  // namespace guts::ci
