// Keeps the search index (search/index.h) in step with finalized state, on its own thread:
// never on a request or consensus thread. A commit listener only wakes it (notify()); it then
// reads the blocks after the index's height, finds what their transactions touched (repository,
// issue or pull request, a comment's thread, a push to the default branch) and re-indexes those
// from the committed state and the bare repositories. Far behind (a new index, or a node that
// was down for long) or on request, it rebuilds everything from scratch.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "search/index.h"
#include "state/chain.h"

namespace guts::search {

struct IndexerOptions {
  uint64_t max_file_bytes = 256 << 10;  // larger files are not indexed
  size_t max_files_per_repo = 20000;    // the first files of the tree, in path order
  uint64_t max_code_bytes_per_repo = 64 << 20;
  uint64_t rebuild_gap = 5000;  // blocks behind: rebuild instead of catching up
  size_t blocks_per_transaction = 256;
  // A pass (one index transaction and its commit) starts at most this often: under a stream of
  // blocks a pass takes several, where one per block spent a fifth of the indexer's time in
  // commits. A block after a quiet moment is indexed at once.
  std::chrono::milliseconds min_pass_interval{100};
};

class Indexer {
 public:
  // `repo_dir(id)`: the bare repository of a repository id (may not exist on this node: its
  // code is then not indexed).
  Indexer(Index& index, state::Chain& chain,
          std::function<std::filesystem::path(uint64_t repo_id)> repo_dir,
          IndexerOptions options = {});
  ~Indexer();
  Indexer(const Indexer&) = delete;
  Indexer& operator=(const Indexer&) = delete;

  void start();
  void stop();    // idempotent
  void notify();  // a block was committed
  void request_rebuild();
  // Blocks until the index covers `height` (or `timeout` passes); for tests and the rebuild
  // command. True when reached.
  bool wait_for(uint64_t height, std::chrono::milliseconds timeout);

  struct Stats {
    uint64_t rebuilds = 0;
    uint64_t blocks = 0;
    uint64_t failures = 0;
  };
  Stats stats() const;

 private:
  void run();
  void catch_up();
  void rebuild();
  // What the blocks of heights (from, to] touched.
  struct Dirty {
    std::set<uint64_t> repos;  // repository rows (and, when deleted, everything of theirs)
    std::set<std::pair<uint64_t, uint64_t>> issues;  // (repo, number)
    std::set<uint64_t> code;
  };
  void collect(const state::Block& block, const state::StateView& view, Dirty& dirty) const;
  void apply(const Dirty& dirty, const state::StateView& view);
  void index_repo(uint64_t repo_id, const state::StateView& view, bool with_issues);
  void index_issue(uint64_t repo_id, uint64_t number, const state::StateView& view);
  // `force`: index even when the recorded tip matches (a rebuild: the reader still sees the
  // tips recorded before clear()).
  void index_code(uint64_t repo_id, const state::Repo& repo, bool force);

  // The repository documents as last written (a hash of their fields), so that a block's
  // issues and comments, which name their repository, do not rewrite its unchanged document.
  // The worker's own; cleared by a rebuild.
  std::unordered_map<uint64_t, size_t> repo_docs_;

  Index& index_;
  state::Chain& chain_;
  std::function<std::filesystem::path(uint64_t)> repo_dir_;
  IndexerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // wakes the worker
  std::condition_variable done_cv_;  // wakes wait_for()
  bool pending_ = false;
  bool rebuild_requested_ = false;
  bool stopping_ = false;
  uint64_t indexed_ = 0;
  Stats stats_;
  std::thread worker_;
};

}  // namespace guts::search
