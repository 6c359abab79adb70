#include "nostr/bridge_plan.h"

#include <type_traits>

#include "core/bytes.h"
#include "core/status.h"
#include "crypto/hash.h"
#include "nostr/nip34.h"

namespace guts::nostr {

namespace {

std::string digest_of_tags(const Event& e) {
  nlohmann::json tags = e.tags;
  return hex_encode(crypto::sha256(tags.dump()));
}

class Planner {
 public:
  Planner(const ForgeRepo& repo, const RepoRecord& before, const PlanOptions& options)
      : repo_(repo), opt_(options), address_(repo_address(options.pubkey, repo.d())) {
    plan_.record = before;
  }

  Plan run() {
    announce();
    for (const auto& issue : repo_.issues) guarded(issue, "issue", [&] { plan_issue(issue); });
    for (const auto& pull : repo_.pulls) guarded(pull, "pull", [&] { plan_pull(pull); });
    return std::move(plan_);
  }

 private:
  std::string add(Event e) {
    e.pubkey = opt_.pubkey;
    e.id = compute_id(e);
    plan_.events.push_back(e);
    return e.id;
  }

  void announce() {
    try {
      announce_repo();
    } catch (const Error& e) {
      plan_.notes.push_back(std::string("the announcement or state cannot be published: ") +
                            e.what());
    }
  }

  void announce_repo() {
    RepoAnnouncement a;
    a.d = repo_.d();
    a.name = repo_.name;
    a.description = repo_.description;
    if (!repo_.web_url.empty()) a.web.push_back(repo_.web_url);
    a.clone = repo_.clone_urls;
    a.relays = opt_.relays;
    a.maintainers = repo_.maintainers;
    a.earliest_commit = repo_.earliest_commit;
    Event ann = repository_announcement(a, opt_.now);
    if (auto d = digest_of_tags(ann); d != plan_.record.announcement) {
      add(std::move(ann));
      plan_.record.announcement = d;
    }
    RepoState s;
    s.d = repo_.d();
    s.refs = repo_.refs;
    if (s.refs.size() > kMaxTags - 2) {  // one state event holds so many refs: branches first
      plan_.notes.push_back(std::to_string(s.refs.size()) + " refs: only the first " +
                            std::to_string(kMaxTags - 2) + " are in the state event");
      s.refs.resize(kMaxTags - 2);
    }
    if (!repo_.default_branch.empty()) s.head = "refs/heads/" + repo_.default_branch;
    Event st = repository_state(s, opt_.now);
    if (auto d = digest_of_tags(st); d != plan_.record.state) {
      add(std::move(st));
      plan_.record.state = d;
    }
  }

  // A status event for `item` when `wanted` differs from what was last published.
  void status(PublishedItem& item, const std::string& wanted, int64_t at,
              const std::string& merge_commit = "") {
    if (item.root.empty() || item.status == wanted) return;
    StatusOut s;
    s.root_event = item.root;
    s.repo_address = address_;
    s.repo_owner = opt_.pubkey;
    s.root_author = item.root_author;
    if (wanted == "merged") {
      s.kind = kStatusApplied;
      s.merge_commit = merge_commit;
      s.content = "Merged on Guts as " + merge_commit;
    } else if (wanted == "closed") {
      s.kind = kStatusClosed;
      s.content = "Closed on Guts";
    } else if (wanted == "draft") {
      s.kind = kStatusDraft;
      s.content = "Marked as a draft on Guts";
    } else {
      s.kind = kStatusOpen;
      s.content = "Open on Guts";
    }
    add(status_event(s, at > 0 ? at : opt_.now));
    item.status = wanted;
  }

  // One item's events; an item NIP-34 cannot carry is noted and recorded as skipped, so it
  // neither stops the repository's other items nor is tried again every round.
  template <typename Item, typename Fn>
  void guarded(const Item& item, const char* what, Fn fn) {
    const size_t events = plan_.events.size();
    try {
      fn();
    } catch (const Error& e) {
      plan_.events.resize(events);  // no half of a series
      const std::string key = std::string(what) + "/" + std::to_string(item.number);
      plan_.notes.push_back(key + " is not published: " + e.what());
      PublishedItem skipped;
      skipped.status = "skipped";
      if constexpr (std::is_same_v<Item, ForgePull>) skipped.head = item.head_sha;
      plan_.record.items[key] = skipped;
    }
  }

  void plan_issue(const ForgeIssue& issue) {
    const std::string key = "issue/" + std::to_string(issue.number);
    auto it = plan_.record.items.find(key);
    if (it == plan_.record.items.end()) {
      PublishedItem item;
      if (auto origin = bridge_origin(issue.by_bridge, issue.body)) {
        item.root = origin->event_id;
        item.root_author = origin->author;
      } else {
        IssueOut out;
        out.repo_address = address_;
        out.repo_owner = opt_.pubkey;
        out.subject = cut_utf8(issue.title, kMaxSubjectBytes);
        out.content = issue.body;
        for (const auto& l : issue.labels)
          if (l.size() <= kMaxLabelBytes && out.labels.size() < kMaxLabels) out.labels.push_back(l);
        item.root = add(issue_event(out, issue.created_at));
        item.root_author = opt_.pubkey;
      }
      item.status = "open";
      it = plan_.record.items.emplace(key, std::move(item)).first;
    }
    status(it->second, issue.open ? "open" : "closed", issue.open ? opt_.now : issue.closed_at);
  }

  // One patch series (a root or a revision of `revision_of`); the id of its first patch.
  std::string series(const ForgePull& pull, const std::string& revision_of, int64_t at) {
    std::string first, previous;
    for (size_t i = 0; i < pull.patches.size(); ++i) {
      const auto& patch = pull.patches[i];
      PatchOut out;
      out.repo_address = address_;
      out.repo_owner = opt_.pubkey;
      out.earliest_commit = repo_.earliest_commit;
      out.patch = patch.text;
      out.commit = patch.commit;
      out.parent_commit = patch.parent;
      if (i == 0) {
        out.root = revision_of.empty();
        out.root_revision = !revision_of.empty();
        out.reply_to = revision_of;
      } else {
        out.reply_to = previous;
      }
      previous = add(patch_event(out, at));
      if (i == 0) first = previous;
    }
    return first;
  }

  void plan_pull(const ForgePull& pull) {
    const std::string key = "pull/" + std::to_string(pull.number);
    auto it = plan_.record.items.find(key);
    const auto origin = bridge_origin(pull.by_bridge, pull.body);
    if (it != plan_.record.items.end() && it->second.status == "skipped" &&
        it->second.head == pull.head_sha)
      return;  // could not be published at this head
    if (it == plan_.record.items.end() || (it->second.root.empty() && !origin)) {
      PublishedItem item;
      if (origin) {
        item.root = origin->event_id;
        item.root_author = origin->author;
      } else if (pull.patches.empty()) {
        plan_.notes.push_back("pull request #" + std::to_string(pull.number) +
                              ": its commits are not available yet");
        return;
      } else if (pull.patches.size() > opt_.max_patches) {
        plan_.notes.push_back("pull request #" + std::to_string(pull.number) + ": " +
                              std::to_string(pull.patches.size()) +
                              " commits, more than a published series may hold");
        item.head = pull.head_sha;  // not again until the head changes
        item.status = "skipped";
        plan_.record.items[key] = item;
        return;
      } else {
        item.root = series(pull, "", pull.created_at);
        item.root_author = opt_.pubkey;
      }
      item.head = pull.head_sha;
      item.status = "open";
      it = plan_.record.items.insert_or_assign(key, std::move(item)).first;
    } else if (!origin && pull.open && !pull.head_sha.empty() && pull.head_sha != it->second.head &&
               !pull.patches.empty() && pull.patches.size() <= opt_.max_patches) {
      // New commits: a revision of the series, replying to the original root (NIP-34).
      series(pull, it->second.root, opt_.now);
      it->second.head = pull.head_sha;
    }
    if (pull.merged) {
      status(it->second, "merged", pull.merged_at, pull.merge_commit);
    } else if (!pull.open) {
      status(it->second, "closed", pull.closed_at);
    } else {
      status(it->second, pull.draft ? "draft" : "open", opt_.now);
    }
  }

  const ForgeRepo& repo_;
  const PlanOptions& opt_;
  const std::string address_;
  Plan plan_;
};

}  // namespace

Plan plan_repo(const ForgeRepo& repo, const RepoRecord& before, const PlanOptions& options) {
  return Planner(repo, before, options).run();
}

std::string cut_utf8(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xc0) == 0x80) --n;
  s.resize(n);
  return s;
}

std::optional<Origin> bridge_origin(bool by_bridge, std::string_view body) {
  if (!by_bridge) return std::nullopt;
  return parse_origin(body);
}

bool patches_needed(const RepoRecord& record, uint64_t number, const std::string& head_sha,
                    bool open, bool from_nostr) {
  if (from_nostr) return false;
  auto it = record.items.find("pull/" + std::to_string(number));
  if (it == record.items.end() || it->second.root.empty())
    return it == record.items.end() || it->second.head != head_sha;
  // Published: a new head of an open pull request is a revision.
  return open && it->second.head != head_sha;
}

}  // namespace guts::nostr
