// Notifications (docs/web.md "Notifications"): an inbox per user, computed by this node from
// finalized blocks, with GitHub's watch and thread-subscription rules.
//
// Node-local, on purpose (docs/web.md explains why): the inbox, the read marks and the watch
// settings are kept in the node's `local` column family, never in a transaction. Everything a
// notification is computed from, except the user's own watch settings, is replicated state
// (issues, comments, reviews, assignees, requested reviewers, permissions), so the inbox is a
// deterministic function of the finalized blocks and of the settings made on this node.
//
// Layout, in the `local` family (prefix "notif/", used by nothing else):
//   notif/cursor                          → be64: the last height processed
//   notif/rs/ user32 be64(repo)           → JSON {state: "watching"|"ignoring", created_ms}
//   notif/rw/ be64(repo) user32           → ""   watchers of a repository (state watching)
//   notif/ts/ user32 be64(thread)         → JSON {subscribed, ignored, reason, created_ms}
//   notif/tp/ be64(thread) user32         → ""   subscribers of a thread (subscribed, not ignored)
//   notif/n/  user32 be64(thread)         → JSON {repo_id, number, pull, title, reason, unread,
//                                                   updated_ms, last_read_ms, height}
// A thread is an issue or pull request; its id is the chain-wide id (Issue::id).
//
// Who is notified of an event on a thread (new issue or pull request, comment, review, close,
// reopen, merge, assignment, review request): the thread's subscribers and the repository's
// watchers, except the actor, anyone ignoring the repository or the thread, and anyone who may
// not read the repository. Participating subscribes automatically: the author ("author"), a
// commenter or reviewer ("comment"), an assignee ("assign"), someone mentioned as @login
// ("mention"), a requested reviewer ("review_requested"). A mention, assignment or review
// request subscribes again even a thread one had unsubscribed from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/thread_annotations.h"
#include "crypto/ed25519.h"
#include "state/block.h"
#include "state/chain.h"
#include "storage/db.h"

namespace guts::api {

struct Notification {
  uint64_t thread_id = 0;
  uint64_t repo_id = 0;
  uint64_t number = 0;
  bool pull = false;
  std::string title;
  std::string reason;  // GitHub's: author, comment, mention, assign, review_requested, subscribed,
                       // manual
  bool unread = true;
  uint64_t updated_ms = 0;
  uint64_t last_read_ms = 0;  // 0: never read
  uint64_t height = 0;        // the block of the latest activity
};

struct Subscription {
  bool subscribed = false;
  bool ignored = false;
  std::string reason;  // threads: why (participation) or "manual"
  uint64_t created_ms = 0;
};

struct NotificationQuery {
  bool all = false;            // include read ones
  bool participating = false;  // only threads one participates in (reason other than subscribed)
  uint64_t since_ms = 0;       // updated at or after
  uint64_t before_ms = 0;      // updated before (0: no bound)
  size_t limit = 50;
  size_t offset = 0;
};

class Notifications {
 public:
  Notifications(storage::Db& db, storage::Cf local, state::Chain& chain);

  // Processes the finalized blocks this node has not processed yet, up to the head (start-up),
  // and then each block as it is committed (the chain's commit listener). Idempotent per height.
  void catch_up();
  void on_block(const state::Block& block);

  // Newest first.
  std::vector<Notification> list(const crypto::PublicKey& user, const NotificationQuery& q) const;
  size_t unread_count(const crypto::PublicKey& user) const;
  std::optional<Notification> thread(const crypto::PublicKey& user, uint64_t thread_id) const;
  // Marks one thread read; false when the user has no such notification.
  bool mark_read(const crypto::PublicKey& user, uint64_t thread_id, uint64_t now_ms);
  // Marks read every notification updated at or before `last_read_ms`; returns how many.
  size_t mark_all_read(const crypto::PublicKey& user, uint64_t last_read_ms, uint64_t now_ms,
                       std::optional<uint64_t> repo_id = std::nullopt);

  std::optional<Subscription> thread_subscription(const crypto::PublicKey& user,
                                                  uint64_t thread_id) const;
  void set_thread_subscription(const crypto::PublicKey& user, uint64_t thread_id, bool ignored,
                               uint64_t now_ms);
  void delete_thread_subscription(const crypto::PublicKey& user, uint64_t thread_id);

  // state: "watching", "ignoring"; nullopt: not set.
  std::optional<Subscription> repo_subscription(const crypto::PublicKey& user,
                                                uint64_t repo_id) const;
  void set_repo_subscription(const crypto::PublicKey& user, uint64_t repo_id, bool subscribed,
                             bool ignored, uint64_t now_ms);
  void delete_repo_subscription(const crypto::PublicKey& user, uint64_t repo_id);
  // A repository's watchers on this node (state watching): how many (the Watch button), and a
  // page of them in key order (GET /repos/{o}/{r}/subscribers).
  size_t watcher_count(uint64_t repo_id) const;
  std::vector<crypto::PublicKey> watchers(uint64_t repo_id, size_t offset, size_t limit) const;

  uint64_t processed() const;

 private:
  mutable Mutex mu_;  // one writer at a time (blocks and user actions)
  void process(const state::Block& block) GUTS_REQUIRES(mu_);

  storage::Db& db_;
  const storage::Cf cf_;
  state::Chain& chain_;
};

// The logins mentioned as @login in Markdown text (bounded: the first 50 distinct).
std::vector<std::string> mentioned_logins(std::string_view text);

}  // namespace guts::api
