// Quorum decisions over REST (state/proposal.h; docs/governance.md §8, docs/api.md "Quorum
// decisions"). Guts' own shapes (GitHub has no equivalent):
//
//   GET  /api/guts/repos/{o}/{r}/quorum             repo:read   the repository's policy
//   PUT  /api/guts/repos/{o}/{r}/quorum {rules}     repo:write  kind 37 (maintainers; 403)
//   GET  /api/guts/orgs/{org}/quorum                org:read    the organization's policy
//   PUT  /api/guts/orgs/{org}/quorum {rules}        org:read    kind 37 (owners; 403)
//   GET  /api/guts/repos/{o}/{r}/proposals[?state=] repo:read   the repository's proposals
//   POST /api/guts/repos/{o}/{r}/proposals          repo:read   kind 38 (maintainers; 403)
//   GET  /api/guts/orgs/{org}/proposals[?state=]    org:read
//   POST /api/guts/orgs/{org}/proposals             org:read    kind 38 (owners; 403)
//   GET  /api/guts/proposals[?repo=o/r|org=o][&state=]  public  newest first, visible ones
//   GET  /api/guts/proposals/{id}                   public      404 when unknown or not visible
//   POST /api/guts/proposals/{id}/approve|reject    user        kind 39 (eligible only; 403)
//   POST /api/guts/proposals/{id}/cancel            user        kind 40 (the proposer; 403)
//
// Who may vote or propose is the state machine's rule (quorum_is_eligible), re-checked on every
// validator; the routes only translate JSON to bodies and read the state back.
#include <algorithm>

#include "api/auth.h"
#include "api/collab_common.h"
#include "api/errors.h"
#include "api/github.h"
#include "api/proposal_shapes.h"
#include "api/routes.h"
#include "api/validator_shapes.h"
#include "core/time.h"
#include "crypto/did.h"
#include "state/permission.h"
#include "state/proposal.h"
#include "state/protection.h"
#include "state/tx.h"

namespace guts::api {

using collab::AppliedFn;
using collab::caller;
using collab::parse_body;
using collab::submit;

namespace {

constexpr const char* kResource = "Proposal";
constexpr const char* kPolicyResource = "QuorumPolicy";
constexpr uint64_t kDefaultLifetimeMs = 7ull * 24 * 60 * 60 * 1000;

// Display time: the later of the last block's and this node's clock (the state machine decides
// expiry with block time; a proposal read as expired here can no longer gather votes anyway).
uint64_t now_ms(Services& svc) {
  return std::max(svc.chain().head().timestamp_ms, unix_millis());
}

std::string login_of(const state::StateView& view, const crypto::PublicKey& key) {
  if (auto a = view.account(key); a && !a->username.empty()) return a->username;
  return crypto::did_from_key(key);
}

std::string repo_full(const state::StateView& view, uint64_t repo_id) {
  auto repo = view.repo(repo_id);
  if (!repo) return "";
  return login_of(view, repo->owner) + "/" + repo->name;
}

json scope_json(const state::StateView& view, const state::QuorumScope& s) {
  if (s.kind == state::kQuorumOnOrg) {
    auto org = view.org(s.org);
    return {{"type", "organization"}, {"org", org ? json(org->login) : json(nullptr)}};
  }
  std::string full = repo_full(view, s.repo_id);
  return {{"type", "repository"},
          {"repository_id", s.repo_id},
          {"repository", full.empty() ? json(nullptr) : json(full)}};
}

// Whether the caller may see proposals and policy of `scope` (a private repository's: readers).
bool visible(const state::StateView& view, const state::QuorumScope& s,
             const std::optional<crypto::PublicKey>& who) {
  if (s.kind == state::kQuorumOnOrg) return view.org(s.org).has_value();
  auto repo = view.repo(s.repo_id);
  return repo && view.permission(*repo, who) != state::Permission::kNone;
}

std::string hex_or_null(const Bytes& b) {
  return b.empty() ? std::string() : hex_encode(b);
}

// What the embedded transaction does, in the request's vocabulary.
json action_json(const state::StateView& view, const state::Proposal& p) {
  json j{{"type", state::quorum_action_name(p.action)}, {"kind", p.action_kind}};
  try {
    auto body = state::decode_body(static_cast<state::TxKind>(p.action_kind), p.action_body);
    std::visit(
        [&](const auto& b) {
          using T = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<T, state::UpdateRefs>) {
            json changes = json::array();
            for (const auto& c : b.changes)
              changes.push_back(
                  {{"ref", c.ref},
                   {"old_sha", c.old_oid.empty() ? json(nullptr) : json(hex_encode(c.old_oid))},
                   {"new_sha", c.new_oid.empty() ? json(nullptr) : json(hex_encode(c.new_oid))}});
            j["changes"] = changes;
          } else if constexpr (std::is_same_v<T, state::MergePullRequest>) {
            j["pull_number"] = b.number;
            j["merge_sha"] = hex_or_null(b.merge_sha);
          } else if constexpr (std::is_same_v<T, state::TransferRepo>) {
            j["new_owner"] = login_of(view, b.new_owner);
            if (b.new_name) j["new_name"] = *b.new_name;
          } else if constexpr (std::is_same_v<T, state::SetOrgMember>) {
            j["user"] = login_of(view, b.user);
          } else if constexpr (std::is_same_v<T, state::SetQuorumPolicy>) {
            json rules = json::array();
            for (const auto& r : b.rules)
              rules.push_back(
                  {{"action", state::quorum_action_name(r.action)}, {"threshold", r.threshold}});
            j["rules"] = rules;
          } else if constexpr (std::is_same_v<T, state::SetBranchProtection>) {
            j["branch"] = b.rule.pattern;
          } else if constexpr (std::is_same_v<T, state::DeleteBranchProtection>) {
            j["branch"] = b.pattern;
          } else if constexpr (std::is_same_v<T, state::SetValidatorSet>) {
            j["activation_height"] = b.activation_height;
            j["validators"] = validators_json(b.validators);
          }
        },
        body);
  } catch (const std::exception&) {
    // Stored bodies decoded when they were accepted; nothing more to show otherwise.
  }
  return j;
}

}  // namespace

json proposal_json(Services& svc, const state::StateView& view, const state::Proposal& p) {
  const uint64_t now = now_ms(svc);
  json votes = json::array();
  for (const auto& v : state::proposal_votes(view, p.id))
    votes.push_back({{"user", login_of(view, v.voter)},
                     {"approve", v.approve},
                     {"voted_at", iso8601(v.voted_ms)}});
  return {{"id", p.id},
          {"url", svc.public_url() + "/api/guts/proposals/" + std::to_string(p.id)},
          {"scope", scope_json(view, p.scope)},
          {"title", p.title},
          {"description", p.description},
          {"action", action_json(view, p)},
          {"proposer", login_of(view, p.proposer)},
          {"state", state::proposal_state_name(state::proposal_state_at(p, now))},
          {"threshold", p.threshold},
          {"eligible", state::quorum_eligible(view, p.scope).size()},
          {"approvals", p.approvals},
          {"rejections", p.rejections},
          {"votes", votes},
          {"created_at", iso8601(p.created_ms)},
          {"expires_at", iso8601(p.expires_ms)},
          {"decided_at", p.decided_ms ? json(iso8601(p.decided_ms)) : json(nullptr)},
          {"reason", p.reason.empty() ? json(nullptr) : json(p.reason)}};
}

std::optional<state::Proposal> open_merge_proposal(Services& svc, const state::StateView& view,
                                                   const state::MergePullRequest& merge) {
  const uint64_t now = now_ms(svc);
  for (const auto& p : state::proposals_of(view, {state::kQuorumOnRepo, merge.repo_id, {}})) {
    if (p.action_kind != static_cast<uint32_t>(state::TxKind::kMergePullRequest) ||
        state::proposal_state_at(p, now) != state::kProposalOpen)
      continue;
    try {
      auto body = state::decode_body(state::TxKind::kMergePullRequest, p.action_body);
      const auto& m = std::get<state::MergePullRequest>(body);
      if (m.number == merge.number && m.head_sha == merge.head_sha &&
          m.base_old == merge.base_old && m.method == merge.method)
        return p;
    } catch (const std::exception&) {
      // Accepted bodies decode; nothing to match otherwise.
    }
  }
  return std::nullopt;
}

namespace {

json policy_json(const state::StateView& view, const state::QuorumScope& scope) {
  auto policy = state::quorum_policy(view, scope);
  json rules = json::array();
  if (policy)
    for (const auto& r : policy->rules)
      rules.push_back(
          {{"action", state::quorum_action_name(r.action)}, {"threshold", r.threshold}});
  json eligible = json::array();
  for (const auto& k : state::quorum_eligible(view, scope)) eligible.push_back(login_of(view, k));
  return {{"scope", scope_json(view, scope)},
          {"rules", rules},
          {"approvers", state::quorum_approvers_noun(scope)},
          {"eligible", eligible},
          {"set_by", policy ? json(login_of(view, policy->set_by)) : json(nullptr)},
          {"updated_at", policy ? json(iso8601(policy->updated_ms)) : json(nullptr)}};
}

state::QuorumScope repo_scope(const Request& req) {
  return {state::kQuorumOnRepo, repo_context(req).repo.id, {}};
}
state::QuorumScope org_scope(const Request& req) {
  return {state::kQuorumOnOrg, 0, org_context(req).org.key};
}

// ?state=open|executed|... (422 on an unknown name); nullopt: every state.
bool state_filter(const Request& req, const Responder& respond, std::optional<uint8_t>* out) {
  auto s = req.query_param("state");
  if (!s || *s == "all") return true;
  *out = state::proposal_state_of(*s);
  if (!*out) {
    respond(validation_failed(kResource, "state", "invalid",
                              "state must be open, executed, rejected, expired, failed, "
                              "cancelled or all"));
    return false;
  }
  return true;
}

void respond_list(Services& svc, const Request& req, const Responder& respond,
                  const state::StateView& view, const std::vector<state::Proposal>& all,
                  std::optional<uint8_t> filter) {
  json arr = json::array();
  const uint64_t now = now_ms(svc);
  const auto who = caller(req);
  for (const auto& p : all)
    if ((!filter || state::proposal_state_at(p, now) == *filter) && visible(view, p.scope, who))
      arr.push_back(proposal_json(svc, view, p));
  respond(collab::page_response(req, svc, arr));
}

// ---- policy ----

void get_policy(Services& svc, const state::QuorumScope& scope, Responder respond) {
  respond(json_response(200, policy_json(svc.chain().view(), scope)));
}
void get_repo_policy(Services& svc, Request& req, Responder respond) {
  get_policy(svc, repo_scope(req), std::move(respond));
}
void get_org_policy(Services& svc, Request& req, Responder respond) {
  get_policy(svc, org_scope(req), std::move(respond));
}

// {"rules": [{"action": "merge_protected_branch", "threshold": 2}, ...]}; [] removes the policy.
std::optional<std::vector<state::QuorumRule>> parse_rules(const json& body,
                                                          const Responder& respond) {
  if (!body.contains("rules") || !body["rules"].is_array()) {
    respond(validation_failed(kPolicyResource, "rules", "missing_field",
                              "rules must be an array of {action, threshold}"));
    return std::nullopt;
  }
  std::vector<state::QuorumRule> rules;
  for (const auto& r : body["rules"]) {
    if (!r.is_object() || !r.contains("action") || !r["action"].is_string()) {
      respond(validation_failed(kPolicyResource, "rules", "invalid",
                                "each rule needs an action name and a threshold"));
      return std::nullopt;
    }
    auto action = state::quorum_action_of(r["action"].get<std::string>());
    if (!action) {
      respond(validation_failed(
          kPolicyResource, "rules", "invalid",
          "'" + r["action"].get<std::string>() + "' is not an action a quorum decides"));
      return std::nullopt;
    }
    if (!r.contains("threshold") || !r["threshold"].is_number_integer() ||
        r["threshold"].get<int64_t>() < 1) {
      respond(validation_failed(kPolicyResource, "threshold", "invalid",
                                r["action"].get<std::string>() + ": must be an integer >= 1"));
      return std::nullopt;
    }
    rules.push_back({*action, r["threshold"].get<uint64_t>()});
  }
  if (rules.size() > state::kMaxQuorumRules) {
    respond(validation_failed(kPolicyResource, "rules", "invalid", "too many rules"));
    return std::nullopt;
  }
  return rules;
}

void put_policy(Services& svc, Request& req, Responder respond, state::QuorumScope scope) {
  auto body = parse_body(req, respond, kPolicyResource);
  if (!body) return;
  auto rules = parse_rules(*body, respond);
  if (!rules) return;
  submit(svc, req, std::move(respond), state::SetQuorumPolicy{scope, std::move(*rules)},
         kPolicyResource, [&svc, scope](const state::TxOutcome&) {
           return json_response(200, policy_json(svc.chain().view(), scope));
         });
}
void put_repo_policy(Services& svc, Request& req, Responder respond) {
  put_policy(svc, req, std::move(respond), repo_scope(req));
}
void put_org_policy(Services& svc, Request& req, Responder respond) {
  put_policy(svc, req, std::move(respond), org_scope(req));
}

// ---- proposals ----

Response bad(std::string_view field, std::string_view message) {
  return validation_failed(kResource, field, "invalid", message);
}

// The action of a creation request as a transaction body; an answer on bad input.
std::optional<state::TxBody> action_body(const state::StateView& view,
                                         const state::QuorumScope& scope, const json& a,
                                         Response* error) {
  if (!a.is_object() || !a.contains("type") || !a["type"].is_string()) {
    *error = bad("action", "must be an object with a type");
    return std::nullopt;
  }
  const std::string type = a["type"].get<std::string>();
  auto str = [&](const char* k) -> std::optional<std::string> {
    if (a.contains(k) && a[k].is_string()) return a[k].get<std::string>();
    return std::nullopt;
  };
  if (scope.kind == state::kQuorumOnRepo) {
    const uint64_t repo_id = scope.repo_id;
    if (type == "delete_repository") return state::DeleteRepo{repo_id};
    if (type == "transfer_repository") {
      auto owner = str("new_owner");
      std::optional<crypto::PublicKey> key;
      if (owner) {
        if (auto org = view.org_by_login(*owner))
          key = org->key;
        else
          key = collab::user_key(view, *owner);
      }
      if (!key) {
        *error = bad("action.new_owner", "must name a user or an organization");
        return std::nullopt;
      }
      return state::TransferRepo{repo_id, *key, str("new_name")};
    }
    if (type == "merge_protected_branch") {
      // Moves a branch to a commit: {"branch": "main", "sha": "..."} or {"head": "topic"} (the
      // tip of another branch of the repository).
      auto branch = str("branch");
      if (!branch || branch->empty()) {
        *error = bad("action.branch", "is required");
        return std::nullopt;
      }
      const std::string ref = "refs/heads/" + *branch;
      auto old = view.ref(repo_id, ref);
      if (!old) {
        *error = bad("action.branch", "'" + *branch + "' does not exist");
        return std::nullopt;
      }
      std::optional<Bytes> target;
      if (auto sha = str("sha")) {
        target = hex_decode(*sha);
        if (!target || (target->size() != 20 && target->size() != 32)) {
          *error = bad("action.sha", "is not an object id");
          return std::nullopt;
        }
      } else if (auto head = str("head")) {
        target = view.ref(repo_id, "refs/heads/" + *head);
        if (!target) {
          *error = bad("action.head", "'" + *head + "' is not a branch");
          return std::nullopt;
        }
      } else {
        *error = bad("action.sha", "give sha or head");
        return std::nullopt;
      }
      state::UpdateRefs u;
      u.repo_id = repo_id;
      u.changes.push_back({ref, *old, *target});
      return u;
    }
    if (type == "change_branch_protection") {
      auto branch = str("branch");
      if (!branch || !a.value("delete", false)) {
        *error = bad("action",
                     "only {\"branch\": pattern, \"delete\": true} is accepted here; "
                     "set rules through PUT .../protection");
        return std::nullopt;
      }
      return state::DeleteBranchProtection{repo_id, *branch};
    }
  } else if (type == "add_org_owner") {
    auto user = str("user");
    auto key = user ? collab::user_key(view, *user) : std::nullopt;
    if (!key) {
      *error = bad("action.user", "must name a user");
      return std::nullopt;
    }
    return state::SetOrgMember{scope.org, *key, state::kMemberAdd, state::kOrgOwner};
  } else if (type == "change_validator_set") {
    // {"activation_height": H, "validators": [{"did", "p2p_address"}, ...]}
    auto change = parse_validator_set(a, "action.", error);
    if (!change) return std::nullopt;
    return *change;
  }
  if (type == "change_quorum_policy") {
    Response early;
    bool failed = false;
    auto rules = parse_rules(a, [&](Response r) {
      early = std::move(r);
      failed = true;
    });
    if (failed || !rules) {
      *error = early;
      return std::nullopt;
    }
    return state::SetQuorumPolicy{scope, std::move(*rules)};
  }
  *error = bad("action.type", "'" + type + "' is not an action a quorum decides here");
  return std::nullopt;
}

AppliedFn created(Services& svc) {
  return [&svc](const state::TxOutcome& o) {
    auto view = svc.chain().view();
    auto id = view.receipt(o.id);
    auto p = id ? state::proposal(view, *id) : std::nullopt;
    if (!p) return error_response(404, "Not Found");
    return json_response(201, proposal_json(svc, view, *p));
  };
}

void create_proposal(Services& svc, Request& req, Responder respond,
                     const state::QuorumScope& scope) {
  auto body = parse_body(req, respond, kResource);
  if (!body) return;
  if (!body->contains("title") || !(*body)["title"].is_string())
    return respond(validation_failed(kResource, "title", "missing_field", "title is required"));
  if (body->contains("description") && !(*body)["description"].is_string())
    return respond(bad("description", "must be a string"));
  auto view = svc.chain().view();
  state::CreateProposal c;
  c.scope = scope;
  c.title = (*body)["title"].get<std::string>();
  c.description = body->value("description", std::string());
  c.expires_ms = unix_millis() + kDefaultLifetimeMs;
  if (body->contains("expires_at")) {
    auto at = (*body)["expires_at"].is_string()
                  ? parse_iso8601((*body)["expires_at"].get<std::string>())
                  : std::nullopt;
    if (!at) return respond(bad("expires_at", "must be an ISO 8601 time"));
    c.expires_ms = *at;
  }
  Response error;
  auto action = action_body(view, scope, body->value("action", json()), &error);
  if (!action) return respond(std::move(error));
  c.action_kind = static_cast<uint32_t>(state::kind_of(*action));
  c.action_body = state::encode_body(*action);
  submit(svc, req, std::move(respond), std::move(c), kResource, created(svc));
}

void create_repo_proposal(Services& svc, Request& req, Responder respond) {
  create_proposal(svc, req, std::move(respond), repo_scope(req));
}
void create_org_proposal(Services& svc, Request& req, Responder respond) {
  create_proposal(svc, req, std::move(respond), org_scope(req));
}

void list_scope(Services& svc, Request& req, Responder respond, const state::QuorumScope& scope) {
  std::optional<uint8_t> filter;
  if (!state_filter(req, respond, &filter)) return;
  auto view = svc.chain().view();
  respond_list(svc, req, respond, view, state::proposals_of(view, scope), filter);
}
void list_repo_proposals(Services& svc, Request& req, Responder respond) {
  list_scope(svc, req, std::move(respond), repo_scope(req));
}
void list_org_proposals(Services& svc, Request& req, Responder respond) {
  list_scope(svc, req, std::move(respond), org_scope(req));
}

// GET /api/guts/proposals[?repo=OWNER/REPO|org=LOGIN][&state=...]
void list_proposals(Services& svc, Request& req, Responder respond) {
  std::optional<uint8_t> filter;
  if (!state_filter(req, respond, &filter)) return;
  auto view = svc.chain().view();
  if (auto full = req.query_param("repo")) {
    auto slash = full->find('/');
    auto owner =
        slash == std::string::npos ? std::nullopt : collab::user_key(view, full->substr(0, slash));
    if (!owner)
      if (auto org =
              slash == std::string::npos ? std::nullopt : view.org_by_login(full->substr(0, slash)))
        owner = org->key;
    auto repo = owner ? view.repo_by_name(*owner, full->substr(slash + 1)) : std::nullopt;
    if (!repo || view.permission(*repo, caller(req)) == state::Permission::kNone)
      return respond(error_response(404, "Not Found"));
    return respond_list(svc, req, respond, view,
                        state::proposals_of(view, {state::kQuorumOnRepo, repo->id, {}}), filter);
  }
  if (auto login = req.query_param("org")) {
    auto org = view.org_by_login(*login);
    if (!org) return respond(error_response(404, "Not Found"));
    return respond_list(svc, req, respond, view,
                        state::proposals_of(view, {state::kQuorumOnOrg, 0, org->key}), filter);
  }
  respond_list(svc, req, respond, view, state::all_proposals(view), filter);
}

std::optional<state::Proposal> path_proposal(const Request& req, const state::StateView& view) {
  auto id = collab::number_param(req, "id");
  if (!id) return std::nullopt;
  auto p = state::proposal(view, *id);
  if (!p || !visible(view, p->scope, caller(req))) return std::nullopt;
  return p;
}

void get_proposal(Services& svc, Request& req, Responder respond) {
  auto view = svc.chain().view();
  auto p = path_proposal(req, view);
  if (!p) return respond(error_response(404, "Not Found"));
  respond(json_response(200, proposal_json(svc, view, *p)));
}

void act(Services& svc, Request& req, Responder respond, std::optional<bool> approve) {
  auto view = svc.chain().view();
  auto p = path_proposal(req, view);
  if (!p) return respond(error_response(404, "Not Found"));
  state::TxBody body = approve ? state::TxBody(state::VoteProposal{p->id, *approve})
                               : state::TxBody(state::CancelProposal{p->id});
  submit(svc, req, std::move(respond), std::move(body), kResource,
         [&svc, id = p->id](const state::TxOutcome&) {
           auto now = svc.chain().view();
           auto q = state::proposal(now, id);
           if (!q) return error_response(404, "Not Found");
           return json_response(200, proposal_json(svc, now, *q));
         });
}
void approve_proposal(Services& svc, Request& req, Responder respond) {
  act(svc, req, std::move(respond), true);
}
void reject_proposal(Services& svc, Request& req, Responder respond) {
  act(svc, req, std::move(respond), false);
}
void cancel_proposal(Services& svc, Request& req, Responder respond) {
  act(svc, req, std::move(respond), std::nullopt);
}

const RouteSpec<Services> kProposalRoutes[] = {
    {"GET", "/repos/{owner}/{repo}/quorum", "repo:read", &get_repo_policy},
    {"PUT", "/repos/{owner}/{repo}/quorum", "repo:write", &put_repo_policy},
    {"GET", "/orgs/{org}/quorum", "org:read", &get_org_policy},
    {"PUT", "/orgs/{org}/quorum", "org:read", &put_org_policy},
    {"GET", "/repos/{owner}/{repo}/proposals", "repo:read", &list_repo_proposals},
    {"POST", "/repos/{owner}/{repo}/proposals", "repo:read", &create_repo_proposal},
    {"GET", "/orgs/{org}/proposals", "org:read", &list_org_proposals},
    {"POST", "/orgs/{org}/proposals", "org:read", &create_org_proposal},
    {"GET", "/proposals", "public", &list_proposals},
    {"GET", "/proposals/{id}", "public", &get_proposal},
    {"POST", "/proposals/{id}/approve", "user", &approve_proposal},
    {"POST", "/proposals/{id}/reject", "user", &reject_proposal},
    {"POST", "/proposals/{id}/cancel", "user", &cancel_proposal},
};

}  // namespace

void add_proposal_routes(Router& router, Services& svc) {
  add_routes(router, svc, "/api/guts", kProposalRoutes);
}

}  // namespace guts::api
