#include "search/indexer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/thread_name.h"
#include "git/browse.h"
#include "state/audit.h"
#include "state/tx.h"

namespace guts::search {

namespace {

std::string login_of(const state::StateView& view, const crypto::PublicKey& key) {
  auto a = view.account(key);
  return a ? a->username : std::string();
}

}  // namespace

Indexer::Indexer(Index& index, state::Chain& chain,
                 std::function<std::filesystem::path(uint64_t)> repo_dir, IndexerOptions options)
    : index_(index), chain_(chain), repo_dir_(std::move(repo_dir)), options_(options) {
  indexed_ = index_.height();
}

Indexer::~Indexer() {
  stop();
}

void Indexer::start() {
  std::lock_guard lock(mu_);
  if (worker_.joinable()) return;
  pending_ = true;  // catch up with what was finalized while the node was down
  worker_ = std::thread([this] { run(); });
}

void Indexer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  done_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Indexer::notify() {
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  cv_.notify_one();
}

void Indexer::request_rebuild() {
  {
    std::lock_guard lock(mu_);
    rebuild_requested_ = true;
  }
  cv_.notify_one();
}

bool Indexer::wait_for(uint64_t height, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return done_cv_.wait_for(lock, timeout, [&] {
    return stopping_ || (indexed_ >= height && !rebuild_requested_);
  }) && indexed_ >= height;
}

Indexer::Stats Indexer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Indexer::run() {
  set_thread_name("guts-index");
  auto last_pass = std::chrono::steady_clock::time_point::min();
  for (;;) {
    bool rebuild_now = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || pending_ || rebuild_requested_; });
      // Blocks that keep coming are taken together (options_.min_pass_interval).
      if (last_pass != std::chrono::steady_clock::time_point::min())
        cv_.wait_until(lock, last_pass + options_.min_pass_interval,
                       [&] { return stopping_ || rebuild_requested_; });
      if (stopping_) return;
      rebuild_now = rebuild_requested_;
      pending_ = false;
    }
    last_pass = std::chrono::steady_clock::now();
    try {
      if (rebuild_now) {
        rebuild();
      } else {
        catch_up();
      }
    } catch (const std::exception& e) {
      // The index is derived data: log, count, and try again at the next block.
      spdlog::warn("search: indexing failed: {}", e.what());
      repo_docs_.clear();  // what the failed pass wrote may not have been committed
      std::lock_guard lock(mu_);
      ++stats_.failures;
    }
    done_cv_.notify_all();
  }
}

void Indexer::rebuild() {
  uint64_t head = chain_.head().height;
  auto view = chain_.view();
  index_.begin();
  try {
    index_.clear();
    repo_docs_.clear();
    uint64_t next = view.next_repo_id();
    for (uint64_t id = 1; id < next; ++id) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) {
          // Stopped part-way: an empty index, so that the next start rebuilds it (a partial one
          // with a height would claim repositories it never reached).
          index_.clear();
          index_.commit();
          return;
        }
      }
      index_repo(id, view, true);
    }
    index_.set_height(head);
    index_.commit();
  } catch (...) {
    index_.commit();  // what was written is consistent per document; the height says redo
    throw;
  }
  std::lock_guard lock(mu_);
  indexed_ = head;
  rebuild_requested_ = false;
  ++stats_.rebuilds;
}

void Indexer::catch_up() {
  for (;;) {
    uint64_t head = chain_.head().height;
    uint64_t from = index_.height();
    if (from >= head) {
      std::lock_guard lock(mu_);
      indexed_ = from;
      return;
    }
    if (head - from > options_.rebuild_gap ||
        (from == 0 && index_.max_repo_id() == 0 && head > 1)) {
      rebuild();
      continue;
    }
    uint64_t to = std::min<uint64_t>(head, from + options_.blocks_per_transaction);
    auto view = chain_.view();
    Dirty dirty;
    // New repositories (created, forked, transferred in) have ids above every indexed one.
    for (uint64_t id = index_.max_repo_id() + 1; id < view.next_repo_id(); ++id) {
      dirty.repos.insert(id);
      dirty.code.insert(id);
    }
    for (uint64_t h = from + 1; h <= to; ++h) {
      auto block = chain_.block_at(h);
      if (block) collect(*block, view, dirty);
    }
    index_.begin();
    try {
      apply(dirty, view);
      index_.set_height(to);
      index_.commit();
    } catch (...) {
      index_.commit();
      throw;
    }
    std::lock_guard lock(mu_);
    indexed_ = to;
    stats_.blocks += to - from;
    if (stopping_) return;
  }
}

void Indexer::collect(const state::Block& block, const state::StateView& view, Dirty& dirty) const {
  for (const auto& tx : block.txs) {
    auto target = state::audit_target(tx, view, view);
    if (target.repo_id == 0) continue;
    dirty.repos.insert(target.repo_id);
    std::string kind = state::tx_kind_name(tx.kind());
    if (kind == "update_refs" || kind == "merge_pull_request" || kind == "update_repo")
      dirty.code.insert(target.repo_id);
    uint64_t number = target.number;
    if (number == 0 && (kind == "create_issue" || kind == "open_pull_request")) {
      if (auto created = view.receipt(tx.id())) number = *created;
    }
    if (number == 0 && target.detail.rfind("comment ", 0) == 0) {
      // An edited or deleted comment names only itself: its thread from state, or (deleted)
      // from the index's comment map.
      uint64_t comment_id = std::stoull(target.detail.substr(8));
      if (auto c = view.comment(comment_id)) {
        number = c->number;
      } else if (auto issue = index_.issue_of_comment(comment_id)) {
        if (auto where = index_.issue_by_id(*issue)) number = where->second;
      }
    }
    if (number != 0) dirty.issues.insert({target.repo_id, number});
  }
}

void Indexer::apply(const Dirty& dirty, const state::StateView& view) {
  for (uint64_t id : dirty.repos) index_repo(id, view, false);
  for (const auto& [repo_id, number] : dirty.issues) {
    if (view.repo(repo_id)) index_issue(repo_id, number, view);
  }
  for (uint64_t id : dirty.code) {
    if (auto repo = view.repo(id)) index_code(id, *repo, false);
  }
}

void Indexer::index_repo(uint64_t repo_id, const state::StateView& view, bool with_issues) {
  auto repo = view.repo(repo_id);
  if (!repo) {
    repo_docs_.erase(repo_id);
    index_.remove_repo(repo_id);
    return;
  }
  RepoDoc doc;
  doc.id = repo->id;
  doc.owner = login_of(view, repo->owner);
  doc.name = repo->name;
  doc.description = repo->description;
  doc.is_private = repo->is_private;
  doc.is_fork = view.fork_parent(repo_id).has_value();
  doc.created_ms = repo->created_ms;
  doc.updated_ms = std::max(repo->updated_ms, repo->pushed_ms);
  const size_t fields = std::hash<std::string>()(
      doc.owner + '\n' + doc.name + '\n' + doc.description + '\n' + std::to_string(doc.is_private) +
      std::to_string(doc.is_fork) + '\n' + std::to_string(doc.created_ms) + '\n' +
      std::to_string(doc.updated_ms));
  if (auto it = repo_docs_.find(repo_id);
      with_issues || it == repo_docs_.end() || it->second != fields) {
    repo_docs_.erase(repo_id);  // until written (a failed write is written again)
    index_.upsert_repo(doc);
    repo_docs_[repo_id] = fields;
  }
  if (!with_issues) return;
  for (uint64_t number : view.issue_numbers(repo_id, false, '*', 0, SIZE_MAX))
    index_issue(repo_id, number, view);
  index_code(repo_id, *repo, true);
}

void Indexer::index_issue(uint64_t repo_id, uint64_t number, const state::StateView& view) {
  auto x = view.issue(repo_id, number);
  if (!x) return;
  IssueDoc doc;
  doc.id = x->id;
  doc.repo_id = repo_id;
  doc.number = number;
  doc.is_pull = x->is_pull;
  doc.open = x->state == state::kIssueOpen;
  doc.merged = x->merged;
  doc.author = login_of(view, x->author);
  doc.title = x->title;
  doc.body = x->body;
  doc.comment_count = x->comments;
  doc.created_ms = x->created_ms;
  doc.updated_ms = x->updated_ms;
  for (uint64_t id : x->labels)
    if (auto l = view.label(repo_id, id)) doc.labels.push_back(l->name);
  constexpr size_t kMaxCommentText = 256 << 10;
  for (uint8_t kind : {state::kIssueComment, state::kReviewCommentKind}) {
    for (const auto& c : view.comments_of(repo_id, number, kind)) {
      doc.comment_ids.push_back(c.id);
      if (doc.comments.size() + c.body.size() < kMaxCommentText) doc.comments += c.body + "\n";
    }
  }
  index_.upsert_issue(doc);
}

void Indexer::index_code(uint64_t repo_id, const state::Repo& repo, bool force) {
  auto dir = repo_dir_ ? repo_dir_(repo_id) : std::filesystem::path();
  if (dir.empty() || !std::filesystem::exists(dir)) return;  // not hosted here
  git::Browser browser(dir);
  if (browser.empty()) return;
  auto tip = browser.resolve(repo.default_branch);
  if (!tip) return;
  if (!force && index_.code_tip(repo_id) == *tip) return;
  std::vector<CodeDoc> files;
  uint64_t bytes = 0;
  for (const auto& e : browser.tree(*tip, {}, true, options_.max_files_per_repo * 4)) {
    if (e.type != "blob" || e.mode == 0120000 || e.size > options_.max_file_bytes) continue;
    if (files.size() >= options_.max_files_per_repo) break;
    if (bytes + e.size > options_.max_code_bytes_per_repo) break;
    auto blob = browser.blob(*tip, e.path, options_.max_file_bytes);
    if (blob.binary || blob.truncated) continue;
    bytes += blob.content.size();
    files.push_back({e.path, e.sha, std::move(blob.content)});
  }
  index_.replace_code(repo_id, *tip, files);
}

}  // namespace guts::search
