// Escaping and Markdown rendering (guts_web_markup): user content never becomes markup.
#include <gtest/gtest.h>

#include "web/diff_layout.h"
#include "web/html.h"
#include "web/issue_query.h"
#include "web/job_log_view.h"
#include "web/markdown.h"

namespace guts::web {
namespace {

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

TEST(Escape, SpecialCharacters) {
  EXPECT_EQ(escape("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(escape("plain text"), "plain text");
  EXPECT_EQ(escape("é ✓ 🎉"), "é ✓ 🎉");
}

TEST(Escape, InvalidUtf8AndControls) {
  EXPECT_EQ(escape(std::string("a\xff"
                               "b")),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(escape(std::string("\xC0\xAF")), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(escape(std::string("\xED\xA0\x80")), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(escape(std::string("x\0y\x01z\tw\n", 9)), "xyz\tw\n");
  EXPECT_EQ(escape(std::string("\xE2\x9C")), "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated
}

TEST(Html, EscapesByDefault) {
  Html h;
  h.raw("<p title=\"") << "\"><script>alert(1)</script>";
  h.raw("\">") << Safe{"<b>ok</b>"} << std::string("<i>") << uint64_t{42};
  EXPECT_EQ(h.str(),
            "<p title=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\"><b>ok</b>&lt;i&gt;42");
}

TEST(Html, UrlEncoding) {
  EXPECT_EQ(url_path("src/a b/\"x\".c"), "src/a%20b/%22x%22.c");
  EXPECT_EQ(url_query("a&b=c"), "a%26b%3Dc");
  EXPECT_EQ(url_path("javascript:alert(1)"), "javascript%3Aalert%281%29");
}

TEST(Markdown, GfmExtensions) {
  auto out = render_markdown(
                 "# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n"
                 "~~gone~~ https://example.com\n")
                 .html;
  EXPECT_TRUE(contains(out, "<h1>Title</h1>"));
  EXPECT_TRUE(contains(out, "<table>"));
  EXPECT_TRUE(contains(out, "<td>1</td>"));
  EXPECT_TRUE(contains(out, "type=\"checkbox\""));
  EXPECT_TRUE(contains(out, "checked=\"\""));
  EXPECT_TRUE(contains(out, "<del>gone</del>"));
  EXPECT_TRUE(contains(out, "<a href=\"https://example.com\">"));
}

TEST(Markdown, RawHtmlNeverPassesThrough) {
  const char* inputs[] = {
      "<script>alert(1)</script>",
      "hello <script>alert(1)</script> world",
      "<img src=x onerror=alert(1)>",
      "<div onclick=\"x()\">a</div>",
      "<iframe src=\"https://evil\"></iframe>",
      "[x](javascript:alert(1))",
      "[x](JAVASCRIPT:alert(1))",
      "![y](javascript:alert(1))",
      "[z](vbscript:msgbox)",
      "[d](data:text/html;base64,PHNjcmlwdD4=)",
      "<javascript:alert(1)>",
      "```\n<script>x</script>\n```",
      "`<script>`",
  };
  for (const char* in : inputs) {
    auto out = render_markdown(in).html;
    EXPECT_FALSE(contains(out, "<script")) << in << " -> " << out;
    EXPECT_FALSE(contains(out, "<img src=\"x\"")) << in << " -> " << out;
    EXPECT_FALSE(contains(out, "onerror=")) << in << " -> " << out;
    EXPECT_FALSE(contains(out, "<iframe")) << in << " -> " << out;
    EXPECT_FALSE(contains(out, "<div")) << in << " -> " << out;
    EXPECT_FALSE(contains(out, "href=\"javascript:")) << in << " -> " << out;
    EXPECT_FALSE(contains(out, "href=\"JAVASCRIPT:")) << in << " -> " << out;
    EXPECT_FALSE(contains(out, "src=\"javascript:")) << in << " -> " << out;
    EXPECT_FALSE(contains(out, "vbscript:msgbox\"")) << in << " -> " << out;
    EXPECT_FALSE(contains(out, "href=\"data:")) << in << " -> " << out;
  }
}

TEST(Markdown, RelativeLinksAreResolved) {
  MarkdownOptions mo;
  mo.resolve = [](std::string_view url, bool image) {
    std::string suffix;
    std::string path = join_repo_path("docs", url, &suffix);
    return std::string(image ? "/o/r/raw/main/" : "/o/r/blob/main/") + path + suffix;
  };
  auto out = render_markdown(
                 "[guide](guide.md#install) [up](../README.md) [root](/LICENSE) "
                 "[abs](https://x.org/a) [anchor](#top) [proto](//cdn.example/x)\n\n"
                 "![logo](./img/logo.png)\n",
                 mo)
                 .html;
  EXPECT_TRUE(contains(out, "href=\"/o/r/blob/main/docs/guide.md#install\"")) << out;
  EXPECT_TRUE(contains(out, "href=\"/o/r/blob/main/README.md\"")) << out;
  EXPECT_TRUE(contains(out, "href=\"/o/r/blob/main/LICENSE\"")) << out;
  EXPECT_TRUE(contains(out, "href=\"https://x.org/a\"")) << out;
  EXPECT_TRUE(contains(out, "href=\"#top\"")) << out;
  EXPECT_TRUE(contains(out, "href=\"//cdn.example/x\"")) << out;
  EXPECT_TRUE(contains(out, "src=\"/o/r/raw/main/docs/img/logo.png\"")) << out;
}

TEST(Markdown, RelativeUrlClassification) {
  EXPECT_TRUE(is_relative_url("a.md"));
  EXPECT_TRUE(is_relative_url("./a"));
  EXPECT_TRUE(is_relative_url("/root"));
  EXPECT_TRUE(is_relative_url("dir/a:b"));
  EXPECT_FALSE(is_relative_url("https://x"));
  EXPECT_FALSE(is_relative_url("mailto:a@b"));
  EXPECT_FALSE(is_relative_url("//host/x"));
  EXPECT_FALSE(is_relative_url("#frag"));
  EXPECT_FALSE(is_relative_url(""));
}

TEST(Markdown, JoinRepoPath) {
  std::string s;
  EXPECT_EQ(join_repo_path("", "a/b.md", &s), "a/b.md");
  EXPECT_EQ(join_repo_path("docs", "../../../etc/passwd", &s), "etc/passwd");
  EXPECT_EQ(join_repo_path("docs/x", "./y/../z.md?raw=1#h", &s), "docs/x/z.md");
  EXPECT_EQ(s, "?raw=1#h");
  EXPECT_EQ(join_repo_path("docs", "/top.md", &s), "top.md");
}

TEST(Markdown, BoundedInput) {
  MarkdownOptions mo;
  mo.max_input = 100;
  std::string big;
  for (int i = 0; i < 100; ++i) big += "line " + std::to_string(i) + "\n";
  auto out = render_markdown(big, mo).html;
  EXPECT_TRUE(contains(out, "too large to render"));
  EXPECT_FALSE(contains(out, "line 99"));
}

// ---- diff layout (web/diff_layout.h) ----

TEST(DiffLayout, LineNumbersFromHunkHeaders) {
  auto p = parse_patch(
      "@@ -10,3 +20,4 @@ fn\n ctx\n-old\n+new1\n+new2\n tail\n\\ No newline at end of file\n");
  ASSERT_EQ(p.lines.size(), 7u);
  EXPECT_EQ(p.lines[0].kind, DiffLine::kHunk);
  EXPECT_EQ(p.lines[1].kind, DiffLine::kContext);
  EXPECT_EQ(p.lines[1].old_no, 10u);
  EXPECT_EQ(p.lines[1].new_no, 20u);
  EXPECT_EQ(p.lines[1].text, "ctx");
  EXPECT_EQ(p.lines[2].kind, DiffLine::kDel);
  EXPECT_EQ(p.lines[2].old_no, 11u);
  EXPECT_EQ(p.lines[2].new_no, 0u);
  EXPECT_EQ(p.lines[3].kind, DiffLine::kAdd);
  EXPECT_EQ(p.lines[3].new_no, 21u);
  EXPECT_EQ(p.lines[4].new_no, 22u);
  EXPECT_EQ(p.lines[5].old_no, 12u);
  EXPECT_EQ(p.lines[5].new_no, 23u);
  EXPECT_EQ(p.lines[6].kind, DiffLine::kNote);
  EXPECT_FALSE(p.truncated);
}

TEST(DiffLayout, SecondHunkRestartsNumbersAndJunkBeforeIsIgnored) {
  auto p = parse_patch("diff --git a b\n@@ -1 +1 @@\n-a\n+b\n@@ -50,2 +60,2 @@\n x\n");
  ASSERT_EQ(p.lines.size(), 5u);
  EXPECT_EQ(p.lines[4].old_no, 50u);
  EXPECT_EQ(p.lines[4].new_no, 60u);
}

TEST(DiffLayout, Truncates) {
  std::string patch = "@@ -1,100 +1,100 @@\n";
  for (int i = 0; i < 100; ++i) patch += " line\n";
  auto p = parse_patch(patch, 10);
  EXPECT_EQ(p.lines.size(), 10u);
  EXPECT_TRUE(p.truncated);
}

TEST(DiffLayout, SplitPairsRemovedWithAddedInOrder) {
  auto p = parse_patch("@@ -1,5 +1,4 @@\n a\n-b\n-c\n-d\n+B\n+C\n e\n+f\n-g\n");
  auto rows = split_rows(p.lines);
  // hunk, a, (b,B), (c,C), (d,-), e, (-,f), (g,-)
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(rows[0].left, rows[0].right);
  EXPECT_EQ(rows[0].left->kind, DiffLine::kHunk);
  EXPECT_EQ(rows[1].left, rows[1].right);
  EXPECT_EQ(rows[1].left->text, "a");
  EXPECT_EQ(rows[2].left->text, "b");
  EXPECT_EQ(rows[2].right->text, "B");
  EXPECT_EQ(rows[3].left->text, "c");
  EXPECT_EQ(rows[3].right->text, "C");
  EXPECT_EQ(rows[4].left->text, "d");
  EXPECT_EQ(rows[4].right, nullptr);
  EXPECT_EQ(rows[5].left->text, "e");
  EXPECT_EQ(rows[6].left, nullptr);
  EXPECT_EQ(rows[6].right->text, "f");
  // An addition followed by a removal is not paired backwards.
  EXPECT_EQ(rows[7].left->text, "g");
  EXPECT_EQ(rows[7].right, nullptr);
}

TEST(DiffLayout, SplitMoreAddsThanDels) {
  auto p = parse_patch("@@ -1 +1,3 @@\n-x\n+1\n+2\n+3\n");
  auto rows = split_rows(p.lines);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].left->old_no, 1u);
  EXPECT_EQ(rows[1].right->new_no, 1u);
  EXPECT_EQ(rows[2].left, nullptr);
  EXPECT_EQ(rows[3].right->new_no, 3u);
}

TEST(DiffLayout, HostileBytesAreJustText) {
  std::string patch = "@@ -1 +1 @@\n-<script>\n+\"\xff\xfe\"\r\n";
  auto p = parse_patch(patch);
  ASSERT_EQ(p.lines.size(), 3u);
  EXPECT_EQ(p.lines[1].text, "<script>");
  EXPECT_EQ(p.lines[2].text, "\"\xff\xfe\"");  // CR of CRLF dropped
  EXPECT_TRUE(parse_patch("").lines.empty());
  EXPECT_TRUE(parse_patch("@@").lines.size() == 1);
}

}  // namespace
}  // namespace guts::web

// The issue list filter (web/issue_query.h).
namespace guts::web {
namespace {

TEST(IssueQuery, Qualifiers) {
  auto q = parse_issue_query(
      "is:closed label:bug label:\"help wanted\" author:alice assignee:bob milestone:\"v 1\" "
      "crash \"two words\" sort:created no:milestone");
  EXPECT_EQ(q.state, "closed");
  EXPECT_EQ(q.labels, (std::vector<std::string>{"bug", "help wanted"}));
  EXPECT_EQ(q.author, "alice");
  EXPECT_EQ(q.assignee, "bob");
  EXPECT_EQ(q.milestone, "v 1");
  EXPECT_TRUE(q.no_milestone);
  EXPECT_FALSE(q.no_label);
  EXPECT_EQ(q.words, (std::vector<std::string>{"crash", "two words", "sort:created"}));
  EXPECT_TRUE(q.filtered());
  EXPECT_EQ(parse_issue_query(format_issue_query(q)), q);
  EXPECT_EQ(format_issue_query(q),
            "is:closed label:bug label:\"help wanted\" author:alice assignee:bob milestone:\"v 1\" "
            "no:milestone crash \"two words\" \"sort:created\"");
}

TEST(IssueQuery, DefaultsAndBounds) {
  auto q = parse_issue_query("");
  EXPECT_EQ(q.state, "open");
  EXPECT_FALSE(q.filtered());
  EXPECT_FALSE(parse_issue_query("is:pr is:issue IS:ALL").filtered());
  EXPECT_EQ(parse_issue_query("is:pr is:issue IS:ALL").state, "all");
  EXPECT_EQ(parse_issue_query("label:Bug label:bug").labels.size(), 1u);
  EXPECT_TRUE(parse_issue_query("label:\"\" author:").labels.empty());
  std::string many;
  for (int i = 0; i < 100; ++i) many += "w" + std::to_string(i) + " ";
  EXPECT_EQ(parse_issue_query(many).words.size(), kMaxQueryTerms);
  auto odd = parse_issue_query("label:\"<script>\" \"unterminated");
  EXPECT_EQ(odd.labels, (std::vector<std::string>{"<script>"}));
  EXPECT_EQ(odd.words, (std::vector<std::string>{"unterminated"}));
  EXPECT_TRUE(icontains("Crash on START", "on st"));
  EXPECT_FALSE(icontains("abc", "abcd"));
}

}  // namespace
}  // namespace guts::web

namespace guts::web {
namespace {

// Found by fuzz/issue_query_fuzz.cpp: 24 words and no state; the formatted text adds is:open.
TEST(IssueQuery, StateDoesNotCountAgainstTheTermBound) {
  std::string s;
  for (int i = 0; i < 30; ++i) s += ": ";
  auto q = parse_issue_query(s);
  EXPECT_EQ(q.words.size(), kMaxQueryTerms);
  EXPECT_EQ(parse_issue_query(format_issue_query(q)), q);
}

}  // namespace
}  // namespace guts::web

namespace guts::web {
namespace {

// Found by the fuzzer: an unknown qualifier with a long value is one word of at most 256 bytes.
TEST(IssueQuery, LongUnknownQualifierIsABoundedWord) {
  auto q = parse_issue_query(std::string(70, 'k') + ":" + std::string(300, 'v'));
  ASSERT_EQ(q.words.size(), 1u);
  EXPECT_EQ(q.words[0].size(), 256u);
  EXPECT_EQ(parse_issue_query(format_issue_query(q)), q);
}

LogRow log_row(uint64_t n, std::string group, std::string text, std::string time = {}) {
  return LogRow{n, std::move(time), std::move(group), std::move(text)};
}

TEST(JobLogMarkup, GroupsRowsAnchorsAndMarkers) {
  LogView v;
  v.add(log_row(1, "", "Job started", "2026-12-05T06:00:00.1234567Z"));
  v.add(log_row(2, "Build", "##[group]Build"));
  v.add(log_row(3, "Build", "make all"));
  v.add(log_row(4, "Build", "##[warning]careful"));
  v.add(log_row(5, "Build", "##[error]Process completed with exit code 2"));
  v.add(log_row(6, "Build", "##[endgroup]"));
  v.add(log_row(7, "", "Job done"));
  std::string h = v.html();
  EXPECT_EQ(v.last(), 7u);
  EXPECT_EQ(h,
            "<div class=\"log-group\" data-group=\"\"><table class=\"code log\"><tbody>"
            "<tr id=\"L1\"><td class=\"ln\"><a href=\"#L1\" title=\"2026-12-05T06:00:00.1234567Z\">"
            "1</a></td><td class=\"lt\">Job started</td></tr></tbody></table></div>"
            "<details class=\"log-group\" open data-group=\"Build\"><summary id=\"L2\">"
            "<a class=\"ln\" href=\"#L2\">2</a> Build</summary><table class=\"code log\"><tbody>"
            "<tr id=\"L3\"><td class=\"ln\"><a href=\"#L3\">3</a></td><td class=\"lt\">make all"
            "</td></tr><tr id=\"L4\" class=\"log-warn\"><td class=\"ln\"><a href=\"#L4\">4</a>"
            "</td><td class=\"lt\">careful</td></tr><tr id=\"L5\" class=\"log-err\"><td "
            "class=\"ln\"><a href=\"#L5\">5</a></td><td class=\"lt\">Process completed with exit "
            "code 2</td></tr></tbody></table></details>"
            "<div class=\"log-group\" data-group=\"\"><table class=\"code log\"><tbody>"
            "<tr id=\"L7\"><td class=\"ln\"><a href=\"#L7\">7</a></td><td class=\"lt\">Job done"
            "</td></tr></tbody></table></div>");
  ASSERT_EQ(v.groups().count("Build"), 1u);
  EXPECT_EQ(v.groups().at("Build"), 2u);
  EXPECT_TRUE(v.open());  // the last section ("" group) takes the next ungrouped line
}

TEST(JobLogMarkup, OpenStateAndRepeatedGroupNames) {
  LogView v;
  v.add(log_row(1, "Test", "##[group]Test"));
  v.add(log_row(2, "Test", "one"));
  EXPECT_TRUE(v.open());
  v.add(log_row(3, "Test", "##[endgroup]"));
  EXPECT_FALSE(v.open());
  v.add(log_row(4, "Test", "##[group]Test"));  // a second step with the same name: its own section
  v.add(log_row(5, "Test", "two"));
  std::string h = v.html();
  EXPECT_TRUE(h.ends_with("two</td></tr></tbody></table></details>")) << h;
  size_t opened = 0, closed = 0;
  for (size_t at = 0; (at = h.find("<details", at)) != std::string::npos; ++at) ++opened;
  for (size_t at = 0; (at = h.find("</details>", at)) != std::string::npos; ++at) ++closed;
  EXPECT_EQ(opened, 2u);
  EXPECT_EQ(closed, 2u);
  EXPECT_NE(h.find("<summary id=\"L4\">"), std::string::npos);
  EXPECT_EQ(v.groups().at("Test"), 1u);  // the first one
  EXPECT_EQ(h.find("id=\"L3\""), std::string::npos) << "the end marker has no row";
}

TEST(JobLogMarkup, HostileTextIsEscapedEverywhere) {
  LogView v;
  const std::string evil = "<script>alert(1)</script>\"'&";
  v.add(log_row(1, evil, "##[group]" + evil));
  v.add(log_row(2, evil, evil, "\"><img src=x onerror=alert(1)>"));
  v.add(log_row(3, evil, "##[error]" + evil));
  v.add(log_row(4, "", std::string("bad \xff utf-8 \x01")));
  std::string h = v.html();
  EXPECT_FALSE(contains(h, "<script")) << h;
  EXPECT_FALSE(contains(h, "<img")) << h;
  EXPECT_TRUE(contains(h, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
  EXPECT_TRUE(contains(h, "data-group=\"&lt;script&gt;"));
  EXPECT_TRUE(contains(h, "title=\"&quot;&gt;&lt;img"));
  EXPECT_TRUE(contains(h, "bad \xEF\xBF\xBD utf-8 </td>"));
}

TEST(JobLogMarkup, OutOfOrderLinesIgnoredAndEmpty) {
  LogView v;
  EXPECT_EQ(v.html(), "");
  EXPECT_EQ(v.last(), 0u);
  v.add(log_row(2, "", "b"));
  v.add(log_row(2, "", "again"));
  v.add(log_row(1, "", "a"));
  EXPECT_EQ(v.last(), 2u);
  EXPECT_FALSE(contains(v.html(), "again"));
  EXPECT_FALSE(contains(v.html(), ">a<"));
  // A line of a group whose marker came before (a page resumed mid-group) gets a titled section.
  LogView w;
  w.add(log_row(9, "Deploy", "late"));
  EXPECT_TRUE(contains(w.html(),
                       "<details class=\"log-group\" open data-group=\"Deploy\">"
                       "<summary>Deploy</summary>"));
}

}  // namespace
}  // namespace guts::web
