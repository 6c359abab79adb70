#include "ci/expressions.h"

#include <gtest/gtest.h>

namespace guts::ci {
namespace {

ExprContext ctx() {
  ExprContext c;
  c.github = {{"sha", "abc123"},
              {"ref", "refs/heads/main"},
              {"event_name", "push"},
              {"repository", "alice/app"},
              {"actor", "alice"}};
  c.env = {{"MODE", "fast"}};
  c.matrix = {{"os", "linux"}, {"node", "18"}};
  c.secrets = {{"TOKEN", "s3cret"}};
  c.needs_result = {{"build", "success"}, {"lint", "failure"}};
  return c;
}

std::string eval(std::string_view e) {
  auto v = evaluate(e, ctx());
  EXPECT_TRUE(v.ok()) << e << ": " << v.status().message();
  return v.ok() ? v->to_string() : "<error>";
}

bool cond(std::string_view e, std::string status = "success") {
  auto c = ctx();
  c.job_status = std::move(status);
  auto v = evaluate_condition(e, c);
  EXPECT_TRUE(v.ok()) << e << ": " << v.status().message();
  return v.ok() && *v;
}

TEST(CiExpressions, LiteralsAndContexts) {
  EXPECT_EQ(eval("'it''s'"), "it's");
  EXPECT_EQ(eval("42"), "42");
  EXPECT_EQ(eval("1.5"), "1.5");
  EXPECT_EQ(eval("true"), "true");
  EXPECT_EQ(eval("null"), "");
  EXPECT_EQ(eval("github.sha"), "abc123");
  EXPECT_EQ(eval("github.event_name"), "push");
  EXPECT_EQ(eval("env.MODE"), "fast");
  EXPECT_EQ(eval("matrix.os"), "linux");
  EXPECT_EQ(eval("secrets.TOKEN"), "s3cret");
  EXPECT_EQ(eval("needs.build.result"), "success");
  EXPECT_EQ(eval("github.nope"), "");  // unknown property: null
}

TEST(CiExpressions, Operators) {
  EXPECT_EQ(eval("github.ref == 'refs/heads/main'"), "true");
  EXPECT_EQ(eval("github.ref == 'REFS/HEADS/MAIN'"), "true");  // case-insensitive strings
  EXPECT_EQ(eval("github.ref != 'refs/heads/main'"), "false");
  EXPECT_EQ(eval("matrix.node == 18"), "true");  // mixed types compare as numbers
  EXPECT_EQ(eval("!(matrix.os == 'linux')"), "false");
  EXPECT_EQ(eval("matrix.os == 'linux' && env.MODE == 'fast'"), "true");
  EXPECT_EQ(eval("matrix.os == 'mac' || env.MODE"), "fast");  // || returns the operand
  EXPECT_EQ(eval("contains(github.repository, 'APP')"), "true");
  EXPECT_EQ(eval("startsWith(github.ref, 'refs/heads/')"), "true");
  EXPECT_EQ(eval("endsWith(github.ref, '/dev')"), "false");
  EXPECT_EQ(eval("null == 0"), "true");
  EXPECT_EQ(eval("'' == false"), "true");
}

TEST(CiExpressions, ConditionsAndStatusFunctions) {
  EXPECT_TRUE(cond(""));
  EXPECT_FALSE(cond("", "failure"));
  EXPECT_TRUE(cond("${{ github.event_name == 'push' }}"));
  EXPECT_TRUE(cond("github.event_name == 'push'"));
  EXPECT_FALSE(cond("github.event_name == 'push'", "failure"));  // implicit success() &&
  EXPECT_TRUE(cond("failure()", "failure"));
  EXPECT_FALSE(cond("failure()"));
  EXPECT_TRUE(cond("always()", "cancelled"));
  EXPECT_TRUE(cond("cancelled()", "cancelled"));
  EXPECT_TRUE(cond("success() && needs.lint.result == 'failure'"));
}

TEST(CiExpressions, Interpolation) {
  auto c = ctx();
  auto s = interpolate("sha=${{ github.sha }} os=${{matrix.os}} ${{ secrets.TOKEN }}", c);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "sha=abc123 os=linux s3cret");
  EXPECT_EQ(*interpolate("no expressions", c), "no expressions");
  EXPECT_FALSE(interpolate("${{ github.sha ", c).ok());
  EXPECT_TRUE(check_interpolation("${{ matrix.x }} and ${{ env.Y }}").ok());
  EXPECT_FALSE(check_interpolation("${{ nope.x }}").ok());
}

TEST(CiExpressions, ErrorsAreClearAndBounded) {
  for (const char* bad : {"", "github.", "'open", "(a", "1 ==", "foo.bar", "frobnicate()",
                          "success(1)", "contains('a')", "github.sha ===", "a b", "@"}) {
    auto st = check_expression(bad);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("offset"), std::string::npos) << st.message();
  }
  EXPECT_FALSE(check_expression(std::string(40, '(') + "1" + std::string(40, ')')).ok());
  EXPECT_FALSE(check_expression(std::string(100, '!') + "true").ok());
  EXPECT_TRUE(check_expression(std::string(10, '(') + "1" + std::string(10, ')')).ok());
  EXPECT_FALSE(check_expression(std::string(5000, ' ') + "1").ok());
}

}  // namespace
}  // namespace guts::ci
