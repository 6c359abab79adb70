// The state's key-value view. Execution reads through a KvReader and writes into an Overlay,
// so a block can be executed (to propose or verify it) without touching the database; the
// overlay's writes are committed in one atomic batch when the block is finalized.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "storage/db.h"

namespace guts::state {

// Column families. The first group is consensus state (covered by the state root); the second
// is bookkeeping derived from blocks; `local` holds node-local data (tokens) never replicated.
// The families after `local` are consensus state again (collaboration, state/collab.h):
// families are only ever appended, so existing databases gain them on open.
struct Schema {
  static const std::vector<std::string>& families();
  explicit Schema(const storage::Db& db);
  storage::Cf meta, accounts, usernames, delegations, nonces, repos, repo_names, refs;
  storage::Cf blocks, tx_index, local;
  storage::Cf collaborators, forks, issues, issue_index, comments, comment_index, labels,
      milestones, reactions, reviews, pull_heads, pull_revisions, receipts;
  storage::Cf audit;  // the audit log (state/audit.h): derived from blocks, plus local records
  // Governance (state/org.h): organizations, memberships, teams, team grants (tagged keys,
  // docs/governance.md §5).
  storage::Cf governance;
  // Webhooks (state/hooks.h): hook records and their repository/organization indexes.
  storage::Cf hooks;
};

using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;

class KvReader {
 public:
  virtual ~KvReader() = default;
  virtual std::optional<std::string> get(storage::Cf cf, std::string_view key) const = 0;
  // Ordered scan of keys with the prefix; stops when fn returns false.
  virtual void scan_prefix(storage::Cf cf, std::string_view prefix, const ScanFn& fn) const = 0;
};

class DbReader : public KvReader {
 public:
  explicit DbReader(const storage::Db& db) : db_(db) {}
  std::optional<std::string> get(storage::Cf cf, std::string_view key) const override {
    return db_.get(cf, key);
  }
  void scan_prefix(storage::Cf cf, std::string_view prefix, const ScanFn& fn) const override {
    db_.scan_prefix(cf, prefix, fn);
  }

 private:
  const storage::Db& db_;
};

// Pending writes over a base reader. Nested overlays give per-transaction atomicity: a
// transaction executes in a child overlay that is merged into the block's only on success.
class Overlay : public KvReader {
 public:
  explicit Overlay(const KvReader& base) : base_(&base) {}
  // Not copyable: `Overlay child(parent)` must layer on the parent, never copy its writes.
  Overlay(const Overlay&) = delete;
  Overlay& operator=(const Overlay&) = delete;

  std::optional<std::string> get(storage::Cf cf, std::string_view key) const override;
  void scan_prefix(storage::Cf cf, std::string_view prefix, const ScanFn& fn) const override;

  void put(storage::Cf cf, std::string_view key, std::string_view value);
  void del(storage::Cf cf, std::string_view key);
  // Reads not answered here go to `base` from now on, which must show the same state as the
  // old base (Chain::commit: the parent's overlay, once its writes are in the database).
  // Atomic against concurrent reads; the old base must outlive the reads that began on it.
  void rebase(const KvReader& base) { base_.store(&base, std::memory_order_release); }

  // Moves this overlay's writes into `parent` (which must be this overlay's base).
  void merge_into(Overlay& parent);
  void write_to(storage::Batch& batch) const;
  // SHA-256 over the sorted writes: (cf, key, present, value) for each.
  Digest digest() const;
  size_t size() const { return writes_.size(); }
  // Calls fn(key, value) for every key written in `cf`, in order; value nullopt: deleted (the
  // repository tree, state/smt.h, reads a block's changes here rather than look them up again).
  template <typename Fn>
  void for_each_written(storage::Cf cf, Fn&& fn) const {
    for (auto it = writes_.lower_bound(Key{cf.index, std::string()});
         it != writes_.end() && it->first.first == cf.index; ++it)
      fn(std::string_view(it->first.second), it->second);
  }

 private:
  using Key = std::pair<int, std::string>;
  std::atomic<const KvReader*> base_;
  std::map<Key, std::optional<std::string>> writes_;
};

// Helpers for composite keys.
inline std::string key_of(ByteView a) {
  return {a.begin(), a.end()};
}
inline std::string key_of(ByteView a, ByteView b) {
  std::string k(a.begin(), a.end());
  k.append(b.begin(), b.end());
  return k;
}

}  // namespace guts::state
