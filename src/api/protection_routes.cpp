// Branch protection and commit statuses in GitHub's REST shapes (docs/governance.md "Branch
// protection"): /repos/{o}/{r}/branches/{branch}/protection (+ /required_signatures),
// /repos/{o}/{r}/statuses/{sha}, /repos/{o}/{r}/commits/{ref}/statuses and .../status. The
// path's {branch} is the rule's pattern (percent-encode '/' and wildcards). Access is declared
// in the table (the middleware answers 404/403); rule validity is the state machine's.
#include <algorithm>

#include "api/auth.h"
#include "api/collab_common.h"
#include "api/github.h"
#include "api/org_shapes.h"
#include "api/routes.h"
#include "core/time.h"
#include "crypto/hash.h"
#include "state/protection.h"

namespace guts::api {

using collab::AppliedFn;
using collab::Shapes;
using collab::submit;

namespace {

constexpr const char* kResource = "BranchProtection";

std::string api_base(Services& svc, const RepoContext& rc) {
  return svc.public_url() + "/api/v3/repos/" + rc.owner.username + "/" + rc.repo.name;
}

json rule_json(Services& svc, const RepoContext& rc, const state::ProtectionRule& r) {
  auto view = svc.chain().view();
  Shapes shapes(svc, rc.repo, rc.owner);
  std::string url = api_base(svc, rc) + "/branches/" + r.pattern + "/protection";
  json j{{"url", url}};
  if (r.require_status_checks) {
    json checks = json::array();
    for (const auto& c : r.contexts) checks.push_back({{"context", c}, {"app_id", nullptr}});
    j["required_status_checks"] = {{"url", url + "/required_status_checks"},
                                   {"strict", r.strict},
                                   {"contexts", r.contexts},
                                   {"checks", checks},
                                   {"contexts_url", url + "/required_status_checks/contexts"}};
  }
  if (r.require_reviews)
    j["required_pull_request_reviews"] = {
        {"url", url + "/required_pull_request_reviews"},
        {"dismiss_stale_reviews", r.dismiss_stale_reviews},
        {"require_code_owner_reviews", r.require_code_owner_reviews},
        {"required_approving_review_count", r.required_approving_review_count}};
  if (r.restrict_pushes) {
    json users = json::array(), teams = json::array();
    for (const auto& u : r.users) users.push_back(shapes.user(u));
    auto org = view.org(rc.repo.owner);
    for (uint64_t id : r.teams)
      if (auto t = view.team(id); t && org)
        teams.push_back(team_json(view, *org, *t, svc.public_url(), false));
    j["restrictions"] = {{"url", url + "/restrictions"},
                         {"users_url", url + "/restrictions/users"},
                         {"teams_url", url + "/restrictions/teams"},
                         {"apps_url", url + "/restrictions/apps"},
                         {"users", users},
                         {"teams", teams},
                         {"apps", json::array()}};
  }
  j["required_signatures"] = {{"url", url + "/required_signatures"},
                              {"enabled", r.required_signatures}};
  j["enforce_admins"] = {{"url", url + "/enforce_admins"}, {"enabled", r.enforce_admins}};
  j["required_linear_history"] = {{"enabled", r.required_linear_history}};
  j["allow_force_pushes"] = {{"enabled", r.allow_force_pushes}};
  j["allow_deletions"] = {{"enabled", r.allow_deletions}};
  j["block_creations"] = {{"enabled", false}};
  j["required_conversation_resolution"] = {{"enabled", false}};
  j["lock_branch"] = {{"enabled", false}};
  j["allow_fork_syncing"] = {{"enabled", false}};
  return j;
}

Response not_protected() {
  return error_response(404, "Branch not protected");
}

Response bad(std::string_view field, std::string_view message) {
  return validation_failed(kResource, field, "invalid", message);
}

// GET /branches/{branch}/protection
void get_protection(Services& svc, Request& req, Responder respond) {
  const auto& rc = repo_context(req);
  auto r = state::protection_rule(svc.chain().view(), rc.repo.id, req.param("branch"));
  if (!r) return respond(not_protected());
  respond(collab::get_response(req, rule_json(svc, rc, *r)));
}

AppliedFn rule_after(Services& svc, RepoContext rc, std::string pattern) {
  return [&svc, rc = std::move(rc), pattern = std::move(pattern)](const state::TxOutcome&) {
    auto r = state::protection_rule(svc.chain().view(), rc.repo.id, pattern);
    if (!r) return not_protected();
    return json_response(200, rule_json(svc, rc, *r));
  };
}

bool is_bool_or_null(const nlohmann::json& j, const char* k) {
  return !j.contains(k) || j[k].is_null() || j[k].is_boolean();
}

// PUT /branches/{branch}/protection: GitHub's body (required_status_checks, enforce_admins,
// required_pull_request_reviews and restrictions required, each may be null).
void put_protection(Services& svc, Request& req, Responder respond) {
  auto body = collab::parse_body(req, respond, kResource);
  if (!body) return;
  const auto& rc = repo_context(req);
  auto view = svc.chain().view();
  state::ProtectionRule r;
  r.repo_id = rc.repo.id;
  r.pattern = req.param("branch");
  if (auto old = state::protection_rule(view, rc.repo.id, r.pattern))
    r.required_signatures = old->required_signatures;
  for (const char* k : {"required_status_checks", "enforce_admins", "required_pull_request_reviews",
                        "restrictions"})
    if (!body->contains(k))
      return respond(
          validation_failed(kResource, k, "missing_field", std::string(k) + " is missing"));
  const auto& checks = (*body)["required_status_checks"];
  if (!checks.is_null()) {
    if (!checks.is_object()) return respond(bad("required_status_checks", "must be an object"));
    r.require_status_checks = true;
    if (checks.contains("strict")) {
      if (!checks["strict"].is_boolean())
        return respond(bad("required_status_checks.strict", "must be a boolean"));
      r.strict = checks["strict"].get<bool>();
    }
    auto add = [&](const nlohmann::json& c) {
      if (c.is_string() &&
          std::find(r.contexts.begin(), r.contexts.end(), c.get<std::string>()) == r.contexts.end())
        r.contexts.push_back(c.get<std::string>());
      return c.is_string();
    };
    if (checks.contains("contexts") && !checks["contexts"].is_null()) {
      if (!checks["contexts"].is_array())
        return respond(bad("required_status_checks.contexts", "must be an array of strings"));
      for (const auto& c : checks["contexts"])
        if (!add(c))
          return respond(bad("required_status_checks.contexts", "must be an array of strings"));
    }
    if (checks.contains("checks") && checks["checks"].is_array())
      for (const auto& c : checks["checks"])
        if (!c.is_object() || !c.contains("context") || !add(c["context"]))
          return respond(bad("required_status_checks.checks", "must be objects with a context"));
    if (r.contexts.size() > state::kMaxStatusContexts)
      return respond(bad("required_status_checks.contexts", "at most 100 contexts"));
  }
  const auto& admins = (*body)["enforce_admins"];
  if (!admins.is_null() && !admins.is_boolean())
    return respond(bad("enforce_admins", "must be a boolean or null"));
  r.enforce_admins = admins.is_boolean() && admins.get<bool>();
  const auto& reviews = (*body)["required_pull_request_reviews"];
  if (!reviews.is_null()) {
    if (!reviews.is_object())
      return respond(bad("required_pull_request_reviews", "must be an object"));
    r.require_reviews = true;
    for (const char* k : {"dismiss_stale_reviews", "require_code_owner_reviews"})
      if (!is_bool_or_null(reviews, k))
        return respond(bad(std::string("required_pull_request_reviews.") + k, "must be a boolean"));
    r.dismiss_stale_reviews = reviews.value("dismiss_stale_reviews", nlohmann::json(false)) == true;
    r.require_code_owner_reviews =
        reviews.value("require_code_owner_reviews", nlohmann::json(false)) == true;
    r.required_approving_review_count = 1;  // GitHub's default when the object is given
    if (reviews.contains("required_approving_review_count")) {
      const auto& n = reviews["required_approving_review_count"];
      if (!n.is_number_integer() || n.get<int64_t>() < 0 || n.get<int64_t>() > 6)
        return respond(bad("required_pull_request_reviews.required_approving_review_count",
                           "must be an integer between 0 and 6"));
      r.required_approving_review_count = static_cast<uint8_t>(n.get<int64_t>());
    }
  }
  const auto& restr = (*body)["restrictions"];
  if (!restr.is_null()) {
    if (!restr.is_object()) return respond(bad("restrictions", "must be an object"));
    auto org = view.org(rc.repo.owner);
    if (!org)
      return respond(bad("restrictions",
                         "Only organization repositories can have users and team restrictions"));
    r.restrict_pushes = true;
    for (const char* k : {"users", "teams"})
      if (restr.contains(k) && !restr[k].is_array())
        return respond(bad(std::string("restrictions.") + k, "must be an array of strings"));
    if (restr.contains("users"))
      for (const auto& u : restr["users"]) {
        auto key = u.is_string() ? collab::user_key(view, u.get<std::string>()) : std::nullopt;
        if (!key)
          return respond(bad(
              "restrictions.users",
              (u.is_string() ? "'" + u.get<std::string>() + "'" : u.dump()) + " is not a user"));
        r.users.push_back(*key);
      }
    if (restr.contains("teams"))
      for (const auto& t : restr["teams"]) {
        auto team =
            t.is_string() ? view.team_by_slug(org->key, t.get<std::string>()) : std::nullopt;
        if (!team)
          return respond(bad("restrictions.teams",
                             (t.is_string() ? "'" + t.get<std::string>() + "'" : t.dump()) +
                                 " is not a team of " + org->login));
        r.teams.push_back(team->id);
      }
  }
  for (const char* k : {"required_linear_history", "allow_force_pushes", "allow_deletions"})
    if (!is_bool_or_null(*body, k)) return respond(bad(k, "must be a boolean"));
  r.required_linear_history = body->value("required_linear_history", nlohmann::json(false)) == true;
  r.allow_force_pushes = body->value("allow_force_pushes", nlohmann::json(false)) == true;
  r.allow_deletions = body->value("allow_deletions", nlohmann::json(false)) == true;
  if (auto e = state::branch_pattern_error(r.pattern); !e.empty()) return respond(bad("branch", e));
  std::string pattern = r.pattern;
  submit(svc, req, std::move(respond), state::SetBranchProtection{std::move(r)}, kResource,
         rule_after(svc, rc, pattern));
}

// DELETE /branches/{branch}/protection
void delete_protection(Services& svc, Request& req, Responder respond) {
  const auto& rc = repo_context(req);
  if (!state::protection_rule(svc.chain().view(), rc.repo.id, req.param("branch")))
    return respond(not_protected());
  submit(svc, req, std::move(respond),
         state::DeleteBranchProtection{rc.repo.id, req.param("branch")}, kResource,
         collab::no_content);
}

json signatures_json(Services& svc, const RepoContext& rc, const state::ProtectionRule& r) {
  return {{"url", api_base(svc, rc) + "/branches/" + r.pattern + "/protection/required_signatures"},
          {"enabled", r.required_signatures}};
}

void get_signatures(Services& svc, Request& req, Responder respond) {
  const auto& rc = repo_context(req);
  auto r = state::protection_rule(svc.chain().view(), rc.repo.id, req.param("branch"));
  if (!r) return respond(not_protected());
  respond(collab::get_response(req, signatures_json(svc, rc, *r)));
}

void set_signatures(Services& svc, Request& req, Responder respond, bool enabled) {
  const auto& rc = repo_context(req);
  auto r = state::protection_rule(svc.chain().view(), rc.repo.id, req.param("branch"));
  if (!r) return respond(not_protected());
  r->required_signatures = enabled;
  r->updated_ms = 0;
  std::string pattern = r->pattern;
  submit(svc, req, std::move(respond), state::SetBranchProtection{*r}, kResource,
         [&svc, rc, pattern, enabled](const state::TxOutcome&) -> Response {
           auto now = state::protection_rule(svc.chain().view(), rc.repo.id, pattern);
           if (!now) return not_protected();
           if (!enabled) return Response::json(204, "");
           return json_response(200, signatures_json(svc, rc, *now));
         });
}
void post_signatures(Services& svc, Request& req, Responder respond) {
  set_signatures(svc, req, std::move(respond), true);
}
void delete_signatures(Services& svc, Request& req, Responder respond) {
  set_signatures(svc, req, std::move(respond), false);
}

// ---- commit statuses ----

// A stable id for (repository, sha, context): JavaScript-safe (53 bits).
uint64_t status_id(const state::CommitStatus& s) {
  auto d = crypto::sha256(state::commit_status_key(s.repo_id, s.sha, s.context));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | d[i];
  return (v & ((uint64_t{1} << 53) - 1)) | 1;
}

json status_json(Shapes& shapes, const std::string& api, const state::CommitStatus& s) {
  return {{"url", api + "/statuses/" + hex_encode(s.sha)},
          {"id", status_id(s)},
          {"node_id", "S_" + std::to_string(status_id(s))},
          {"state", state::status_state_name(s.state)},
          {"description", s.description.empty() ? json(nullptr) : json(s.description)},
          {"target_url", s.target_url.empty() ? json(nullptr) : json(s.target_url)},
          {"context", s.context},
          {"created_at", iso8601(s.created_ms)},
          {"updated_at", iso8601(s.updated_ms)},
          {"creator", shapes.user(s.creator)}};
}

// A ref of the path: a full object id, a branch, a tag.
std::optional<Bytes> resolve(const state::StateView& view, uint64_t repo, const std::string& ref) {
  if (ref.size() == 40 || ref.size() == 64)
    if (auto b = hex_decode(ref)) return b;
  for (const char* prefix : {"refs/heads/", "refs/tags/", ""})
    if (auto v = view.ref(repo, prefix + ref)) return *v;
  return std::nullopt;
}

// POST /statuses/{sha} {state, target_url, description, context}
void create_status(Services& svc, Request& req, Responder respond) {
  auto body = collab::read_body(req, respond, "Status",
                                {{"state", BodyField::kString, true},
                                 {"target_url", BodyField::kString},
                                 {"description", BodyField::kString},
                                 {"context", BodyField::kString}});
  if (!body) return;
  const auto& rc = repo_context(req);
  std::string sha_hex = req.param("sha");
  auto sha = hex_decode(sha_hex);
  if (!sha || (sha->size() != 20 && sha->size() != 32))
    return respond(error_response(422, "No commit found for SHA: " + sha_hex));
  auto st = state::status_state_of(*string_field(*body, "state"));
  if (!st)
    return respond(
        validation_failed("Status", "state", "custom", "state is not included in the list"));
  state::SetCommitStatus s;
  s.repo_id = rc.repo.id;
  s.sha = *sha;
  s.state = *st;
  s.context = string_field(*body, "context").value_or("default");
  s.description = string_field(*body, "description").value_or("");
  s.target_url = string_field(*body, "target_url").value_or("");
  std::string context = s.context;
  Bytes key_sha = *sha;
  submit(svc, req, std::move(respond), s, "Status",
         [&svc, rc, key_sha, context](const state::TxOutcome&) -> Response {
           auto view = svc.chain().view();
           for (const auto& x : state::commit_statuses(view, rc.repo.id, key_sha))
             if (x.context == context) {
               Shapes shapes(svc, rc.repo, rc.owner);
               return json_response(201, status_json(shapes, api_base(svc, rc), x));
             }
           return error_response(404, "Not Found");
         });
}

// GET /commits/{ref}/statuses: the latest status per context, newest first.
void list_statuses(Services& svc, Request& req, Responder respond) {
  const auto& rc = repo_context(req);
  auto view = svc.chain().view();
  auto sha = resolve(view, rc.repo.id, req.param("ref"));
  if (!sha) return respond(error_response(404, "No commit found for SHA: " + req.param("ref")));
  auto all = state::commit_statuses(view, rc.repo.id, *sha);
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.updated_ms > b.updated_ms; });
  Shapes shapes(svc, rc.repo, rc.owner);
  json arr = json::array();
  for (const auto& s : all) arr.push_back(status_json(shapes, api_base(svc, rc), s));
  respond(collab::page_response(req, svc, arr));
}

// GET /commits/{ref}/status: the combined status.
void combined_status(Services& svc, Request& req, Responder respond) {
  const auto& rc = repo_context(req);
  auto view = svc.chain().view();
  auto sha = resolve(view, rc.repo.id, req.param("ref"));
  if (!sha) return respond(error_response(404, "No commit found for SHA: " + req.param("ref")));
  auto all = state::commit_statuses(view, rc.repo.id, *sha);
  Shapes shapes(svc, rc.repo, rc.owner);
  json arr = json::array();
  for (const auto& s : all) arr.push_back(status_json(shapes, api_base(svc, rc), s));
  std::string api = api_base(svc, rc), hex = hex_encode(*sha);
  respond(
      collab::get_response(req, {{"state", state::status_state_name(state::combined_state(all))},
                                 {"statuses", arr},
                                 {"sha", hex},
                                 {"total_count", all.size()},
                                 {"repository", shapes.repo(rc.repo.id)},
                                 {"commit_url", api + "/commits/" + hex},
                                 {"url", api + "/commits/" + hex + "/status"}}));
}

const RouteSpec<Services> kProtectionRoutes[] = {
    {"GET", "/branches/{branch}/protection", "repo:admin", &get_protection},
    {"PUT", "/branches/{branch}/protection", "repo:admin", &put_protection},
    {"DELETE", "/branches/{branch}/protection", "repo:admin", &delete_protection},
    {"GET", "/branches/{branch}/protection/required_signatures", "repo:admin", &get_signatures},
    {"POST", "/branches/{branch}/protection/required_signatures", "repo:admin", &post_signatures},
    {"DELETE", "/branches/{branch}/protection/required_signatures", "repo:admin",
     &delete_signatures},
    {"POST", "/statuses/{sha}", "repo:write", &create_status},
    {"GET", "/commits/{ref}/statuses", "repo:read", &list_statuses},
    {"GET", "/commits/{ref}/status", "repo:read", &combined_status},
};

}  // namespace

void add_protection_routes(Router& router, Services& services) {
  add_routes(router, services, "/api/v3/repos/{owner}/{repo}", kProtectionRoutes);
}

}  // namespace guts::api
