// The search index (docs/search.md): node-local SQLite with FTS5 at <data>/search.sqlite,
// derived from finalized state and the repositories' default branches, so it can be deleted
// and rebuilt at any time. Written by the one Indexer thread; read by request threads (SQLite
// in serialized mode, WAL journal: readers never wait for the writer's transaction).
//
// Tables: repo_docs + repos_fts (rowid = repo id), issue_docs + issues_fts (rowid = issue id,
// chain-wide), comment_map (comment id -> issue), code_docs + code_fts (trigram tokenizer:
// substring search; one row per file of a repository's default branch), meta (indexed height,
// each repository's indexed code tip).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "search/query.h"

struct sqlite3;
struct sqlite3_stmt;

namespace guts::search {

struct RepoDoc {
  uint64_t id = 0;
  std::string owner;  // login
  std::string name;
  std::string description;
  bool is_private = false;
  bool is_fork = false;
  uint64_t created_ms = 0, updated_ms = 0;
};

struct IssueDoc {
  uint64_t id = 0;  // chain-wide issue id
  uint64_t repo_id = 0;
  uint64_t number = 0;
  bool is_pull = false;
  bool open = true;
  bool merged = false;
  std::string author;  // login
  std::string title, body;
  std::string comments;             // every comment's text, newline-separated
  std::vector<std::string> labels;  // names
  std::vector<uint64_t> comment_ids;
  uint64_t comment_count = 0;
  uint64_t created_ms = 0, updated_ms = 0;
};

struct CodeDoc {
  std::string path;
  std::string sha;  // blob id
  std::string content;
};

// One search: the parsed query plus paging and order. Results are the rows the caller may see:
// `can_read(repo_id)` is asked for every private repository among the candidates.
struct Search {
  Query query;
  std::optional<uint64_t> repo_id;  // the query's repo: resolved by the caller
  std::string sort;                 // "" (best match), "updated", "created", "comments"
  bool ascending = false;
  size_t page = 1, per_page = 30;
  std::function<bool(uint64_t repo_id)> can_read;
};

template <class T>
struct Results {
  uint64_t total_count = 0;
  bool incomplete = false;  // more candidates than kMaxCandidates matched
  std::vector<T> items;
};

struct CodeHit {
  uint64_t repo_id = 0;
  std::string path, sha;
  std::vector<std::string> fragments;  // lines that contain a term (at most 3, each bounded)
  uint64_t doc = 0;                    // the file's row in the index
};

class Index {
 public:
  // Candidates a search ranks (and counts) at most; beyond, incomplete_results is true.
  static constexpr size_t kMaxCandidates = 1000;
  // A relevance search of issues with no repository, owner, author or label filter ranks the
  // newest kRankWindow matches only: bm25 costs about 0.75 µs per match, and a word found in
  // nearly every one of 1,000,000 issues took 1.2 s to rank (docs/search.md "Ranking").
  static constexpr size_t kRankWindow = 20000;

  // Opens or creates the database; throws guts::Error(kInternal) when SQLite fails (a corrupt
  // file: delete it and rebuild).
  explicit Index(const std::filesystem::path& file);
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  // ---- writes (the indexer thread) ----
  // A write transaction: every change between begin() and commit() becomes visible at once.
  void begin();
  void commit();
  void clear();  // everything, for a rebuild
  void upsert_repo(const RepoDoc& doc);
  void remove_repo(uint64_t repo_id);  // with its issues and code
  void upsert_issue(const IssueDoc& doc);
  void replace_code(uint64_t repo_id, const std::string& tip, const std::vector<CodeDoc>& files);
  void set_height(uint64_t height);

  // ---- reads (any thread) ----
  uint64_t height() const;
  std::optional<std::string> code_tip(uint64_t repo_id) const;
  std::optional<uint64_t> issue_of_comment(uint64_t comment_id) const;  // issue id
  std::optional<std::pair<uint64_t, uint64_t>> issue_by_id(uint64_t issue_id) const;
  uint64_t max_repo_id() const;
  std::vector<uint64_t> repo_ids() const;

  Results<RepoDoc> search_repos(const Search& s) const;
  Results<IssueDoc> search_issues(const Search& s) const;  // doc without comments text
  // Code needs at least one term of three characters or more (trigram index).
  Results<CodeHit> search_code(const Search& s) const;

 private:
  // Two connections: the writer's transaction stays invisible to readers until commit().
  // Each is used by one thread at a time (its mutex).
  sqlite3* writer_ = nullptr;
  sqlite3* reader_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> writer_statements_;  // by their text's address
  mutable std::mutex write_mu_, read_mu_;
};

}  // namespace guts::search
