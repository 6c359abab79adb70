// Notifications (api/notifications.h).
#include "api/notifications.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "api/events_routes.h"
#include "crypto/did.h"
#include "state/collab.h"

namespace guts::api {

namespace {

using njson = nlohmann::json;

constexpr std::string_view kCursor = "notif/cursor";
constexpr std::string_view kRepoSub = "notif/rs/";
constexpr std::string_view kRepoWatchers = "notif/rw/";
constexpr std::string_view kThreadSub = "notif/ts/";
constexpr std::string_view kThreadSubscribers = "notif/tp/";
constexpr std::string_view kInbox = "notif/n/";
constexpr size_t kMaxMentions = 50;

std::string be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i) {
    s[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return s;
}
uint64_t from_be64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}
std::string raw(const crypto::PublicKey& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), k.size());
}
crypto::PublicKey key_of(std::string_view s) {
  crypto::PublicKey k{};
  std::copy_n(s.data(), std::min(s.size(), k.size()), k.begin());
  return k;
}

std::string repo_sub_key(const crypto::PublicKey& u, uint64_t repo) {
  return std::string(kRepoSub) + raw(u) + be64(repo);
}
std::string watcher_key(uint64_t repo, const crypto::PublicKey& u) {
  return std::string(kRepoWatchers) + be64(repo) + raw(u);
}
std::string thread_sub_key(const crypto::PublicKey& u, uint64_t thread) {
  return std::string(kThreadSub) + raw(u) + be64(thread);
}
std::string subscriber_key(uint64_t thread, const crypto::PublicKey& u) {
  return std::string(kThreadSubscribers) + be64(thread) + raw(u);
}
std::string inbox_key(const crypto::PublicKey& u, uint64_t thread) {
  return std::string(kInbox) + raw(u) + be64(thread);
}

njson sub_json(const Subscription& s) {
  return {{"subscribed", s.subscribed},
          {"ignored", s.ignored},
          {"reason", s.reason},
          {"created_ms", s.created_ms}};
}
Subscription parse_sub(std::string_view text) {
  auto j = njson::parse(text, nullptr, false);
  Subscription s;
  if (j.is_discarded() || !j.is_object()) return s;
  s.subscribed = j.value("subscribed", false);
  s.ignored = j.value("ignored", false);
  s.reason = j.value("reason", "");
  s.created_ms = j.value("created_ms", uint64_t{0});
  return s;
}
njson note_json(const Notification& n) {
  return {{"repo_id", n.repo_id},
          {"number", n.number},
          {"pull", n.pull},
          {"title", n.title},
          {"reason", n.reason},
          {"unread", n.unread},
          {"updated_ms", n.updated_ms},
          {"last_read_ms", n.last_read_ms},
          {"height", n.height}};
}
Notification parse_note(uint64_t thread, std::string_view text) {
  Notification n;
  n.thread_id = thread;
  auto j = njson::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return n;
  n.repo_id = j.value("repo_id", uint64_t{0});
  n.number = j.value("number", uint64_t{0});
  n.pull = j.value("pull", false);
  n.title = j.value("title", "");
  n.reason = j.value("reason", "");
  n.unread = j.value("unread", false);
  n.updated_ms = j.value("updated_ms", uint64_t{0});
  n.last_read_ms = j.value("last_read_ms", uint64_t{0});
  n.height = j.value("height", uint64_t{0});
  return n;
}
std::string dump(const njson& j) {
  return j.dump(-1, ' ', false, njson::error_handler_t::replace);
}

// The strongest reason wins when one event gives a user several.
int rank(std::string_view reason) {
  static const char* order[] = {"subscribed", "manual",           "comment", "author",
                                "assign",     "review_requested", "mention"};
  for (int i = 0; i < 7; ++i)
    if (reason == order[i]) return i;
  return -1;
}

bool login_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// Reads through the writes of the block being processed.
class Pending {
 public:
  Pending(storage::Db& db, storage::Cf cf) : db_(db), cf_(cf) {}
  std::optional<std::string> get(const std::string& key) const {
    if (auto it = writes_.find(key); it != writes_.end()) return it->second;
    return db_.get(cf_, key);
  }
  void put(const std::string& key, std::string value) { writes_[key] = std::move(value); }
  void del(const std::string& key) { writes_[key] = std::nullopt; }
  // Keys under `prefix`: stored ones and pending ones, pending deletions left out.
  std::vector<std::string> keys(const std::string& prefix) const {
    std::set<std::string> out;
    db_.scan_prefix(cf_, prefix, [&](std::string_view k, std::string_view) {
      out.insert(std::string(k));
      return true;
    });
    for (auto it = writes_.lower_bound(prefix);
         it != writes_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      if (it->second)
        out.insert(it->first);
      else
        out.erase(it->first);
    }
    return {out.begin(), out.end()};
  }
  void write(storage::Batch& b) const {
    for (const auto& [k, v] : writes_) {
      if (v)
        b.put(cf_, k, *v);
      else
        b.del(cf_, k);
    }
  }

 private:
  storage::Db& db_;
  storage::Cf cf_;
  std::map<std::string, std::optional<std::string>> writes_;
};

// One event on a thread: who acted, and who takes part because of it (with the reason).
struct ThreadEvent {
  uint64_t repo_id = 0;
  uint64_t number = 0;
  crypto::PublicKey actor{};
  std::vector<std::pair<crypto::PublicKey, std::string>> participants;
};

}  // namespace

std::vector<std::string> mentioned_logins(std::string_view text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size() && out.size() < kMaxMentions; ++i) {
    if (text[i] != '@') continue;
    if (i > 0 && (login_char(text[i - 1]) || text[i - 1] == '`' || text[i - 1] == '/')) continue;
    size_t j = i + 1;
    while (j < text.size() && j - i - 1 < 40 && login_char(text[j])) ++j;
    size_t n = j - i - 1;
    if (n == 0 || n > 39 || text[i + 1] == '-' || text[j - 1] == '-') continue;
    std::string login(text.substr(i + 1, n));
    if (std::find(out.begin(), out.end(), login) == out.end()) out.push_back(login);
    i = j - 1;
  }
  return out;
}

Notifications::Notifications(storage::Db& db, storage::Cf local, state::Chain& chain)
    : db_(db), cf_(local), chain_(chain) {}

uint64_t Notifications::processed() const {
  auto v = db_.get(cf_, kCursor);
  return v ? from_be64(*v) : 0;
}

void Notifications::catch_up() {
  MutexLock lk(mu_);
  uint64_t head = chain_.head().height;
  for (uint64_t h = processed() + 1; h <= head; ++h) {
    auto b = chain_.block_at(h);
    if (!b) break;
    process(*b);
  }
}

void Notifications::on_block(const state::Block& block) {
  MutexLock lk(mu_);
  uint64_t done = processed();
  if (block.header.height <= done) return;
  // Blocks missed (should not happen: the listener sees every block) are processed first.
  for (uint64_t h = done + 1; h < block.header.height; ++h)
    if (auto b = chain_.block_at(h)) process(*b);
  process(block);
}

void Notifications::process(const state::Block& block) {
  auto view = chain_.view();
  Pending p(db_, cf_);
  auto mention = [&](std::string_view body, ThreadEvent& e) {
    for (const auto& login : mentioned_logins(body))
      if (auto a = view.account_by_username(login); a && !a->is_org)
        e.participants.push_back({a->key, "mention"});
  };
  for (const auto& tx : block.txs) {
    std::optional<ThreadEvent> ev;
    std::visit(
        [&](const auto& b) {
          using T = std::decay_t<decltype(b)>;
          ThreadEvent e;
          e.actor = tx.author;
          if constexpr (std::is_same_v<T, state::CreateIssue> ||
                        std::is_same_v<T, state::OpenPullRequest>) {
            auto n = view.receipt(tx.id());
            if (!n) return;
            e.repo_id = b.repo_id;
            e.number = *n;
            e.participants.push_back({tx.author, "author"});
            if constexpr (std::is_same_v<T, state::CreateIssue>)
              for (const auto& a : b.assignees) e.participants.push_back({a, "assign"});
            mention(b.body, e);
          } else if constexpr (std::is_same_v<T, state::CreateComment>) {
            e.repo_id = b.repo_id;
            e.number = b.number;
            e.participants.push_back({tx.author, "comment"});
            mention(b.body, e);
          } else if constexpr (std::is_same_v<T, state::EditIssue>) {
            bool notable =
                b.state || b.assignees || !b.assignees_add.empty() || !b.reviewers_add.empty();
            if (!notable) return;
            e.repo_id = b.repo_id;
            e.number = b.number;
            if (b.assignees)
              for (const auto& a : *b.assignees) e.participants.push_back({a, "assign"});
            for (const auto& a : b.assignees_add) e.participants.push_back({a, "assign"});
            for (const auto& r : b.reviewers_add) e.participants.push_back({r, "review_requested"});
          } else if constexpr (std::is_same_v<T, state::MergePullRequest>) {
            e.repo_id = b.repo_id;
            e.number = b.number;
          } else if constexpr (std::is_same_v<T, state::SubmitReview>) {
            e.repo_id = b.repo_id;
            e.number = b.number;
            e.participants.push_back({tx.author, "comment"});
            mention(b.body, e);
          } else if constexpr (std::is_same_v<T, state::CreateReviewComment>) {
            e.repo_id = b.repo_id;
            e.number = b.number;
            e.participants.push_back({tx.author, "comment"});
            mention(b.body, e);
          } else {
            return;
          }
          ev = std::move(e);
        },
        tx.body);
    if (!ev) continue;
    auto issue = view.issue(ev->repo_id, ev->number);
    if (!issue) continue;
    const uint64_t thread = issue->id;
    // Participation subscribes.
    std::map<crypto::PublicKey, std::string> reasons;
    for (const auto& [who, reason] : ev->participants) {
      auto& r = reasons[who];
      if (rank(reason) > rank(r)) r = reason;
    }
    for (const auto& [who, reason] : reasons) {
      auto k = thread_sub_key(who, thread);
      auto cur = p.get(k);
      bool strong = reason == "mention" || reason == "assign" || reason == "review_requested";
      if (cur) {
        auto s = parse_sub(*cur);
        if (s.subscribed || !strong) continue;  // an unsubscribed thread stays so, unless called
      }
      Subscription s{true, false, reason, block.header.timestamp_ms};
      p.put(k, dump(sub_json(s)));
      p.put(subscriber_key(thread, who), "");
    }
    // Recipients: the thread's subscribers and the repository's watchers.
    std::set<crypto::PublicKey> recipients;
    const std::string tp = std::string(kThreadSubscribers) + be64(thread);
    for (const auto& k : p.keys(tp))
      recipients.insert(key_of(std::string_view(k).substr(tp.size())));
    const std::string rw = std::string(kRepoWatchers) + be64(ev->repo_id);
    for (const auto& k : p.keys(rw))
      recipients.insert(key_of(std::string_view(k).substr(rw.size())));
    for (const auto& who : recipients) {
      if (who == ev->actor) continue;
      std::optional<Subscription> ts;
      if (auto v = p.get(thread_sub_key(who, thread))) ts = parse_sub(*v);
      if (ts && ts->ignored) continue;
      if (auto v = p.get(repo_sub_key(who, ev->repo_id))) {
        auto rs = parse_sub(*v);
        if (rs.ignored) continue;
      }
      Principal reader{true, crypto::did_from_key(who), "", "", true, {"repo"}, {}};
      if (!event_visible(view, reader, ev->repo_id)) continue;
      std::string reason = "subscribed";
      if (auto it = reasons.find(who); it != reasons.end())
        reason = it->second;
      else if (ts && ts->subscribed)
        reason = ts->reason.empty() ? "manual" : ts->reason;
      Notification n;
      if (auto old = p.get(inbox_key(who, thread))) {
        n = parse_note(thread, *old);
        // A participating reason is kept over a weaker later one.
        if (rank(n.reason) > rank(reason) && reason != "mention") reason = n.reason;
      }
      n.thread_id = thread;
      n.repo_id = ev->repo_id;
      n.number = ev->number;
      n.pull = issue->is_pull;
      n.title = issue->title;
      n.reason = reason;
      n.unread = true;
      n.updated_ms = block.header.timestamp_ms;
      n.height = block.header.height;
      p.put(inbox_key(who, thread), dump(note_json(n)));
    }
  }
  storage::Batch batch;
  p.write(batch);
  batch.put(cf_, kCursor, be64(block.header.height));
  db_.write(batch, false);
}

std::vector<Notification> Notifications::list(const crypto::PublicKey& user,
                                              const NotificationQuery& q) const {
  std::vector<Notification> out;
  const std::string prefix = std::string(kInbox) + raw(user);
  db_.scan_prefix(cf_, prefix, [&](std::string_view k, std::string_view v) {
    auto n = parse_note(from_be64(k.substr(prefix.size())), v);
    if (!q.all && !n.unread) return true;
    if (q.participating && (n.reason == "subscribed" || n.reason == "manual")) return true;
    if (q.since_ms && n.updated_ms < q.since_ms) return true;
    if (q.before_ms && n.updated_ms >= q.before_ms) return true;
    out.push_back(std::move(n));
    return true;
  });
  std::stable_sort(out.begin(), out.end(), [](const Notification& a, const Notification& b) {
    return a.updated_ms != b.updated_ms ? a.updated_ms > b.updated_ms : a.thread_id > b.thread_id;
  });
  if (q.offset >= out.size()) return {};
  out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(q.offset));
  if (out.size() > q.limit) out.resize(q.limit);
  return out;
}

size_t Notifications::unread_count(const crypto::PublicKey& user) const {
  size_t n = 0;
  const std::string prefix = std::string(kInbox) + raw(user);
  db_.scan_prefix(cf_, prefix, [&](std::string_view k, std::string_view v) {
    if (parse_note(from_be64(k.substr(prefix.size())), v).unread) ++n;
    return true;
  });
  return n;
}

std::optional<Notification> Notifications::thread(const crypto::PublicKey& user,
                                                  uint64_t thread_id) const {
  auto v = db_.get(cf_, inbox_key(user, thread_id));
  if (!v) return std::nullopt;
  return parse_note(thread_id, *v);
}

bool Notifications::mark_read(const crypto::PublicKey& user, uint64_t thread_id, uint64_t now_ms) {
  MutexLock lk(mu_);
  auto v = db_.get(cf_, inbox_key(user, thread_id));
  if (!v) return false;
  auto n = parse_note(thread_id, *v);
  n.unread = false;
  n.last_read_ms = now_ms;
  db_.put(cf_, inbox_key(user, thread_id), dump(note_json(n)));
  return true;
}

size_t Notifications::mark_all_read(const crypto::PublicKey& user, uint64_t last_read_ms,
                                    uint64_t now_ms, std::optional<uint64_t> repo_id) {
  MutexLock lk(mu_);
  storage::Batch b;
  size_t count = 0;
  const std::string prefix = std::string(kInbox) + raw(user);
  db_.scan_prefix(cf_, prefix, [&](std::string_view k, std::string_view v) {
    auto n = parse_note(from_be64(k.substr(prefix.size())), v);
    if (!n.unread || n.updated_ms > last_read_ms) return true;
    if (repo_id && n.repo_id != *repo_id) return true;
    n.unread = false;
    n.last_read_ms = now_ms;
    b.put(cf_, k, dump(note_json(n)));
    ++count;
    return true;
  });
  if (count) db_.write(b, false);
  return count;
}

std::optional<Subscription> Notifications::thread_subscription(const crypto::PublicKey& user,
                                                               uint64_t thread_id) const {
  auto v = db_.get(cf_, thread_sub_key(user, thread_id));
  if (!v) return std::nullopt;
  return parse_sub(*v);
}

void Notifications::set_thread_subscription(const crypto::PublicKey& user, uint64_t thread_id,
                                            bool ignored, uint64_t now_ms) {
  MutexLock lk(mu_);
  Subscription s{!ignored, ignored, "manual", now_ms};
  storage::Batch b;
  b.put(cf_, thread_sub_key(user, thread_id), dump(sub_json(s)));
  if (ignored)
    b.del(cf_, subscriber_key(thread_id, user));
  else
    b.put(cf_, subscriber_key(thread_id, user), "");
  db_.write(b, false);
}

void Notifications::delete_thread_subscription(const crypto::PublicKey& user, uint64_t thread_id) {
  MutexLock lk(mu_);
  // Unsubscribed (GitHub's "mute until mentioned"): kept as a record so that commenting again
  // does not resubscribe; a mention, assignment or review request does.
  Subscription s{false, false, "manual", 0};
  storage::Batch b;
  b.put(cf_, thread_sub_key(user, thread_id), dump(sub_json(s)));
  b.del(cf_, subscriber_key(thread_id, user));
  db_.write(b, false);
}

std::optional<Subscription> Notifications::repo_subscription(const crypto::PublicKey& user,
                                                             uint64_t repo_id) const {
  auto v = db_.get(cf_, repo_sub_key(user, repo_id));
  if (!v) return std::nullopt;
  return parse_sub(*v);
}

void Notifications::set_repo_subscription(const crypto::PublicKey& user, uint64_t repo_id,
                                          bool subscribed, bool ignored, uint64_t now_ms) {
  MutexLock lk(mu_);
  Subscription s{subscribed && !ignored, ignored, "", now_ms};
  if (auto old = db_.get(cf_, repo_sub_key(user, repo_id)))
    s.created_ms = parse_sub(*old).created_ms;
  storage::Batch b;
  b.put(cf_, repo_sub_key(user, repo_id), dump(sub_json(s)));
  if (s.subscribed)
    b.put(cf_, watcher_key(repo_id, user), "");
  else
    b.del(cf_, watcher_key(repo_id, user));
  db_.write(b, false);
}

void Notifications::delete_repo_subscription(const crypto::PublicKey& user, uint64_t repo_id) {
  MutexLock lk(mu_);
  storage::Batch b;
  b.del(cf_, repo_sub_key(user, repo_id));
  b.del(cf_, watcher_key(repo_id, user));
  db_.write(b, false);
}

size_t Notifications::watcher_count(uint64_t repo_id) const {
  size_t n = 0;
  db_.scan_prefix(cf_, std::string(kRepoWatchers) + be64(repo_id),
                  [&](std::string_view, std::string_view) {
                    ++n;
                    return true;
                  });
  return n;
}

std::vector<crypto::PublicKey> Notifications::watchers(uint64_t repo_id, size_t offset,
                                                       size_t limit) const {
  std::vector<crypto::PublicKey> out;
  const std::string prefix = std::string(kRepoWatchers) + be64(repo_id);
  db_.scan_prefix(cf_, prefix, [&](std::string_view k, std::string_view) {
    if (out.size() >= limit) return false;
    if (offset > 0) {
      --offset;
      return true;
    }
    std::string_view key = k.substr(prefix.size());
    if (key.size() == crypto::PublicKey{}.size()) out.push_back(key_of(key));
    return true;
  });
  return out;
}

}  // namespace guts::api
