// Live events derived from a finalized block (api/live_events.h, docs/events.md).
#include "api/live_events.h"

#include <nlohmann/json.hpp>
#include <type_traits>
#include <variant>

#include "core/bytes.h"
#include "core/time.h"
#include "state/collab.h"

namespace guts::api {

namespace {

using json = nlohmann::ordered_json;

constexpr size_t kMaxBodyInEvent = 4096;  // a comment's body is cut here ("truncated": true)

std::string oid_hex(const Bytes& oid) {
  return oid.empty() ? std::string(40, '0') : hex_encode(oid);
}

// Cuts at a UTF-8 character boundary at most `max` bytes in.
std::string cut_utf8(const std::string& s, size_t max, bool* cut) {
  *cut = s.size() > max;
  if (!*cut) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

class Builder {
 public:
  Builder(const state::Block& block, const state::StateView& view) : block_(block), view_(view) {}

  void block_event() {
    json b{{"height", block_.header.height},
           {"id", hex_encode(block_.id())},
           {"timestamp", iso8601(block_.header.timestamp_ms)},
           {"txs", block_.txs.size()}};
    add(0, "block", json{{"block", std::move(b)}});
  }

  void tx(const state::Transaction& tx) {
    std::visit([&](const auto& b) { body(tx, b); }, tx.body);
  }

  std::vector<LiveEvent> take() { return std::move(out_); }

 private:
  // The fields every repository event has: repo, actor.
  struct Repo {
    uint64_t id = 0;
    std::string full_name;
    bool is_private = false;
  };
  std::optional<Repo> repo(uint64_t id) {
    auto r = view_.repo(id);
    if (!r) return std::nullopt;
    auto owner = view_.account(r->owner);
    if (!owner) return std::nullopt;
    return Repo{r->id, owner->username + "/" + r->name, r->is_private};
  }
  std::string login(const crypto::PublicKey& key) {
    auto a = view_.account(key);
    return a ? a->username : std::string();
  }
  void add(uint64_t repo_id, std::string type, json fields) {
    LiveEvent e;
    e.height = block_.header.height;
    e.index = static_cast<uint32_t>(out_.size());
    e.repo_id = repo_id;
    e.type = type;
    json j{{"id", std::to_string(e.height) + "." + std::to_string(e.index)},
           {"height", e.height},
           {"type", std::move(type)}};
    for (auto& [k, v] : fields.items()) j[k] = std::move(v);
    e.json = j.dump(-1, ' ', false, json::error_handler_t::replace);
    out_.push_back(std::move(e));
  }
  void add_repo(const Repo& r, const state::Transaction& tx, std::string type, json fields) {
    json j{{"repo", r.full_name}, {"private", r.is_private}, {"actor", login(tx.author)}};
    for (auto& [k, v] : fields.items()) j[k] = std::move(v);
    add(r.id, std::move(type), std::move(j));
  }
  // "issue" or "pull" and the issue's summary.
  std::optional<std::pair<std::string, json>> issue(uint64_t repo_id, uint64_t number) {
    auto i = view_.issue(repo_id, number);
    if (!i) return std::nullopt;
    json j{{"number", i->number},
           {"title", i->title},
           {"state", i->state == state::kIssueOpen ? "open" : "closed"},
           {"pull", i->is_pull}};
    return std::pair<std::string, json>{i->is_pull ? "pull" : "issue", std::move(j)};
  }

  template <class T>
  void body(const state::Transaction&, const T&) {}

  void body(const state::Transaction& tx, const state::UpdateRefs& b) {
    auto r = repo(b.repo_id);
    if (!r) return;
    for (const auto& ch : b.changes) {
      bool branch = ch.ref.rfind("refs/heads/", 0) == 0, tag = ch.ref.rfind("refs/tags/", 0) == 0;
      std::string ref_type = branch ? "branch" : tag ? "tag" : "ref";
      if (ch.old_oid.empty())
        add_repo(*r, tx, "ref.created",
                 {{"ref", ch.ref}, {"ref_type", ref_type}, {"sha", oid_hex(ch.new_oid)}});
      if (ch.new_oid.empty())
        add_repo(*r, tx, "ref.deleted",
                 {{"ref", ch.ref}, {"ref_type", ref_type}, {"sha", oid_hex(ch.old_oid)}});
      else
        add_repo(*r, tx, "push",
                 {{"ref", ch.ref},
                  {"before", oid_hex(ch.old_oid)},
                  {"after", oid_hex(ch.new_oid)},
                  {"forced", b.force}});
    }
  }

  void opened(const state::Transaction& tx, uint64_t repo_id) {
    auto r = repo(repo_id);
    auto number = view_.receipt(tx.id());
    if (!r || !number) return;
    auto i = issue(repo_id, *number);
    if (!i) return;
    add_repo(*r, tx, i->first + ".opened", {{"issue", i->second}});
  }
  void body(const state::Transaction& tx, const state::CreateIssue& b) { opened(tx, b.repo_id); }
  void body(const state::Transaction& tx, const state::OpenPullRequest& b) {
    opened(tx, b.repo_id);
  }

  void body(const state::Transaction& tx, const state::EditIssue& b) {
    auto r = repo(b.repo_id);
    auto i = r ? issue(b.repo_id, b.number) : std::nullopt;
    if (!i) return;
    const std::string& kind = i->first;
    if (b.state)
      add_repo(*r, tx, kind + (*b.state == state::kIssueOpen ? ".reopened" : ".closed"),
               {{"issue", i->second}});
    if (b.title || b.body || b.base || b.draft)
      add_repo(*r, tx, kind + ".edited", {{"issue", i->second}});
    if (b.labels || !b.labels_add.empty() || !b.labels_remove.empty()) {
      json labels = json::array();
      if (auto full = view_.issue(b.repo_id, b.number))
        for (uint64_t id : full->labels)
          if (auto l = view_.label(b.repo_id, id)) labels.push_back(l->name);
      add_repo(*r, tx, kind + ".labeled", {{"issue", i->second}, {"labels", std::move(labels)}});
    }
    if (b.assignees || !b.assignees_add.empty() || !b.assignees_remove.empty())
      add_repo(*r, tx, kind + ".assigned", {{"issue", i->second}});
    if (b.milestone) add_repo(*r, tx, kind + ".milestoned", {{"issue", i->second}});
    if (!b.reviewers_add.empty()) {
      json who = json::array();
      for (const auto& k : b.reviewers_add) who.push_back(login(k));
      add_repo(*r, tx, "pull.review_requested", {{"issue", i->second}, {"reviewers", who}});
    }
  }

  void comment_event(const state::Transaction& tx, uint64_t repo_id, uint64_t number,
                     const std::string& type, std::optional<uint64_t> comment_id) {
    auto r = repo(repo_id);
    auto i = r ? issue(repo_id, number) : std::nullopt;
    if (!i) return;
    json fields{{"issue", i->second}};
    if (comment_id) {
      auto c = view_.comment(*comment_id);
      if (!c) return;
      bool cut = false;
      json cj{{"id", c->id},
              {"user", login(c->author)},
              {"body", cut_utf8(c->body, kMaxBodyInEvent, &cut)},
              {"created_at", iso8601(c->created_ms)}};
      if (cut) cj["truncated"] = true;
      fields["comment"] = std::move(cj);
    }
    add_repo(*r, tx, type, std::move(fields));
  }
  void body(const state::Transaction& tx, const state::CreateComment& b) {
    auto id = view_.receipt(tx.id());
    if (!id) return;
    comment_event(tx, b.repo_id, b.number, "comment.created", id);
  }
  void body(const state::Transaction& tx, const state::EditComment& b) {
    auto c = view_.comment(b.comment_id);
    if (!c) return;
    comment_event(tx, b.repo_id, c->number, "comment.edited", b.comment_id);
  }
  void body(const state::Transaction& tx, const state::MergePullRequest& b) {
    auto r = repo(b.repo_id);
    auto i = r ? issue(b.repo_id, b.number) : std::nullopt;
    if (!i) return;
    add_repo(*r, tx, "pull.merged",
             {{"issue", i->second},
              {"method", state::merge_method_name(b.method)},
              {"merge_sha", oid_hex(b.merge_sha)}});
    if (auto full = view_.issue(b.repo_id, b.number))
      add_repo(*r, tx, "push",
               {{"ref", "refs/heads/" + full->base_ref},
                {"before", oid_hex(b.base_old)},
                {"after", oid_hex(b.merge_sha)},
                {"forced", false}});
  }
  void body(const state::Transaction& tx, const state::SubmitReview& b) {
    auto r = repo(b.repo_id);
    auto i = r ? issue(b.repo_id, b.number) : std::nullopt;
    if (!i) return;
    add_repo(*r, tx, "review.submitted",
             {{"issue", i->second},
              {"state", state::review_state_name(b.event)},
              {"comments", b.comments.size()}});
  }
  void body(const state::Transaction& tx, const state::SetReaction& b) {
    uint64_t number = b.target_id;
    std::optional<uint64_t> comment_id;
    if (b.target_type == state::kReactComment) {
      auto c = view_.comment(b.target_id);
      if (!c) return;
      number = c->number;
      comment_id = c->id;
    }
    auto r = repo(b.repo_id);
    auto i = r ? issue(b.repo_id, number) : std::nullopt;
    if (!i) return;
    json fields{{"issue", i->second}, {"content", b.content}};
    if (comment_id) fields["comment_id"] = *comment_id;
    add_repo(*r, tx, b.remove ? "reaction.deleted" : "reaction.created", std::move(fields));
  }
  void body(const state::Transaction& tx, const state::CreateReviewComment& b) {
    comment_event(tx, b.repo_id, b.number, "review_comment.created", std::nullopt);
  }

  const state::Block& block_;
  const state::StateView& view_;
  std::vector<LiveEvent> out_;
};

}  // namespace

std::vector<LiveEvent> live_events(const state::Block& block, const state::StateView& view) {
  Builder b(block, view);
  b.block_event();
  for (const auto& tx : block.txs) b.tx(tx);
  return b.take();
}

}  // namespace guts::api
