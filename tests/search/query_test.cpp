#include "search/query.h"

#include <gtest/gtest.h>

#include "core/status.h"

using namespace guts;
using namespace guts::search;

TEST(SearchQuery, TermsPhrasesAndQualifiers) {
  auto q = parse_query(
      R"(crash "null pointer" repo:acme/guts is:open is:pr author:alice label:bug label:"good first" in:title,body)");
  EXPECT_EQ(q.terms, (std::vector<std::string>{"crash", "null pointer"}));
  EXPECT_EQ(q.repo, "acme/guts");
  EXPECT_EQ(q.open, true);
  EXPECT_EQ(q.is_pull, true);
  EXPECT_EQ(q.author, "alice");
  EXPECT_EQ(q.labels, (std::vector<std::string>{"bug", "good first"}));
  EXPECT_EQ(q.in, (std::vector<std::string>{"title", "body"}));
}

TEST(SearchQuery, OwnersStatesAndCodeQualifiers) {
  auto q = parse_query("user:bob state:closed type:issue path:src/ extension:.cpp is:private");
  EXPECT_EQ(q.owner, "bob");
  EXPECT_EQ(q.open, false);
  EXPECT_EQ(q.is_pull, false);
  EXPECT_EQ(q.path, "src/");
  EXPECT_EQ(q.extension, "cpp");
  EXPECT_EQ(q.is_private, true);
  EXPECT_TRUE(q.terms.empty());
  auto merged = parse_query("is:merged");
  EXPECT_TRUE(merged.merged);
  EXPECT_EQ(merged.is_pull, true);
}

TEST(SearchQuery, UnknownQualifiersAndQuotedColonsAreText) {
  auto q = parse_query(R"(stars:>10 "a:b" http://x)");
  EXPECT_EQ(q.terms, (std::vector<std::string>{"stars:>10", "a:b", "http://x"}));
}

TEST(SearchQuery, BadQueriesAreClearErrors) {
  auto expect_error = [](std::string_view q, std::string_view fragment) {
    try {
      parse_query(q);
      ADD_FAILURE() << "accepted: " << q;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_error(std::string(257, 'a'), "longer than 256");
  expect_error("a b c d e f g h i j k l m n o p q", "more than 16 terms");
  expect_error(R"(say "hello)", "unterminated quote");
  expect_error("repo:", "has no value");
  expect_error("repo:justname", "owner/name");
  expect_error("is:sleeping", "is:sleeping is not a known value");
  expect_error("in:everything", "in:everything");
}

TEST(SearchQuery, FtsExpressionsQuoteEveryTerm) {
  EXPECT_EQ(fts_match({"a", "say \"hi\""}, {}, false), R"("a" AND "say ""hi""")");
  EXPECT_EQ(fts_match({"gut"}, {"name"}, true), R"({name} : ("gut"*))");
  EXPECT_EQ(fts_match({"x"}, {"title", "body"}, false), R"({title body} : ("x"))");
  EXPECT_EQ(fts_match({}, {"title"}, false), "");
  // FTS5 operators inside a term stay text.
  EXPECT_EQ(fts_match({"NEAR(a b)", "OR", "*"}, {}, false), R"x("NEAR(a b)" AND "OR" AND "*")x");
}
