#include "search/index.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/status.h"

using namespace guts;
using namespace guts::search;

namespace {

class SearchIndex : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("guts-search-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    index_ = std::make_unique<Index>(dir_ / "search.sqlite");
    index_->begin();
    index_->upsert_repo({1, "alice", "guts", "A decentralized forge", false, false, 10, 50});
    index_->upsert_repo({2, "alice", "secret-plans", "Private things", true, false, 20, 60});
    index_->upsert_repo({3, "bob", "guts-fork", "Fork of guts", false, true, 30, 40});
    IssueDoc a;
    a.id = 100, a.repo_id = 1, a.number = 1, a.author = "Bob", a.title = "Crash on push";
    a.body = "git push crashes with a null pointer", a.labels = {"bug", "Good First"};
    a.comments = "I can reproduce the crash\n", a.comment_ids = {7}, a.comment_count = 1;
    a.created_ms = 100, a.updated_ms = 300;
    index_->upsert_issue(a);
    IssueDoc b;
    b.id = 101, b.repo_id = 1, b.number = 2, b.is_pull = true, b.open = false, b.merged = true;
    b.author = "alice", b.title = "Fix the crash", b.body = "Fixes #1", b.created_ms = 200;
    b.updated_ms = 250;
    index_->upsert_issue(b);
    IssueDoc c;
    c.id = 102, c.repo_id = 2, c.number = 1, c.author = "alice", c.title = "Secret crash";
    c.created_ms = 300, c.updated_ms = 400;
    index_->upsert_issue(c);
    index_->replace_code(1, "tip1",
                         {{"src/main.cpp", "s1", "int main() { return run_forge(); }\n"},
                          {"README.md", "s2", "Guts runs a forge.\n"},
                          {"src/util.h", "s3", "inline int run_forge();\n"}});
    index_->replace_code(2, "tip2", {{"plan.txt", "s4", "run_forge secretly\n"}});
    index_->set_height(9);
    index_->commit();
  }
  void TearDown() override {
    index_.reset();
    std::filesystem::remove_all(dir_);
  }
  Search search(std::string_view q, bool reader_of_private = false) {
    Search s;
    s.query = parse_query(q);
    s.can_read = [reader_of_private](uint64_t) { return reader_of_private; };
    return s;
  }
  std::filesystem::path dir_;
  std::unique_ptr<Index> index_;
};

std::vector<uint64_t> numbers(const Results<IssueDoc>& r) {
  std::vector<uint64_t> out;
  for (const auto& d : r.items) out.push_back(d.id);
  return out;
}
std::vector<uint64_t> sorted(std::vector<uint64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_F(SearchIndex, IssuesByTextQualifiersAndVisibility) {
  // Best match (bm25) first: both mention the crash; their order is the ranking's.
  EXPECT_EQ(sorted(numbers(index_->search_issues(search("crash")))),
            (std::vector<uint64_t>{100, 101}));
  // The private repository's issue appears only to a reader of it.
  EXPECT_EQ(index_->search_issues(search("crash", true)).total_count, 3u);
  EXPECT_EQ(numbers(index_->search_issues(search("crash is:pr"))), (std::vector<uint64_t>{101}));
  EXPECT_EQ(numbers(index_->search_issues(search("is:merged"))), (std::vector<uint64_t>{101}));
  EXPECT_EQ(numbers(index_->search_issues(search("is:open crash"))), (std::vector<uint64_t>{100}));
  EXPECT_EQ(numbers(index_->search_issues(search("author:bob"))), (std::vector<uint64_t>{100}));
  EXPECT_EQ(numbers(index_->search_issues(search(R"(label:"good first")"))),
            (std::vector<uint64_t>{100}));
  EXPECT_TRUE(index_->search_issues(search("label:good")).items.empty());
  EXPECT_EQ(numbers(index_->search_issues(search("reproduce in:comments"))),
            (std::vector<uint64_t>{100}));
  EXPECT_TRUE(index_->search_issues(search("reproduce in:title")).items.empty());
  EXPECT_EQ(numbers(index_->search_issues(search("crash user:bob"))), (std::vector<uint64_t>{}));
  auto scoped = search("crash");
  scoped.repo_id = 2;
  EXPECT_TRUE(index_->search_issues(scoped).items.empty());  // private, no access
  auto by_updated = search("crash", true);
  by_updated.sort = "updated";
  EXPECT_EQ(numbers(index_->search_issues(by_updated)), (std::vector<uint64_t>{102, 100, 101}));
  by_updated.ascending = true;
  by_updated.per_page = 2;
  by_updated.page = 2;
  auto page2 = index_->search_issues(by_updated);
  EXPECT_EQ(page2.total_count, 3u);
  EXPECT_EQ(numbers(page2), (std::vector<uint64_t>{102}));
}

TEST_F(SearchIndex, ReposByNamePrefixOwnerAndPrivacy) {
  auto r = index_->search_repos(search("gut"));
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0].name.substr(0, 4), "guts");
  EXPECT_TRUE(index_->search_repos(search("plans")).items.empty());
  EXPECT_EQ(index_->search_repos(search("plans", true)).items.size(), 1u);
  EXPECT_EQ(index_->search_repos(search("user:bob")).items.size(), 1u);
  EXPECT_EQ(index_->search_repos(search("decentralized in:description")).items.size(), 1u);
  EXPECT_TRUE(index_->search_repos(search("decentralized in:name")).items.empty());
}

TEST_F(SearchIndex, CodeIsSubstringSearchWithPathAndExtension) {
  auto r = index_->search_code(search("run_forge"));
  ASSERT_EQ(r.total_count, 2u);  // not the private plan.txt
  for (const auto& h : r.items) EXPECT_EQ(h.repo_id, 1u);
  EXPECT_EQ(index_->search_code(search("un_for", true)).total_count, 3u);  // substring
  auto ext = index_->search_code(search("run_forge extension:h"));
  ASSERT_EQ(ext.items.size(), 1u);
  EXPECT_EQ(ext.items[0].path, "src/util.h");
  ASSERT_FALSE(ext.items[0].fragments.empty());
  EXPECT_NE(ext.items[0].fragments[0].find("run_forge"), std::string::npos);
  EXPECT_EQ(index_->search_code(search("forge path:README")).total_count, 1u);
  EXPECT_THROW(index_->search_code(search("ab")), Error);
}

TEST_F(SearchIndex, RemovalReplacementAndReopen) {
  EXPECT_EQ(index_->height(), 9u);
  EXPECT_EQ(index_->code_tip(1), "tip1");
  EXPECT_EQ(index_->issue_of_comment(7), 100u);
  EXPECT_EQ(index_->issue_by_id(100), (std::pair<uint64_t, uint64_t>{1, 1}));
  index_->begin();
  index_->replace_code(1, "tip1b", {{"new.txt", "s9", "brand new content\n"}});
  index_->remove_repo(2);
  index_->commit();
  EXPECT_EQ(index_->search_code(search("run_forge", true)).total_count, 0u);
  EXPECT_EQ(index_->search_code(search("brand new")).total_count, 1u);
  EXPECT_EQ(index_->search_issues(search("secret", true)).total_count, 0u);
  EXPECT_FALSE(index_->code_tip(2));
  index_.reset();
  index_ = std::make_unique<Index>(dir_ / "search.sqlite");
  EXPECT_EQ(index_->height(), 9u);
  EXPECT_EQ(index_->max_repo_id(), 3u);
  index_->begin();
  index_->clear();
  index_->commit();
  EXPECT_EQ(index_->height(), 0u);
  EXPECT_TRUE(index_->repo_ids().empty());
}

TEST_F(SearchIndex, UncommittedWritesAreInvisibleToReaders) {
  index_->begin();
  index_->upsert_repo({4, "carol", "invisible", "", false, false, 1, 1});
  EXPECT_TRUE(index_->search_repos(search("invisible")).items.empty());
  index_->commit();
  EXPECT_EQ(index_->search_repos(search("invisible")).items.size(), 1u);
}

TEST_F(SearchIndex, RelevanceWithoutAFilterRanksTheNewestWindowOfMatches) {
  // kRankWindow + 5 issues mention "widget"; the 5 oldest also have it in the title (weight 10),
  // so over every match they would rank first. Unfiltered, only the newest kRankWindow are
  // ranked: those 5 are left out. Scoped to the repository, every match is ranked.
  const uint64_t n = Index::kRankWindow + 5;
  index_->begin();
  for (uint64_t i = 0; i < n; ++i) {
    IssueDoc d;
    d.id = 1000 + i, d.repo_id = 1, d.number = 10 + i, d.author = "alice";
    d.title = i < 5 ? "widget widget" : "issue " + std::to_string(i);
    d.body = "the widget is broken";
    index_->upsert_issue(d);
  }
  index_->commit();
  auto all = index_->search_issues(search("widget"));
  EXPECT_TRUE(all.incomplete);
  ASSERT_FALSE(all.items.empty());
  for (const auto& d : all.items) EXPECT_GE(d.id, 1005u) << "outside the newest window";
  auto scoped = search("widget");
  scoped.repo_id = 1;
  auto in_repo = index_->search_issues(scoped);
  ASSERT_GE(in_repo.items.size(), 5u);
  EXPECT_EQ(sorted({in_repo.items[0].id, in_repo.items[1].id, in_repo.items[2].id,
                    in_repo.items[3].id, in_repo.items[4].id}),
            (std::vector<uint64_t>{1000, 1001, 1002, 1003, 1004}));
}
