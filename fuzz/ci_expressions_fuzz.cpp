// libFuzzer target: `${{ }}` expressions and `if:` conditions (ci/expressions.h) from workflow
// files: parse, evaluate and interpolate must never crash or recurse without bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ci/expressions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  guts::ci::ExprContext ctx;
  ctx.github = {{"sha", "0123abcd"}, {"ref", "refs/heads/main"}, {"event_name", "push"}};
  ctx.matrix = {{"os", "linux"}};
  ctx.env = {{"A", "1"}};
  ctx.needs_result = {{"build", "success"}};
  (void)guts::ci::check_expression(text);
  (void)guts::ci::evaluate(text, ctx);
  (void)guts::ci::evaluate_condition(text, ctx);
  (void)guts::ci::interpolate(text, ctx);
  (void)guts::ci::check_interpolation(text);
  return 0;
}
