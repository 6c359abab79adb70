#include "nostr/bridge.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/status.h"
#include "core/time.h"
#include "nostr/message.h"
#include "nostr/nip19.h"
#include "nostr/origin.h"

namespace guts::nostr {

namespace {

constexpr size_t kMaxInbox = 10000;    // frames not yet handled; beyond, new ones are dropped
constexpr size_t kMaxSeen = 100000;    // event ids remembered for de-duplication
constexpr size_t kMaxWaiting = 1000;   // events waiting for a root or the node
constexpr size_t kMaxPending = 20000;  // signed events not yet accepted by every relay
constexpr auto kWaitLimit = std::chrono::hours(1);
constexpr size_t kMaxImportedBody = 60000;  // Guts takes 64 KiB; room for the origin line
constexpr std::string_view kSubscription = "guts-bridge";

// The commit subject of a format-patch text, without its "[PATCH n/m]" prefix.
std::string patch_subject(const std::string& patch) {
  size_t at = patch.find("\nSubject: ");
  if (at == std::string::npos) return "Patch from Nostr";
  at += 10;
  std::string subject;
  while (at < patch.size()) {
    size_t end = patch.find('\n', at);
    if (end == std::string::npos) end = patch.size();
    subject += patch.substr(at, end - at);
    at = end + 1;
    if (at >= patch.size() || (patch[at] != ' ' && patch[at] != '\t')) break;  // folded header
  }
  if (subject.starts_with("[")) {
    auto close = subject.find("] ");
    if (close != std::string::npos) subject = subject.substr(close + 2);
  }
  while (!subject.empty() && (subject.back() == ' ' || subject.back() == '\r')) subject.pop_back();
  subject = cut_utf8(std::move(subject), kMaxSubjectBytes);
  return subject.empty() ? "Patch from Nostr" : subject;
}

// A Nostr text longer than a Guts body may be, cut on a character boundary and pointing to the
// event for the rest.
std::string fit_body(std::string text, const std::string& event_id) {
  if (text.size() <= kMaxImportedBody) return text;
  return cut_utf8(std::move(text), kMaxImportedBody) +
         "\n\n… (cut: the whole text is in the Nostr event " + note_encode(event_id) + ")";
}

// A relay's refusal that may go away: try again later (NIP-01 machine-readable prefixes).
bool transient_refusal(std::string_view message) {
  return message.starts_with("rate-limited:") || message.starts_with("auth-required:") ||
         message.starts_with("error:");
}

int64_t now_seconds() {
  return static_cast<int64_t>(unix_millis() / 1000);
}

}  // namespace

Bridge::Bridge(BridgeOptions options, crypto::SchnorrKey key)
    : opt_(std::move(options)),
      key_(std::move(key)),
      pubkey_(hex_of(key_.public_key())),
      forge_([this] {
        ForgeOptions f = opt_.forge;
        f.work_dir = opt_.state_dir;
        return f;
      }()),
      record_path_(opt_.state_dir / "record.json") {
  for (const auto& [owner, name] : opt_.repos)
    addresses_.insert(repo_address(pubkey_, owner + "/" + name));
}

Bridge::~Bridge() {
  for (auto& r : relays_) r->stop();
}

BridgeCounters Bridge::counters() const {
  MutexLock lock(mu_);
  return counters_;
}

std::string Bridge::subscription_message() const {
  Filter f;
  f.kinds = {kPatch, kIssue};
  for (const auto& a : addresses_) f.tags['a'].push_back(a);
  return req_message(kSubscription, {f});
}

void Bridge::on_text(size_t relay, std::string text) {
  MutexLock lock(mu_);
  if (inbox_.size() >= kMaxInbox) {
    // Dropped events come back when the subscription is sent again (next round).
    if (resubscribe_.insert(relay).second)
      spdlog::warn("nostr: inbox full ({} frames): dropping frames from {} until the next round",
                   inbox_.size(), opt_.relays[relay]);
    return;
  }
  inbox_.emplace_back(relay, std::move(text));
  wake_.notify_one();
}

void Bridge::on_connected(size_t relay) {
  spdlog::info("nostr: connected to {}", opt_.relays[relay]);
  std::vector<std::string> resend;
  {
    MutexLock lock(mu_);
    resubscribe_.erase(relay);
    for (auto& [id, p] : pending_)
      if (p.awaiting.count(relay)) resend.push_back("[\"EVENT\"," + p.text + "]");
  }
  relays_[relay]->send(subscription_message());
  for (auto& m : resend)
    if (!relays_[relay]->send(std::move(m))) break;  // queue full: the resend timer goes on
}

void Bridge::run(const std::atomic<bool>& stop) {
  std::filesystem::create_directories(opt_.state_dir);
  std::filesystem::permissions(opt_.state_dir, std::filesystem::perms::owner_all);
  record_ = load_record(record_path_);
  {
    MutexLock lock(mu_);
    for (const auto& text : record_.pending) {
      try {
        Event e = parse_event_text(text);
        Pending p{text, {}, {}};
        for (size_t i = 0; i < opt_.relays.size(); ++i) p.awaiting.insert(i);
        if (pending_.emplace(e.id, std::move(p)).second) pending_order_.push_back(e.id);
      } catch (const Error& e) {
        spdlog::warn("nostr: dropping an unreadable pending event from the record: {}", e.what());
      }
    }
  }
  // The first round reads every repository before any relay is dialled: a repository the
  // bridge must not serve stops it here, with the reason.
  poll(true);
  for (size_t i = 0; i < opt_.relays.size(); ++i) {
    RelayClientOptions o = opt_.relay;
    o.url = opt_.relays[i];
    relays_.push_back(std::make_unique<RelayClient>(
        o, [this, i](std::string text) { on_text(i, std::move(text)); },
        [this, i] { on_connected(i); },
        [this, i](std::string why) {
          spdlog::info("nostr: disconnected from {}: {}", opt_.relays[i], why);
        }));
  }
  for (auto& r : relays_) r->start();
  spdlog::info("nostr: bridging {} repositories as {} to {} relays", opt_.repos.size(),
               npub_encode(key_.public_key()), opt_.relays.size());

  auto next_poll = Clock::now() + opt_.poll_interval;
  while (!stop.load()) {
    drain_inbox();
    if (Clock::now() >= next_poll) {
      poll(false);
      next_poll = Clock::now() + opt_.poll_interval;
    }
    bool changed = false;
    {
      MutexLock lock(mu_);
      changed = pending_changed_;
      pending_changed_ = false;
    }
    if (changed) save();
    MutexLock lock(mu_);
    if (inbox_.empty())
      lock.wait_until(wake_, std::min(next_poll, Clock::now() + std::chrono::milliseconds(200)));
  }
  for (auto& r : relays_) r->stop();
  save();
}

void Bridge::save() {
  {
    MutexLock lock(mu_);
    record_.pending.clear();
    for (const auto& id : pending_order_) record_.pending.push_back(pending_.at(id).text);
  }
  save_record(record_path_, record_);
}

void Bridge::drain_inbox() {
  std::deque<std::pair<size_t, std::string>> frames;
  {
    MutexLock lock(mu_);
    frames.swap(inbox_);
  }
  if (frames.empty()) return;
  // Events of one batch are handled oldest first: a series' root before its replies.
  std::vector<Event> events;
  for (auto& [relay, text] : frames) {
    RelayMessage m;
    try {
      m = parse_relay_message(text);
    } catch (const Error& e) {
      MutexLock lock(mu_);
      ++counters_.rejected;
      spdlog::warn("nostr: bad message from {}: {}", opt_.relays[relay], e.what());
      continue;
    }
    if (auto* ev = std::get_if<RelayEvent>(&m)) {
      events.push_back(std::move(ev->event));
    } else if (auto* ok = std::get_if<RelayOk>(&m)) {
      MutexLock lock(mu_);
      auto it = pending_.find(ok->event_id);
      if (it == pending_.end() || !it->second.awaiting.count(relay)) continue;
      if (!ok->accepted && transient_refusal(ok->message)) {
        spdlog::info("nostr: {} deferred event {}: {}", opt_.relays[relay], ok->event_id,
                     ok->message);
        continue;  // still awaited: the resend timer tries again
      }
      it->second.awaiting.erase(relay);
      if (ok->accepted) {
        ++counters_.acknowledged;
      } else {
        ++counters_.refused_by_relay;
        spdlog::warn("nostr: {} refused event {}: {}", opt_.relays[relay], ok->event_id,
                     ok->message);
      }
      if (it->second.awaiting.empty()) {
        pending_.erase(it);
        pending_order_.erase(std::find(pending_order_.begin(), pending_order_.end(), ok->event_id));
      }
      pending_changed_ = true;
    } else if (auto* closed = std::get_if<RelayClosed>(&m)) {
      spdlog::warn("nostr: {} closed subscription {}: {} (subscribing again next round)",
                   opt_.relays[relay], closed->subscription, closed->message);
      MutexLock lock(mu_);
      resubscribe_.insert(relay);
    } else if (auto* notice = std::get_if<RelayNotice>(&m)) {
      spdlog::info("nostr: notice from {}: {}", opt_.relays[relay], notice->message.substr(0, 200));
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.created_at < b.created_at; });
  for (const auto& e : events) handle_event(e);
}

void Bridge::handle_event(const Event& e) {
  {
    MutexLock lock(mu_);
    ++counters_.received;
    if (seen_.count(e.id)) {
      ++counters_.duplicates;
      return;
    }
  }
  // Verified before anything else, and remembered only once verified: a forged copy of an id
  // must not hide the genuine event.
  if (auto why = verify_event(e)) {
    MutexLock lock(mu_);
    ++counters_.rejected;
    spdlog::warn("nostr: rejected event {}: {}", e.id, *why);
    return;
  }
  seen_.insert(e.id);
  seen_order_.push_back(e.id);
  if (seen_order_.size() > kMaxSeen) {
    seen_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  // The bridge's key is its own (a dedicated user's): what it signed, it published.
  if (e.pubkey == pubkey_) return;
  if (!dispatch(e)) {
    if (waiting_.size() >= kMaxWaiting) {
      spdlog::warn("nostr: too many events waiting; dropping {}", waiting_.front().event.id);
      seen_.erase(waiting_.front().event.id);  // a later delivery may bring it back
      waiting_.pop_front();
    }
    waiting_.push_back({e, Clock::now() + kWaitLimit});
  }
}

void Bridge::require_rate(const std::string& author) {
  if (!within_rate(author))
    throw Error(Code::kRateLimited, "its author opened more than " +
                                        std::to_string(opt_.max_imports_per_hour) +
                                        " items in an hour");
}

bool Bridge::within_rate(const std::string& author) {
  if (opt_.max_imports_per_hour == 0) return true;
  auto& times = imports_by_author_[author];
  const auto now = Clock::now();
  while (!times.empty() && now - times.front() > std::chrono::hours(1)) times.pop_front();
  if (times.size() >= opt_.max_imports_per_hour) return false;
  times.push_back(now);
  if (imports_by_author_.size() > 10000) {  // bounded: forget keys with nothing recent
    for (auto it = imports_by_author_.begin(); it != imports_by_author_.end();)
      it = it->second.empty() || now - it->second.back() > std::chrono::hours(1)
               ? imports_by_author_.erase(it)
               : std::next(it);
  }
  return true;
}

bool Bridge::dispatch(const Event& e) {
  try {
    if (e.kind != kIssue && e.kind != kPatch) return true;  // not imported
    const bool issue = e.kind == kIssue;
    std::optional<InboundIssue> in_issue;
    std::optional<InboundPatch> in_patch;
    if (issue)
      in_issue = parse_inbound_issue(e);
    else
      in_patch = parse_inbound_patch(e);
    const std::string& address = issue ? in_issue->repo_address : in_patch->repo_address;
    if (!addresses_.count(address)) return true;  // not a repository of this bridge
    auto snap = snapshots_.find(address);
    if (snap == snapshots_.end()) return false;  // not read yet: wait for the node
    if (issue) {
      if (imported_[address].count(e.id)) {
        MutexLock lock(mu_);
        ++counters_.duplicates;
        return true;
      }
      import_issue(snap->second, *in_issue);
      return true;
    }
    return import_patch(snap->second, *in_patch);
  } catch (const Error& err) {
    if (err.code() == Code::kUnavailable) {
      spdlog::warn("nostr: cannot import event {} now: {}", e.id, err.what());
      return false;
    }
    MutexLock lock(mu_);
    ++counters_.import_failures;
    spdlog::warn("nostr: not importing event {}: {}", e.id, err.what());
    return true;
  } catch (const std::exception& err) {
    MutexLock lock(mu_);
    ++counters_.import_failures;
    spdlog::warn("nostr: not importing event {}: {}", e.id, err.what());
    return true;
  }
}

void Bridge::import_issue(const ForgeRepo& repo, const InboundIssue& issue) {
  require_rate(issue.author);
  std::string body = origin_line("issue", issue.event_id, issue.author,
                                 forge_.bound_login(issue.author), issue.created_at);
  if (!issue.content.empty()) body += "\n\n" + fit_body(issue.content, issue.event_id);
  const uint64_t number = forge_.create_issue(repo, issue.subject, body);
  imported_[repo_address(pubkey_, repo.d())][issue.event_id] = {false, number, issue.author};
  MutexLock lock(mu_);
  ++counters_.imported_issues;
  spdlog::info("nostr: imported issue {} as {}#{}", issue.event_id, repo.d(), number);
}

bool Bridge::import_patch(const ForgeRepo& repo, const InboundPatch& patch) {
  const std::string address = repo_address(pubkey_, repo.d());
  auto& imported = imported_[address];
  const bool starts_series = patch.root || patch.root_revision || patch.root_event.empty();
  if (starts_series) {
    if (imported.count(patch.event_id)) {
      MutexLock lock(mu_);
      ++counters_.duplicates;
      return true;
    }
    require_rate(patch.author);
    std::string body = origin_line("patch", patch.event_id, patch.author,
                                   forge_.bound_login(patch.author), patch.created_at);
    if (patch.root_revision && imported.count(patch.root_event))
      body += "\n\nA revision of the series in #" +
              std::to_string(imported[patch.root_event].number) + ".";
    const uint64_t number = forge_.open_pull(repo, patch, patch_subject(patch.patch), body);
    imported[patch.event_id] = {true, number, patch.author};
    series_root_[patch.event_id] = patch.event_id;
    MutexLock lock(mu_);
    ++counters_.imported_pulls;
    spdlog::info("nostr: imported patch {} as pull request {}#{}", patch.event_id, repo.d(),
                 number);
    return true;
  }
  // A later patch: its "root" (or "reply": the previous patch) leads to the series root.
  std::string root = patch.root_event;
  if (auto it = series_root_.find(root); it != series_root_.end()) root = it->second;
  auto pr = imported.find(root);
  if (pr == imported.end() || !pr->second.pull) return false;
  // Only the series' author adds to it: anyone else opens a series of their own.
  if (pr->second.author != patch.author)
    throw Error(Code::kPermissionDenied,
                "it adds to the series of another Nostr key (" + pr->second.author + ")");
  if (forge_.append_patch(repo, root, patch)) {
    MutexLock lock(mu_);
    ++counters_.imported_patches;
    spdlog::info("nostr: added patch {} to pull request {}#{}", patch.event_id, repo.d(),
                 pr->second.number);
  }
  series_root_[patch.event_id] = root;
  return true;
}

void Bridge::poll(bool first) {
  for (const auto& [owner, name] : opt_.repos) {
    const std::string d = owner + "/" + name;
    try {
      ForgeRepo repo = forge_.snapshot(owner, name, record_.repos[d]);
      const std::string address = repo_address(pubkey_, repo.d());
      // What came from Nostr, by the origin lines the bridge wrote: the memory that survives
      // restarts.
      auto& imported = imported_[address];
      for (const auto& i : repo.issues)
        if (auto o = bridge_origin(i.by_bridge, i.body))
          imported[o->event_id] = {false, i.number, o->author};
      for (const auto& p : repo.pulls)
        if (auto o = bridge_origin(p.by_bridge, p.body)) {
          imported[o->event_id] = {true, p.number, o->author};
          series_root_[o->event_id] = o->event_id;
        }
      PlanOptions po;
      po.pubkey = pubkey_;
      po.relays = opt_.relays;
      po.now = now_seconds();
      po.max_patches = opt_.forge.max_patches;
      Plan plan = plan_repo(repo, record_.repos[d], po);
      for (const auto& note : plan.notes) spdlog::info("nostr: {}: {}", d, note);
      std::vector<Event> signed_events;
      for (auto& e : plan.events) signed_events.push_back(sign_event(std::move(e), key_));
      const bool changed = !(plan.record == record_.repos[d]);
      record_.repos[d] = std::move(plan.record);
      for (auto& p : repo.pulls) p.patches = {};  // published: imports need none of them
      snapshots_[address] = std::move(repo);
      if (!signed_events.empty())
        publish(signed_events);  // saves the record
      else if (changed)
        save();
    } catch (const Error& e) {
      if (first && e.code() == Code::kPermissionDenied) throw;
      spdlog::warn("nostr: {}: {}", d, e.what());
    } catch (const std::exception& e) {
      spdlog::warn("nostr: {}: {}", d, e.what());
    }
  }
  {
    MutexLock lock(mu_);
    for (size_t relay : resubscribe_)
      if (relay < relays_.size() && relays_[relay]->send(subscription_message()))
        spdlog::info("nostr: subscribed again to {}", opt_.relays[relay]);
    resubscribe_.clear();
  }
  resend_pending();
  // Events that waited for a root or for the node.
  std::deque<Waiting> again;
  again.swap(waiting_);
  const auto now = Clock::now();
  for (auto& w : again) {
    if (dispatch(w.event)) continue;
    if (now > w.deadline) {
      spdlog::warn("nostr: giving up on event {} after an hour", w.event.id);
      seen_.erase(w.event.id);  // a later delivery may bring it back
      continue;
    }
    waiting_.push_back(std::move(w));
  }
}

void Bridge::resend_pending() {
  std::vector<std::pair<size_t, std::string>> out;
  {
    MutexLock lock(mu_);
    const auto now = Clock::now();
    for (auto& [id, p] : pending_) {
      if (now - p.sent < opt_.resend_after) continue;
      p.sent = now;
      for (size_t relay : p.awaiting) out.emplace_back(relay, "[\"EVENT\"," + p.text + "]");
    }
  }
  for (auto& [relay, m] : out)
    if (relay < relays_.size()) relays_[relay]->send(std::move(m));  // refused: next time
}

void Bridge::publish(const std::vector<Event>& events) {
  {
    MutexLock lock(mu_);
    const auto now = Clock::now();
    for (const auto& e : events) {
      Pending p{to_text(e), {}, now};
      for (size_t i = 0; i < opt_.relays.size(); ++i) p.awaiting.insert(i);
      if (pending_.insert_or_assign(e.id, std::move(p)).second) pending_order_.push_back(e.id);
      ++counters_.published;
    }
    while (pending_order_.size() > kMaxPending) {  // relays that never answer: bounded
      spdlog::warn("nostr: {} events unacknowledged; forgetting {}", pending_order_.size(),
                   pending_order_.front());
      pending_.erase(pending_order_.front());
      pending_order_.pop_front();
    }
  }
  // Recorded before it is sent: a crash now re-sends (same ids) instead of forgetting.
  save();
  for (const auto& e : events) {
    const std::string message = event_message(e);
    for (auto& r : relays_) r->send(message);  // not connected or queue full: sent again later
  }
  spdlog::info("nostr: published {} events", events.size());
}

}  // namespace guts::nostr
