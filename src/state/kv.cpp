#include "state/kv.h"

#include "codec/codec.h"
#include "crypto/hash.h"

namespace guts::state {

const std::vector<std::string>& Schema::families() {
  static const std::vector<std::string> kFamilies = {
      "meta", "accounts", "usernames", "delegations", "nonces", "repos", "repo_names", "refs",
      "blocks", "tx_index", "local",
      // collaboration (appended; never reorder)
      "collaborators", "forks", "issues", "issue_index", "comments", "comment_index", "labels",
      "milestones", "reactions", "reviews", "pull_heads", "pull_revisions", "receipts",
      // the audit log (state/audit.h), appended
      "audit",
      // governance (appended)
      "governance",
      // webhooks (state/hooks.h), appended
      "hooks"};
  return kFamilies;
}

Schema::Schema(const storage::Db& db)
    : meta(db.cf("meta")),
      accounts(db.cf("accounts")),
      usernames(db.cf("usernames")),
      delegations(db.cf("delegations")),
      nonces(db.cf("nonces")),
      repos(db.cf("repos")),
      repo_names(db.cf("repo_names")),
      refs(db.cf("refs")),
      blocks(db.cf("blocks")),
      tx_index(db.cf("tx_index")),
      local(db.cf("local")),
      collaborators(db.cf("collaborators")),
      forks(db.cf("forks")),
      issues(db.cf("issues")),
      issue_index(db.cf("issue_index")),
      comments(db.cf("comments")),
      comment_index(db.cf("comment_index")),
      labels(db.cf("labels")),
      milestones(db.cf("milestones")),
      reactions(db.cf("reactions")),
      reviews(db.cf("reviews")),
      pull_heads(db.cf("pull_heads")),
      pull_revisions(db.cf("pull_revisions")),
      receipts(db.cf("receipts")),
      audit(db.cf("audit")),
      governance(db.cf("governance")),
      hooks(db.cf("hooks")) {}

std::optional<std::string> Overlay::get(storage::Cf cf, std::string_view key) const {
  auto it = writes_.find(Key{cf.index, std::string(key)});
  if (it != writes_.end()) return it->second;
  return base_.load(std::memory_order_acquire)->get(cf, key);
}

void Overlay::scan_prefix(storage::Cf cf, std::string_view prefix, const ScanFn& fn) const {
  // Merge the base's ordered keys with ours; ours win, deletions hide base entries.
  auto lo = writes_.lower_bound(Key{cf.index, std::string(prefix)});
  auto in_range = [&](decltype(lo) it) {
    return it != writes_.end() && it->first.first == cf.index &&
           std::string_view(it->first.second).substr(0, prefix.size()) == prefix;
  };
  bool stopped = false;
  base_.load(std::memory_order_acquire)
      ->scan_prefix(cf, prefix, [&](std::string_view k, std::string_view v) {
        while (in_range(lo) && lo->first.second < k) {
          if (lo->second && !fn(lo->first.second, *lo->second)) {
            stopped = true;
            return false;
          }
          ++lo;
        }
        if (in_range(lo) && lo->first.second == k) {
          auto cur = lo++;
          if (!cur->second) return true;  // deleted here
          if (!fn(k, *cur->second)) {
            stopped = true;
            return false;
          }
          return true;
        }
        if (!fn(k, v)) {
          stopped = true;
          return false;
        }
        return true;
      });
  if (stopped) return;
  for (; in_range(lo); ++lo)
    if (lo->second && !fn(lo->first.second, *lo->second)) return;
}

void Overlay::put(storage::Cf cf, std::string_view key, std::string_view value) {
  writes_[Key{cf.index, std::string(key)}] = std::string(value);
}

void Overlay::del(storage::Cf cf, std::string_view key) {
  writes_[Key{cf.index, std::string(key)}] = std::nullopt;
}

void Overlay::merge_into(Overlay& parent) {
  for (auto& [k, v] : writes_) parent.writes_[k] = std::move(v);
  writes_.clear();
}

void Overlay::write_to(storage::Batch& batch) const {
  for (const auto& [k, v] : writes_) {
    if (v)
      batch.put(storage::Cf{k.first}, k.second, *v);
    else
      batch.del(storage::Cf{k.first}, k.second);
  }
}

Digest Overlay::digest() const {
  crypto::Sha256 h;
  for (const auto& [k, v] : writes_) {
    codec::Writer w;
    w.varint(static_cast<uint64_t>(k.first)).str(k.second).boolean(v.has_value());
    if (v) w.str(*v);
    h.update(w.data());
  }
  return h.finish();
}

}  // namespace guts::state
