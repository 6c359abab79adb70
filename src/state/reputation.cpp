#include "state/reputation.h"

#include <algorithm>

#include "codec/codec.h"
#include "crypto/did.h"
#include "state/kv.h"
#include "state/rejections.h"
#include "state/tx.h"
#include "state/view.h"

namespace guts::state {

using storage::be64;
using storage::read_be64;

namespace reputation {

namespace {

using reject::denied;
using reject::invalid;
using reject::not_found;

void put_counts(codec::Writer& w, const Counts& c) {
  w.varint(c.merged_prs).varint(c.approvals).varint(c.issues_completed);
}
Counts get_counts(codec::Reader& r) {
  Counts c;
  c.merged_prs = r.varint();
  c.approvals = r.varint();
  c.issues_completed = r.varint();
  return c;
}
std::string encode_identity(const Identity& x) {
  codec::Writer w;
  w.varint(x.registered_height).varint(x.registered_ms);
  put_counts(w, x.counts);
  return {w.data().begin(), w.data().end()};
}
Identity decode_identity(std::string_view v) {
  codec::Reader r(as_bytes(v));
  Identity x;
  x.registered_height = r.varint();
  x.registered_ms = r.varint();
  x.counts = get_counts(r);
  r.finish();
  return x;
}
std::string encode_counts(const Counts& c) {
  codec::Writer w;
  put_counts(w, c);
  return {w.data().begin(), w.data().end()};
}
Counts decode_counts(std::string_view v) {
  codec::Reader r(as_bytes(v));
  Counts c = get_counts(r);
  r.finish();
  return c;
}
std::string encode_limit(const InteractionLimit& l) {
  codec::Writer w;
  w.u8(l.limit).varint(l.min_reputation).varint(l.expires_ms).fixed(l.set_by).varint(l.set_ms);
  return {w.data().begin(), w.data().end()};
}
InteractionLimit decode_limit(std::string_view v) {
  codec::Reader r(as_bytes(v));
  InteractionLimit l;
  l.limit = r.u8();
  l.min_reputation = r.varint();
  l.expires_ms = r.varint();
  l.set_by = r.fixed<32>();
  l.set_ms = r.varint();
  r.finish();
  return l;
}
std::string credit_key(uint64_t repo_id, uint64_t number) {
  return "Zc" + be64(repo_id) + be64(number);
}

// Adds one to a component of the identity's global and per-repository counts.
void credit(const Schema& s, Overlay& state, const crypto::PublicKey& who, uint64_t repo_id,
            uint64_t Counts::*component) {
  StateView view(s, state);
  auto stored = identity(view, who);
  Identity id = stored.value_or(Identity{});
  if (!stored)  // registered before reputation existed: the account gives the time
    if (auto acct = view.account(who)) id.registered_ms = acct->registered_ms;
  id.counts.*component += 1;
  state.put(s.governance, identity_key(who), encode_identity(id));
  Counts c = repo_counts(view, who, repo_id);
  c.*component += 1;
  state.put(s.governance, repo_counts_key(who, repo_id), encode_counts(c));
}

// The repository a limited collaboration transaction acts on; nullopt for the others.
std::optional<uint64_t> limited_repo(const Transaction& tx) {
  return std::visit(
      [](const auto& b) -> std::optional<uint64_t> {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, CreateIssue> || std::is_same_v<T, OpenPullRequest> ||
                      std::is_same_v<T, CreateComment> || std::is_same_v<T, SubmitReview> ||
                      std::is_same_v<T, CreateReviewComment> || std::is_same_v<T, SetReaction>)
          return b.repo_id;
        else
          return std::nullopt;
      },
      tx.body);
}

}  // namespace

std::string identity_key(const crypto::PublicKey& who) {
  return "Zg" + key_of(who);
}
std::string repo_counts_key(const crypto::PublicKey& who, uint64_t repo_id) {
  return "Zr" + key_of(who) + be64(repo_id);
}
std::string limit_key(uint64_t repo_id) {
  return "Zl" + be64(repo_id);
}

Score score_of(const Counts& counts, std::optional<uint64_t> age_days) {
  Score s;
  s.counts = counts;
  s.merged_pr_points = kWeightMergedPr * std::min(counts.merged_prs, kCapMergedPrs);
  s.approval_points = kWeightApproval * std::min(counts.approvals, kCapApprovals);
  s.issue_points = kWeightIssue * std::min(counts.issues_completed, kCapIssues);
  if (age_days) {
    s.age_days = *age_days;
    s.age_points = std::min(*age_days, kCapAgeDays);
  }
  s.total = s.merged_pr_points + s.approval_points + s.issue_points + s.age_points;
  return s;
}

std::optional<Identity> identity(const StateView& view, const crypto::PublicKey& who) {
  auto v = view.kv().get(view.schema().governance, identity_key(who));
  if (!v) return std::nullopt;
  return decode_identity(*v);
}

Counts repo_counts(const StateView& view, const crypto::PublicKey& who, uint64_t repo_id) {
  auto v = view.kv().get(view.schema().governance, repo_counts_key(who, repo_id));
  return v ? decode_counts(*v) : Counts{};
}

std::vector<std::pair<uint64_t, Counts>> repos_of(const StateView& view,
                                                  const crypto::PublicKey& who) {
  std::vector<std::pair<uint64_t, Counts>> out;
  std::string prefix = "Zr" + key_of(who);
  view.kv().scan_prefix(view.schema().governance, prefix,
                        [&](std::string_view k, std::string_view v) {
                          if (k.size() == prefix.size() + 8)
                            out.emplace_back(read_be64(k.substr(prefix.size())), decode_counts(v));
                          return true;
                        });
  return out;
}

Score global_score(const StateView& view, const crypto::PublicKey& who, uint64_t now_ms,
                   uint64_t height) {
  auto id = identity(view, who);
  auto acct = view.account(who);
  if (!acct && !id) return score_of({}, 0);
  uint64_t since = acct ? acct->registered_ms : id->registered_ms;
  Score s = score_of(id ? id->counts : Counts{}, now_ms > since ? (now_ms - since) / kAgeDayMs : 0);
  if (id && height > id->registered_height) s.age_blocks = height - id->registered_height;
  return s;
}

Score repo_score(const StateView& view, const crypto::PublicKey& who, uint64_t repo_id) {
  return score_of(repo_counts(view, who, repo_id), std::nullopt);
}

void on_register(const Schema& s, Overlay& state, const crypto::PublicKey& who, uint64_t height,
                 uint64_t now_ms) {
  StateView view(s, state);
  Identity id = identity(view, who).value_or(Identity{});
  id.registered_height = height;
  id.registered_ms = now_ms;
  state.put(s.governance, identity_key(who), encode_identity(id));
}

void on_merge(const Schema& s, Overlay& state, const Issue& pr, const crypto::PublicKey& merger) {
  StateView view(s, state);
  // The author: only when someone else merged (a merge is someone vouching for the work).
  if (pr.author != merger) credit(s, state, pr.author, pr.repo_id, &Counts::merged_prs);
  // Reviewers whose last verdict (approve, request changes, dismissed) was an approval.
  std::map<crypto::PublicKey, uint8_t> last;
  for (const auto& r : view.reviews_of(pr.repo_id, pr.number))
    if (r.state != kReviewComment) last[r.author] = r.state;
  for (const auto& [who, st] : last)
    if (st == kReviewApprove && who != pr.author)
      credit(s, state, who, pr.repo_id, &Counts::approvals);
}

void on_issue_state(const Schema& s, Overlay& state, const Issue& issue, uint8_t old_state,
                    const crypto::PublicKey& closer) {
  if (issue.is_pull || old_state != kIssueOpen || issue.state != kIssueClosed) return;
  if (issue.state_reason != kReasonCompleted || issue.author == closer) return;
  auto key = credit_key(issue.repo_id, issue.number);
  if (state.get(s.governance, key)) return;  // credited once; reopening does not take it back
  state.put(s.governance, key, "");
  credit(s, state, issue.author, issue.repo_id, &Counts::issues_completed);
}

std::optional<InteractionLimit> interaction_limit(const StateView& view, uint64_t repo_id,
                                                  uint64_t now_ms) {
  auto v = view.kv().get(view.schema().governance, limit_key(repo_id));
  if (!v) return std::nullopt;
  auto l = decode_limit(*v);
  if (l.expires_ms != 0 && l.expires_ms <= now_ms) return std::nullopt;
  return l;
}

Status check_interaction(const StateView& view, const Transaction& tx, uint64_t now_ms,
                         uint64_t height) {
  auto repo_id = limited_repo(tx);
  if (!repo_id) return Status::Ok();
  auto limit = interaction_limit(view, *repo_id, now_ms);
  if (!limit) return Status::Ok();
  auto repo = view.repo(*repo_id);
  if (!repo) return Status::Ok();
  auto perm = view.permission(*repo, tx.author);
  // Unseen repositories answer 404 through the transaction's own rules; writers are exempt.
  if (perm == Permission::kNone || perm >= Permission::kWrite) return Status::Ok();
  std::string until =
      limit->expires_ms ? " (until " + std::to_string(limit->expires_ms) + " ms)" : "";
  if (limit->limit == kLimitCollaboratorsOnly)
    return denied(
        "interaction limit: only collaborators with write permission can open issues or pull "
        "requests, comment, review or react on this repository" +
        until);
  auto score = global_score(view, tx.author, now_ms, height);
  if (score.total >= limit->min_reputation) return Status::Ok();
  return denied("interaction limit: this repository requires a reputation of at least " +
                std::to_string(limit->min_reputation) +
                " to open issues or pull requests, comment, review or react (yours is " +
                std::to_string(score.total) +
                "; collaborators with write permission are exempt; docs/reputation.md)" + until);
}

Status apply_set_interaction_limit(const Schema& s, Overlay& state, const Transaction& tx,
                                   const SetInteractionLimit& b, uint64_t now_ms) {
  StateView view(s, state);
  auto repo = view.repo(b.repo_id);
  if (!repo) return not_found("repository " + std::to_string(b.repo_id) + " does not exist");
  auto perm = view.permission(*repo, tx.author);
  if (perm == Permission::kNone)
    return not_found("repository " + std::to_string(b.repo_id) + " does not exist");
  if (perm < Permission::kAdmin) return denied("requires admin permission on the repository");
  if (b.limit > kLimitCustom)
    return invalid("limit: must be existing_users, contributors_only or collaborators_only");
  if (b.limit == kLimitNone) {
    if (b.min_reputation || b.expires_ms)
      return invalid("limit: removing a limit takes no min_reputation or expiry");
    state.del(s.governance, limit_key(b.repo_id));
    return Status::Ok();
  }
  if (b.limit == kLimitCollaboratorsOnly && b.min_reputation != 0)
    return invalid("min_reputation: collaborators_only takes no minimum");
  if (b.limit != kLimitCollaboratorsOnly &&
      (b.min_reputation == 0 || b.min_reputation > kMaxMinReputation))
    return invalid("min_reputation: must be between 1 and " + std::to_string(kMaxMinReputation));
  if (b.expires_ms != 0 && b.expires_ms <= now_ms) return invalid("expiry: must be in the future");
  InteractionLimit l{b.limit, b.min_reputation, b.expires_ms, tx.author, now_ms};
  state.put(s.governance, limit_key(b.repo_id), encode_limit(l));
  return Status::Ok();
}

// ---- the door ----

DoorLimiter::DoorLimiter(DoorLimitOptions options, size_t max_tracked)
    : options_(options), max_tracked_(std::max<size_t>(1, max_tracked)) {}

uint64_t DoorLimiter::refilled(const Bucket& b, TimePoint now) const {
  uint64_t cap = options_.burst * kTick;
  if (now <= b.last) return b.ticks;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - b.last).count();
  uint64_t elapsed = static_cast<uint64_t>(ms);
  // Saturate before multiplying: a long idle time fills the bucket.
  if (elapsed >= cap / options_.per_minute + 1) return cap;
  return std::min(cap, b.ticks + elapsed * options_.per_minute);
}

std::optional<std::chrono::milliseconds> DoorLimiter::take(const crypto::PublicKey& who,
                                                           TimePoint now) {
  auto it = buckets_.find(who);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_tracked_) {
      // Forget the identities whose bucket is full again: they lose nothing.
      for (auto b = buckets_.begin(); b != buckets_.end();)
        b = refilled(b->second, now) >= options_.burst * kTick ? buckets_.erase(b) : std::next(b);
      if (buckets_.size() >= max_tracked_) buckets_.clear();
    }
    it = buckets_.emplace(who, Bucket{options_.burst * kTick, now}).first;
  }
  Bucket& b = it->second;
  // Whole milliseconds only: the remainder of a partial millisecond stays for the next call.
  uint64_t ticks = refilled(b, now);
  if (now > b.last) b.last += std::chrono::duration_cast<std::chrono::milliseconds>(now - b.last);
  b.ticks = ticks;
  if (b.ticks >= kTick) {
    b.ticks -= kTick;
    return std::nullopt;
  }
  uint64_t missing = kTick - b.ticks;
  return std::chrono::milliseconds((missing + options_.per_minute - 1) / options_.per_minute);
}

Status rate_limited(const Score& score, uint64_t min_reputation, std::chrono::milliseconds wait) {
  uint64_t secs = static_cast<uint64_t>((wait.count() + 999) / 1000);
  if (secs == 0) secs = 1;
  return {Code::kRateLimited,
          "too many transactions from this identity: its reputation (" +
              std::to_string(score.total) + ") is below this node's threshold (" +
              std::to_string(min_reputation) + "), which limits its rate; retry after " +
              std::to_string(secs) + " s"};
}

}  // namespace reputation
}  // namespace guts::state
