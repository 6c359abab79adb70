// CODEOWNERS (state/codeowners.h): parsing, GitHub's pattern rules, last match wins, bounds.
#include "state/codeowners.h"

#include <gtest/gtest.h>

using namespace guts::state;

namespace {

bool matches(const std::string& pattern, const std::string& path) {
  auto f = parse_codeowners(pattern + " @x\n");
  EXPECT_EQ(f.rules.size(), 1u) << pattern;
  return !f.rules.empty() && codeowners_rule_matches(f.rules[0], path);
}

std::string owners_of(const Codeowners& f, const std::string& path) {
  const auto* r = codeowners_for(f, path);
  if (!r) return "(none)";
  std::string out;
  for (const auto& o : r->owners) out += (out.empty() ? "" : " ") + o;
  return out;
}

}  // namespace

TEST(Codeowners, GitHubPatterns) {
  // No slash: any depth; files or directories of that name.
  EXPECT_TRUE(matches("*", "a.txt"));
  EXPECT_TRUE(matches("*", "src/deep/a.txt"));
  EXPECT_TRUE(matches("*.js", "a.js"));
  EXPECT_TRUE(matches("*.js", "web/app/a.js"));
  EXPECT_FALSE(matches("*.js", "a.jsx"));
  EXPECT_TRUE(matches("docs", "docs/a.md"));
  EXPECT_TRUE(matches("docs", "x/docs/a.md"));
  EXPECT_TRUE(matches("apps/", "apps/a"));
  EXPECT_TRUE(matches("apps/", "x/apps/y/z"));
  EXPECT_FALSE(matches("apps/", "apps")) << "a file named apps is not a directory";
  // Leading or inner slash: anchored at the root.
  EXPECT_TRUE(matches("/build/logs/", "build/logs/a.log"));
  EXPECT_FALSE(matches("/build/logs/", "x/build/logs/a.log"));
  EXPECT_TRUE(matches("docs/*", "docs/getting-started.md"));
  EXPECT_FALSE(matches("docs/*", "docs/build-app/troubleshooting.md"));
  EXPECT_FALSE(matches("docs/*", "x/docs/a.md"));
  EXPECT_TRUE(matches("/src/", "src/a.c"));
  EXPECT_TRUE(matches("src/lib", "src/lib/a/b.c"));
  // ** segments.
  EXPECT_TRUE(matches("**/logs", "logs/a"));
  EXPECT_TRUE(matches("**/logs", "deep/er/logs/a"));
  EXPECT_TRUE(matches("/docs/**", "docs/a/b/c.md"));
  EXPECT_TRUE(matches("a/**/b.txt", "a/b.txt"));
  EXPECT_TRUE(matches("a/**/b.txt", "a/x/y/b.txt"));
  EXPECT_FALSE(matches("a/**/b.txt", "b/a/b.txt"));
  EXPECT_TRUE(matches("v?.txt", "v1.txt"));
  EXPECT_FALSE(matches("v?.txt", "v10.txt"));
  EXPECT_TRUE(matches("Makefile", "Makefile"));
  EXPECT_FALSE(matches("Makefile", "makefile")) << "case-sensitive";
}

TEST(Codeowners, LastMatchWinsCommentsAndUnowned) {
  auto f = parse_codeowners(
      "# Lines starting with '#' are comments.\n"
      "*       @global-owner1 @global-owner2\n"
      "\n"
      "*.js    @js-owner #This is an inline comment.\n"
      "/docs/  docs@example.com\n"
      "/apps/  @octocat\n"
      "/apps/github\n"
      "/scripts/ @doctocat @octocat @acme/ops\r\n");
  EXPECT_TRUE(f.errors.empty()) << f.errors[0];
  ASSERT_EQ(f.rules.size(), 6u);
  EXPECT_EQ(owners_of(f, "README.md"), "@global-owner1 @global-owner2");
  EXPECT_EQ(owners_of(f, "web/a.js"), "@js-owner");
  EXPECT_EQ(owners_of(f, "docs/a.js"), "docs@example.com");
  EXPECT_EQ(owners_of(f, "apps/x"), "@octocat");
  EXPECT_EQ(owners_of(f, "apps/github/x"), "") << "a line without owners: unowned";
  EXPECT_EQ(owners_of(f, "scripts/a.sh"), "@doctocat @octocat @acme/ops");
  EXPECT_EQ(f.rules[3].line, 6u);
  EXPECT_EQ(owners_of(parse_codeowners(""), "a"), "(none)");
}

TEST(Codeowners, UnsupportedSyntaxAndBounds) {
  auto f = parse_codeowners(
      "!negated @a\n"
      "[abc].txt @a\n"
      "\\#hash @a\n"
      "a**b @a\n"
      "ok @a not-an-owner\n"
      "// @a\n"
      "/ @a\n"
      "good @a @org/team\n");
  ASSERT_EQ(f.rules.size(), 1u);
  EXPECT_EQ(f.rules[0].pattern, "good");
  EXPECT_EQ(f.errors.size(), 7u);
  EXPECT_EQ(f.errors[0], "line 1: negation (!) is not supported");
  // Bounds: a long line is skipped, an oversized file ignored entirely.
  std::string long_line(kMaxCodeownersLine + 1, 'a');
  EXPECT_TRUE(parse_codeowners(long_line + " @a\n").rules.empty());
  std::string big;
  while (big.size() <= kMaxCodeownersBytes) big += "* @a\n";
  auto huge = parse_codeowners(big);
  EXPECT_TRUE(huge.rules.empty());
  ASSERT_EQ(huge.errors.size(), 1u);
  std::string many = "*";
  for (size_t i = 0; i <= kMaxCodeownersOwners; ++i) many += " @u" + std::to_string(i);
  EXPECT_TRUE(parse_codeowners(many).rules.empty());
  // Deep patterns and paths stay cheap (dynamic programming, no backtracking blow-up).
  std::string deep;
  for (int i = 0; i < 60; ++i) deep += "**/";
  deep += "x";
  auto d = parse_codeowners(deep + " @a\n");
  ASSERT_EQ(d.rules.size(), 1u);
  std::string path;
  for (int i = 0; i < 1000; ++i) path += "d/";
  EXPECT_FALSE(codeowners_rule_matches(d.rules[0], path + "y"));
  EXPECT_TRUE(codeowners_rule_matches(d.rules[0], path + "x"));
}
