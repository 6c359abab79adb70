// Reputation (docs/reputation.md): the score of an identity, globally and per repository, and
// GitHub's repository interaction limits (state/reputation.h, tx kind 41), whose thresholds are
// reputation. Reads come from the finalized state at the head; writes are one transaction.
#include "api/auth.h"
#include "api/collab_common.h"
#include "api/github.h"
#include "api/routes.h"
#include "core/time.h"
#include "crypto/did.h"
#include "state/permission.h"
#include "state/reputation.h"

namespace guts::api {

using collab::caller;
using collab::read_body;
using collab::submit;
namespace rep = state::reputation;

namespace {

json component(uint64_t count, uint64_t weight, uint64_t cap, uint64_t points) {
  return {{"count", count}, {"weight", weight}, {"cap", cap}, {"points", points}};
}

json components_json(const rep::Score& s, bool with_age) {
  json j = {
      {"merged_pull_requests", component(s.counts.merged_prs, rep::kWeightMergedPr,
                                         rep::kCapMergedPrs, s.merged_pr_points)},
      {"approving_reviews",
       component(s.counts.approvals, rep::kWeightApproval, rep::kCapApprovals, s.approval_points)},
      {"issues_completed",
       component(s.counts.issues_completed, rep::kWeightIssue, rep::kCapIssues, s.issue_points)},
  };
  if (with_age)
    j["age"] = {{"days", s.age_days},
                {"blocks", s.age_blocks},
                {"weight", 1},
                {"cap", rep::kCapAgeDays},
                {"points", s.age_points}};
  return j;
}

std::string full_name(const state::StateView& view, const state::Repo& r) {
  auto owner = view.account(r.owner);
  return (owner ? owner->username : crypto::did_from_key(r.owner)) + "/" + r.name;
}

// GET /api/guts/reputation/{username}: the global score and one entry per repository the
// identity has counts in (those the caller can read).
void get_reputation(Services& svc, Request& req, Responder respond) {
  auto view = svc.chain().view();
  auto acct = view.account_by_username(req.param("username"));
  if (!acct) return respond(error_response(404, "Not Found"));
  auto head = svc.chain().head();
  auto s = rep::global_score(view, acct->key, head.timestamp_ms, head.height);
  json repos = json::array();
  for (const auto& [id, counts] : rep::repos_of(view, acct->key)) {
    auto r = view.repo(id);
    if (!r || state::effective_permission(view, *r, caller(req)) == state::Permission::kNone)
      continue;
    auto rs = rep::score_of(counts, std::nullopt);
    repos.push_back({{"id", id},
                     {"full_name", full_name(view, *r)},
                     {"score", rs.total},
                     {"components", components_json(rs, false)}});
  }
  respond(json_response(200, {{"login", acct->username},
                              {"did", crypto::did_from_key(acct->key)},
                              {"score", s.total},
                              {"components", components_json(s, true)},
                              {"repositories", repos},
                              {"height", head.height},
                              {"as_of", iso8601(head.timestamp_ms)}}));
}

// GET /api/guts/repos/{owner}/{repo}/reputation?user=LOGIN
void get_repo_reputation(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  auto login = req.query_param("user");
  if (!login || login->empty())
    return respond(validation_failed("Reputation", "user", "missing_field", "user is required"));
  auto view = svc.chain().view();
  auto acct = view.account_by_username(*login);
  if (!acct) return respond(error_response(404, "Not Found"));
  auto head = svc.chain().head();
  auto rs = rep::repo_score(view, acct->key, ctx.repo.id);
  auto gs = rep::global_score(view, acct->key, head.timestamp_ms, head.height);
  auto limit = rep::interaction_limit(view, ctx.repo.id, head.timestamp_ms);
  auto perm = state::effective_permission(view, ctx.repo, acct->key);
  bool exempt = perm >= state::Permission::kWrite;
  bool allowed =
      exempt || !limit ||
      (limit->limit != state::kLimitCollaboratorsOnly && gs.total >= limit->min_reputation);
  respond(json_response(200, {{"login", acct->username},
                              {"repository", full_name(view, ctx.repo)},
                              {"score", rs.total},
                              {"components", components_json(rs, false)},
                              {"global_score", gs.total},
                              {"interaction_allowed", allowed},
                              {"height", head.height}}));
}

// GitHub's interaction-limit object (Guts adds min_reputation); {} when there is none.
json limit_json(const std::optional<rep::InteractionLimit>& l) {
  if (!l) return json::object();
  json j = {{"limit", state::interaction_limit_name(l->limit)},
            {"origin", "repository"},
            {"expires_at", l->expires_ms ? json(iso8601(l->expires_ms)) : json(nullptr)},
            {"min_reputation", l->min_reputation}};
  return j;
}

// GET /repos/{owner}/{repo}/interaction-limits
void get_limits(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  auto view = svc.chain().view();
  respond(json_response(
      200, limit_json(rep::interaction_limit(view, ctx.repo.id, svc.chain().head().timestamp_ms))));
}

std::optional<uint64_t> expiry_ms(const std::string& e) {
  constexpr uint64_t day = rep::kAgeDayMs;
  if (e == "one_day") return day;
  if (e == "three_days") return 3 * day;
  if (e == "one_week") return 7 * day;
  if (e == "one_month") return 30 * day;
  if (e == "six_months") return 182 * day;
  if (e == "never") return 0;  // Guts
  return std::nullopt;
}

// PUT /repos/{owner}/{repo}/interaction-limits {limit, expiry?, min_reputation?}
void set_limits(Services& svc, Request& req, Responder respond) {
  auto body = read_body(req, respond, "InteractionLimit",
                        {{"limit", BodyField::kString, true},
                         {"expiry", BodyField::kString},
                         {"min_reputation", BodyField::kUnsigned}});
  if (!body) return;
  const auto& ctx = repo_context(req);
  auto limit = state::interaction_limit_of(*string_field(*body, "limit"));
  if (!limit || *limit == state::kLimitCustom)
    return respond(
        validation_failed("InteractionLimit", "limit", "invalid",
                          "limit must be existing_users, contributors_only or collaborators_only"));
  auto expiry = expiry_ms(string_field(*body, "expiry").value_or("one_day"));
  if (!expiry)
    return respond(
        validation_failed("InteractionLimit", "expiry", "invalid",
                          "expiry must be one_day, three_days, one_week, one_month, six_months "
                          "or never"));
  state::SetInteractionLimit b;
  b.repo_id = ctx.repo.id;
  b.limit = *limit;
  b.min_reputation = state::default_min_reputation(*limit);
  if (body->contains("min_reputation") && !(*body)["min_reputation"].is_null()) {
    if (*limit == state::kLimitCollaboratorsOnly)
      return respond(validation_failed("InteractionLimit", "min_reputation", "invalid",
                                       "collaborators_only takes no min_reputation"));
    b.min_reputation = (*body)["min_reputation"].get<uint64_t>();
  }
  b.expires_ms = *expiry ? unix_millis() + *expiry : 0;
  uint64_t repo_id = ctx.repo.id;
  submit(svc, req, std::move(respond), b, "InteractionLimit",
         [&svc, repo_id](const state::TxOutcome&) {
           auto view = svc.chain().view();
           return json_response(200, limit_json(rep::interaction_limit(
                                         view, repo_id, svc.chain().head().timestamp_ms)));
         });
}

// DELETE /repos/{owner}/{repo}/interaction-limits
void clear_limits(Services& svc, Request& req, Responder respond) {
  const auto& ctx = repo_context(req);
  submit(svc, req, std::move(respond),
         state::SetInteractionLimit{ctx.repo.id, state::kLimitNone, 0, 0}, "InteractionLimit",
         collab::no_content);
}

const RouteSpec<Services> kGutsReputationRoutes[] = {
    {"GET", "/reputation/{username}", "public", &get_reputation},
    {"GET", "/repos/{owner}/{repo}/reputation", "repo:read", &get_repo_reputation},
};

const RouteSpec<Services> kInteractionLimitRoutes[] = {
    {"GET", "/interaction-limits", "repo:read", &get_limits},
    {"PUT", "/interaction-limits", "repo:admin", &set_limits},
    {"DELETE", "/interaction-limits", "repo:admin", &clear_limits},
};

}  // namespace

void add_reputation_routes(Router& router, Services& svc) {
  add_routes(router, svc, "/api/guts", kGutsReputationRoutes);
  add_routes(router, svc, "/api/v3/repos/{owner}/{repo}", kInteractionLimitRoutes);
}

}  // namespace guts::api
