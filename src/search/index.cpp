#include "search/index.h"

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "core/status.h"

namespace guts::search {

namespace {

[[noreturn]] void sql_fail(sqlite3* db, const std::string& what) {
  throw Error(Code::kInternal, "search index: " + what + ": " + sqlite3_errmsg(db));
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw Error(Code::kInternal, std::string("search index: ") + msg);
  }
}

// A prepared statement with typed binds and reads; finalized on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st_, nullptr) != SQLITE_OK)
      sql_fail(db, "prepare");
  }
  ~Stmt() {
    if (!kept_) {
      sqlite3_finalize(st_);
      return;
    }
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // The writer's statements: prepared once and kept (Index::writer_statements_), reset after
  // each use. A document's upsert ran four statements, and preparing them was a quarter of the
  // indexer's time under a flood of new issues.
  Stmt(sqlite3* db, std::unordered_map<const char*, sqlite3_stmt*>& kept, const char* sql)
      : db_(db), kept_(true) {
    auto& st = kept[sql];
    if (!st && sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
      sqlite3_finalize(st);
      st = nullptr;
      sql_fail(db, "prepare");
    }
    st_ = st;
  }
  // True while there is a row; throws on errors.
  bool step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sql_fail(db_, "step");
  }
  void run() {
    while (step()) {
    }
  }
  int64_t i64(int col) const { return sqlite3_column_int64(st_, col); }
  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st_, col))) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  bool kept_ = false;
};

sqlite3* open_db(const std::filesystem::path& file) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw Error(Code::kInternal, "search index " + file.string() + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  return db;
}

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS repo_docs(id INTEGER PRIMARY KEY, owner TEXT NOT NULL,
  name TEXT NOT NULL, is_private INTEGER NOT NULL, is_fork INTEGER NOT NULL,
  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, description TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS repos_fts USING fts5(name, owner, description);
CREATE TABLE IF NOT EXISTS issue_docs(id INTEGER PRIMARY KEY, repo_id INTEGER NOT NULL,
  number INTEGER NOT NULL, is_pull INTEGER NOT NULL, open INTEGER NOT NULL,
  merged INTEGER NOT NULL, author TEXT NOT NULL, labels TEXT NOT NULL,
  comment_count INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
  title TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS issue_docs_repo ON issue_docs(repo_id, number);
CREATE VIRTUAL TABLE IF NOT EXISTS issues_fts USING fts5(title, body, comments);
CREATE TABLE IF NOT EXISTS comment_map(id INTEGER PRIMARY KEY, issue_id INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS comment_map_issue ON comment_map(issue_id);
CREATE TABLE IF NOT EXISTS code_docs(id INTEGER PRIMARY KEY, repo_id INTEGER NOT NULL,
  path TEXT NOT NULL, sha TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS code_docs_repo ON code_docs(repo_id);
CREATE VIRTUAL TABLE IF NOT EXISTS code_fts USING fts5(path, content, tokenize='trigram');
)sql";

// Labels are stored as "\n" + name + "\n" per label (lower-case), so one label is a substring
// test that cannot match inside another name.
std::string labels_text(const std::vector<std::string>& labels) {
  std::string out = "\n";
  for (auto l : labels) {
    for (auto& c : l)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out += l + "\n";
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Fields of in: that belong to a table, as its FTS5 columns.
std::vector<std::string> columns_of(
    const std::vector<std::string>& in,
    std::initializer_list<std::pair<const char*, const char*>> map) {
  std::vector<std::string> cols;
  for (const auto& field : in)
    for (const auto& [name, col] : map)
      if (field == name && std::find(cols.begin(), cols.end(), col) == cols.end())
        cols.push_back(col);
  return cols;
}

// Up to three lines of `text` that contain one of `terms` (ASCII case-insensitive, as the
// trigram tokenizer matches), each cut to 200 bytes.
std::vector<std::string> matching_lines(const std::string& text,
                                        const std::vector<std::string>& terms) {
  std::vector<std::string> needles;
  for (const auto& t : terms) needles.push_back(lower(t));
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size() && out.size() < 3) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    std::string folded = lower(line);
    for (const auto& n : needles) {
      if (!n.empty() && folded.find(n) != std::string::npos) {
        if (line.size() > 200) line.resize(200);
        out.push_back(std::move(line));
        break;
      }
    }
    start = end + 1;
  }
  return out;
}

size_t offset_of(const Search& s) {
  size_t page = std::max<size_t>(s.page, 1);
  size_t per = std::clamp<size_t>(s.per_page, 1, 100);
  return (page - 1) * per;
}

template <class T>
void slice(Results<T>& r, const Search& s) {
  size_t per = std::clamp<size_t>(s.per_page, 1, 100);
  size_t off = offset_of(s);
  r.total_count = r.items.size();
  if (off >= r.items.size()) {
    r.items.clear();
    return;
  }
  r.items.erase(r.items.begin(), r.items.begin() + static_cast<std::ptrdiff_t>(off));
  if (r.items.size() > per) r.items.resize(per);
}

}  // namespace

Index::Index(const std::filesystem::path& file) {
  writer_ = open_db(file);
  try {
    exec(writer_, kSchema);
    reader_ = open_db(file);
    // Searches read the file through a memory map rather than SQLite's own 2 MiB page cache,
    // which a large index overflows on every query: a word in 4,600 of 1,000,000 issues took
    // 46 ms with the cache, 16 ms mapped (the OS page cache holds the pages once, for both).
    exec(reader_, "PRAGMA mmap_size=4294967296;");
  } catch (...) {
    sqlite3_close(reader_);
    sqlite3_close(writer_);
    throw;
  }
}

Index::~Index() {
  for (auto& [sql, st] : writer_statements_) sqlite3_finalize(st);
  sqlite3_close(reader_);
  sqlite3_close(writer_);
}

void Index::begin() {
  std::lock_guard lock(write_mu_);
  exec(writer_, "BEGIN IMMEDIATE");
}

void Index::commit() {
  std::lock_guard lock(write_mu_);
  exec(writer_, "COMMIT");
}

void Index::clear() {
  std::lock_guard lock(write_mu_);
  exec(writer_,
       "DELETE FROM meta; DELETE FROM repo_docs; DELETE FROM repos_fts; DELETE FROM issue_docs;"
       "DELETE FROM issues_fts; DELETE FROM comment_map; DELETE FROM code_docs;"
       "DELETE FROM code_fts;");
}

void Index::upsert_repo(const RepoDoc& d) {
  std::lock_guard lock(write_mu_);
  auto id = static_cast<int64_t>(d.id);
  Stmt(writer_, writer_statements_, "DELETE FROM repos_fts WHERE rowid = ?").bind(1, id).run();
  Stmt(writer_, writer_statements_,
       "INSERT OR REPLACE INTO repo_docs(id, owner, name, is_private, is_fork, created_ms, "
       "updated_ms, description) VALUES(?,?,?,?,?,?,?,?)")
      .bind(1, id)
      .bind(2, d.owner)
      .bind(3, d.name)
      .bind(4, d.is_private)
      .bind(5, d.is_fork)
      .bind(6, static_cast<int64_t>(d.created_ms))
      .bind(7, static_cast<int64_t>(d.updated_ms))
      .bind(8, d.description)
      .run();
  Stmt(writer_, writer_statements_,
       "INSERT INTO repos_fts(rowid, name, owner, description) VALUES(?,?,?,?)")
      .bind(1, id)
      .bind(2, d.name)
      .bind(3, d.owner)
      .bind(4, d.description)
      .run();
}

void Index::remove_repo(uint64_t repo_id) {
  std::lock_guard lock(write_mu_);
  auto id = static_cast<int64_t>(repo_id);
  Stmt(writer_, writer_statements_, "DELETE FROM repos_fts WHERE rowid = ?").bind(1, id).run();
  Stmt(writer_, writer_statements_, "DELETE FROM repo_docs WHERE id = ?").bind(1, id).run();
  Stmt(writer_, writer_statements_,
       "DELETE FROM issues_fts WHERE rowid IN (SELECT id FROM issue_docs WHERE repo_id = ?)")
      .bind(1, id)
      .run();
  Stmt(writer_, writer_statements_,
       "DELETE FROM comment_map WHERE issue_id IN (SELECT id FROM issue_docs WHERE repo_id = ?)")
      .bind(1, id)
      .run();
  Stmt(writer_, writer_statements_, "DELETE FROM issue_docs WHERE repo_id = ?").bind(1, id).run();
  Stmt(writer_, writer_statements_,
       "DELETE FROM code_fts WHERE rowid IN (SELECT id FROM code_docs WHERE repo_id = ?)")
      .bind(1, id)
      .run();
  Stmt(writer_, writer_statements_, "DELETE FROM code_docs WHERE repo_id = ?").bind(1, id).run();
  Stmt(writer_, writer_statements_, "DELETE FROM meta WHERE key = ?")
      .bind(1, "code:" + std::to_string(repo_id))
      .run();
}

void Index::upsert_issue(const IssueDoc& d) {
  std::lock_guard lock(write_mu_);
  auto id = static_cast<int64_t>(d.id);
  Stmt(writer_, writer_statements_, "DELETE FROM issues_fts WHERE rowid = ?").bind(1, id).run();
  Stmt(writer_, writer_statements_, "DELETE FROM comment_map WHERE issue_id = ?").bind(1, id).run();
  Stmt(writer_, writer_statements_,
       "INSERT OR REPLACE INTO issue_docs(id, repo_id, number, is_pull, open, merged, author, "
       "labels, comment_count, created_ms, updated_ms, title) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)")
      .bind(1, id)
      .bind(2, static_cast<int64_t>(d.repo_id))
      .bind(3, static_cast<int64_t>(d.number))
      .bind(4, d.is_pull)
      .bind(5, d.open)
      .bind(6, d.merged)
      .bind(7, lower(d.author))
      .bind(8, labels_text(d.labels))
      .bind(9, static_cast<int64_t>(d.comment_count))
      .bind(10, static_cast<int64_t>(d.created_ms))
      .bind(11, static_cast<int64_t>(d.updated_ms))
      .bind(12, d.title)
      .run();
  Stmt(writer_, writer_statements_,
       "INSERT INTO issues_fts(rowid, title, body, comments) VALUES(?,?,?,?)")
      .bind(1, id)
      .bind(2, d.title)
      .bind(3, d.body)
      .bind(4, d.comments)
      .run();
  for (uint64_t c : d.comment_ids)
    Stmt(writer_, writer_statements_,
         "INSERT OR REPLACE INTO comment_map(id, issue_id) VALUES(?,?)")
        .bind(1, static_cast<int64_t>(c))
        .bind(2, id)
        .run();
}

void Index::replace_code(uint64_t repo_id, const std::string& tip,
                         const std::vector<CodeDoc>& files) {
  std::lock_guard lock(write_mu_);
  auto rid = static_cast<int64_t>(repo_id);
  Stmt(writer_, writer_statements_,
       "DELETE FROM code_fts WHERE rowid IN (SELECT id FROM code_docs WHERE repo_id = ?)")
      .bind(1, rid)
      .run();
  Stmt(writer_, writer_statements_, "DELETE FROM code_docs WHERE repo_id = ?").bind(1, rid).run();
  for (const auto& f : files) {
    Stmt ins(writer_, writer_statements_,
             "INSERT INTO code_docs(repo_id, path, sha) VALUES(?,?,?)");
    ins.bind(1, rid).bind(2, f.path).bind(3, f.sha).run();
    int64_t row = sqlite3_last_insert_rowid(writer_);
    Stmt(writer_, writer_statements_, "INSERT INTO code_fts(rowid, path, content) VALUES(?,?,?)")
        .bind(1, row)
        .bind(2, f.path)
        .bind(3, f.content)
        .run();
  }
  Stmt(writer_, writer_statements_, "INSERT OR REPLACE INTO meta(key, value) VALUES(?,?)")
      .bind(1, "code:" + std::to_string(repo_id))
      .bind(2, tip)
      .run();
}

void Index::set_height(uint64_t height) {
  std::lock_guard lock(write_mu_);
  Stmt(writer_, writer_statements_, "INSERT OR REPLACE INTO meta(key, value) VALUES('height', ?)")
      .bind(1, std::to_string(height))
      .run();
}

uint64_t Index::height() const {
  std::lock_guard lock(read_mu_);
  Stmt st(reader_, "SELECT value FROM meta WHERE key = 'height'");
  return st.step() ? std::stoull(st.text(0)) : 0;
}

std::optional<std::string> Index::code_tip(uint64_t repo_id) const {
  std::lock_guard lock(read_mu_);
  Stmt st(reader_, "SELECT value FROM meta WHERE key = ?");
  st.bind(1, "code:" + std::to_string(repo_id));
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

std::optional<uint64_t> Index::issue_of_comment(uint64_t comment_id) const {
  std::lock_guard lock(read_mu_);
  Stmt st(reader_, "SELECT issue_id FROM comment_map WHERE id = ?");
  st.bind(1, static_cast<int64_t>(comment_id));
  if (!st.step()) return std::nullopt;
  return static_cast<uint64_t>(st.i64(0));
}

std::optional<std::pair<uint64_t, uint64_t>> Index::issue_by_id(uint64_t issue_id) const {
  std::lock_guard lock(read_mu_);
  Stmt st(reader_, "SELECT repo_id, number FROM issue_docs WHERE id = ?");
  st.bind(1, static_cast<int64_t>(issue_id));
  if (!st.step()) return std::nullopt;
  return std::pair{static_cast<uint64_t>(st.i64(0)), static_cast<uint64_t>(st.i64(1))};
}

uint64_t Index::max_repo_id() const {
  std::lock_guard lock(read_mu_);
  Stmt st(reader_, "SELECT COALESCE(MAX(id), 0) FROM repo_docs");
  return st.step() ? static_cast<uint64_t>(st.i64(0)) : 0;
}

std::vector<uint64_t> Index::repo_ids() const {
  std::lock_guard lock(read_mu_);
  Stmt st(reader_, "SELECT id FROM repo_docs ORDER BY id");
  std::vector<uint64_t> out;
  while (st.step()) out.push_back(static_cast<uint64_t>(st.i64(0)));
  return out;
}

Results<RepoDoc> Index::search_repos(const Search& s) const {
  const Query& q = s.query;
  auto cols = columns_of(q.in, {{"name", "name"}, {"description", "description"}});
  std::string match = fts_match(q.terms, cols, true);
  std::string sql =
      "SELECT d.id, d.owner, d.name, d.is_private, d.is_fork, d.created_ms, d.updated_ms, "
      "d.description FROM repo_docs d";
  if (!match.empty()) sql += " JOIN repos_fts f ON f.rowid = d.id";
  sql += " WHERE 1";
  if (!match.empty()) sql += " AND repos_fts MATCH ?1";
  if (q.owner) sql += " AND lower(d.owner) = lower(?2)";
  if (q.is_private) sql += " AND d.is_private = ?3";
  if (s.repo_id) sql += " AND d.id = ?4";
  std::string dir = s.ascending ? " ASC" : " DESC";
  if (s.sort == "updated" || s.sort == "created")
    sql += " ORDER BY d." + s.sort + "_ms" + dir + ", d.id";
  else if (!match.empty())
    sql += " ORDER BY bm25(repos_fts), d.id";
  else
    sql += " ORDER BY d.updated_ms DESC, d.id";
  sql += " LIMIT " + std::to_string(kMaxCandidates + 1);
  Results<RepoDoc> r;
  std::lock_guard lock(read_mu_);
  Stmt st(reader_, sql);
  if (!match.empty()) st.bind(1, match);
  if (q.owner) st.bind(2, *q.owner);
  if (q.is_private) st.bind(3, static_cast<int64_t>(*q.is_private));
  if (s.repo_id) st.bind(4, static_cast<int64_t>(*s.repo_id));
  size_t seen = 0;
  while (st.step()) {
    if (++seen > kMaxCandidates) {
      r.incomplete = true;
      break;
    }
    RepoDoc d;
    d.id = static_cast<uint64_t>(st.i64(0));
    d.owner = st.text(1);
    d.name = st.text(2);
    d.is_private = st.i64(3) != 0;
    d.is_fork = st.i64(4) != 0;
    d.created_ms = static_cast<uint64_t>(st.i64(5));
    d.updated_ms = static_cast<uint64_t>(st.i64(6));
    d.description = st.text(7);
    if (d.is_private && !(s.can_read && s.can_read(d.id))) continue;
    r.items.push_back(std::move(d));
  }
  slice(r, s);
  return r;
}

Results<IssueDoc> Index::search_issues(const Search& s) const {
  const Query& q = s.query;
  auto cols = columns_of(q.in, {{"title", "title"}, {"body", "body"}, {"comments", "comments"}});
  std::string match = fts_match(q.terms, cols, false);
  const bool by_relevance =
      !match.empty() && s.sort != "updated" && s.sort != "created" && s.sort != "comments";
  // Without a selective filter the matches are walked newest first (FTS5's rowid order; a
  // document's id grows with its issue's) and the first kRankWindow ranked. A selective filter
  // keeps the planner's own order, which starts from the filter's index.
  const bool windowed = by_relevance && !s.repo_id && !q.owner && !q.author && q.labels.empty();
  std::string sql =
      "SELECT d.id, d.repo_id, d.number, d.is_pull, d.open, d.merged, d.author, d.comment_count, "
      "d.created_ms, d.updated_ms, d.title, r.is_private";
  if (windowed)
    sql +=
        ", bm25(issues_fts, 10.0, 1.0, 0.5) AS score FROM issues_fts f CROSS JOIN issue_docs d "
        "ON d.id = f.rowid CROSS JOIN repo_docs r ON r.id = d.repo_id";
  else
    sql += " FROM issue_docs d JOIN repo_docs r ON r.id = d.repo_id";
  if (!match.empty() && !windowed) sql += " JOIN issues_fts f ON f.rowid = d.id";
  sql += " WHERE 1";
  if (!match.empty()) sql += " AND issues_fts MATCH ?1";
  if (s.repo_id) sql += " AND d.repo_id = ?2";
  if (q.owner) sql += " AND lower(r.owner) = lower(?3)";
  if (q.is_pull) sql += " AND d.is_pull = ?4";
  if (q.open) sql += " AND d.open = ?5";
  if (q.merged) sql += " AND d.merged = 1";
  if (q.author) sql += " AND d.author = lower(?6)";
  if (q.is_private) sql += " AND r.is_private = ?7";
  for (size_t i = 0; i < q.labels.size(); ++i)
    sql += " AND instr(d.labels, ?" + std::to_string(20 + i) + ") > 0";
  std::string dir = s.ascending ? " ASC" : " DESC";
  if (s.sort == "updated" || s.sort == "created")
    sql += " ORDER BY d." + s.sort + "_ms" + dir + ", d.id";
  else if (s.sort == "comments")
    sql += " ORDER BY d.comment_count" + dir + ", d.id";
  else if (windowed)
    sql = "SELECT * FROM (" + sql + " ORDER BY f.rowid DESC LIMIT " + std::to_string(kRankWindow) +
          ") ORDER BY score, id";
  else if (!match.empty())
    sql += " ORDER BY bm25(issues_fts, 10.0, 1.0, 0.5), d.id";
  else
    sql += " ORDER BY d.updated_ms DESC, d.id";
  sql += " LIMIT " + std::to_string(kMaxCandidates + 1);
  Results<IssueDoc> r;
  std::lock_guard lock(read_mu_);
  Stmt st(reader_, sql);
  if (!match.empty()) st.bind(1, match);
  if (s.repo_id) st.bind(2, static_cast<int64_t>(*s.repo_id));
  if (q.owner) st.bind(3, *q.owner);
  if (q.is_pull) st.bind(4, static_cast<int64_t>(*q.is_pull));
  if (q.open) st.bind(5, static_cast<int64_t>(*q.open));
  if (q.author) st.bind(6, *q.author);
  if (q.is_private) st.bind(7, static_cast<int64_t>(*q.is_private));
  for (size_t i = 0; i < q.labels.size(); ++i)
    st.bind(static_cast<int>(20 + i), "\n" + lower(q.labels[i]) + "\n");
  std::map<uint64_t, bool> readable;
  size_t seen = 0;
  while (st.step()) {
    if (++seen > kMaxCandidates) {
      r.incomplete = true;
      break;
    }
    IssueDoc d;
    d.id = static_cast<uint64_t>(st.i64(0));
    d.repo_id = static_cast<uint64_t>(st.i64(1));
    d.number = static_cast<uint64_t>(st.i64(2));
    d.is_pull = st.i64(3) != 0;
    d.open = st.i64(4) != 0;
    d.merged = st.i64(5) != 0;
    d.author = st.text(6);
    d.comment_count = static_cast<uint64_t>(st.i64(7));
    d.created_ms = static_cast<uint64_t>(st.i64(8));
    d.updated_ms = static_cast<uint64_t>(st.i64(9));
    d.title = st.text(10);
    if (st.i64(11) != 0) {
      auto it = readable.find(d.repo_id);
      if (it == readable.end())
        it = readable.emplace(d.repo_id, s.can_read && s.can_read(d.repo_id)).first;
      if (!it->second) continue;
    }
    r.items.push_back(std::move(d));
  }
  slice(r, s);
  return r;
}

Results<CodeHit> Index::search_code(const Search& s) const {
  const Query& q = s.query;
  bool long_enough = false;
  for (const auto& t : q.terms) long_enough |= t.size() >= 3;
  if (!long_enough)
    throw Error(Code::kInvalidArgument, "code search needs a term of at least three characters");
  auto cols = columns_of(q.in, {{"file", "content"}, {"path", "path"}});
  std::string match = fts_match(q.terms, cols, false);
  std::string sql =
      "SELECT d.repo_id, d.path, d.sha, r.is_private, d.id FROM code_fts f "
      "JOIN code_docs d ON d.id = f.rowid JOIN repo_docs r ON r.id = d.repo_id "
      "WHERE code_fts MATCH ?1";
  if (s.repo_id) sql += " AND d.repo_id = ?2";
  if (q.owner) sql += " AND lower(r.owner) = lower(?3)";
  if (q.path) sql += " AND instr(d.path, ?4) > 0";
  if (q.extension) sql += " AND d.path LIKE ?5 ESCAPE '\\'";
  sql += " ORDER BY bm25(code_fts), d.id LIMIT " + std::to_string(kMaxCandidates + 1);
  Results<CodeHit> r;
  std::lock_guard lock(read_mu_);
  Stmt st(reader_, sql);
  st.bind(1, match);
  if (s.repo_id) st.bind(2, static_cast<int64_t>(*s.repo_id));
  if (q.owner) st.bind(3, *q.owner);
  if (q.path) st.bind(4, *q.path);
  if (q.extension) {
    std::string like = "%.";
    for (char c : *q.extension) {
      if (c == '%' || c == '_' || c == '\\') like += '\\';
      like += c;
    }
    st.bind(5, like);
  }
  std::map<uint64_t, bool> readable;
  size_t seen = 0;
  while (st.step()) {
    if (++seen > kMaxCandidates) {
      r.incomplete = true;
      break;
    }
    CodeHit h;
    h.repo_id = static_cast<uint64_t>(st.i64(0));
    h.path = st.text(1);
    h.sha = st.text(2);
    if (st.i64(3) != 0) {
      auto it = readable.find(h.repo_id);
      if (it == readable.end())
        it = readable.emplace(h.repo_id, s.can_read && s.can_read(h.repo_id)).first;
      if (!it->second) continue;
    }
    h.doc = static_cast<uint64_t>(st.i64(4));
    r.items.push_back(std::move(h));
  }
  slice(r, s);
  // Fragments for the page only: the lines that contain a term (FTS5's snippet() counts
  // trigrams, not words, so it would cut every line to a few characters).
  for (auto& h : r.items) {
    Stmt content(reader_, "SELECT content FROM code_fts WHERE rowid = ?");
    content.bind(1, static_cast<int64_t>(h.doc));
    if (content.step()) h.fragments = matching_lines(content.text(0), q.terms);
  }
  return r;
}

}  // namespace guts::search
