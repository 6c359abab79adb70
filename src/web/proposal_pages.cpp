// Quorum proposals in the browser (docs/governance.md "Quorum decisions", docs/web.md): lists
// (all visible, an organization's, a repository's tab) and the proposal page with its action,
// approvals k of n, votes and expiry. A signed-in eligible approver gets Approve / Reject
// buttons while the proposal is open: forms with the CSRF token posting VoteProposal, the
// transaction REST and the CLI submit; who may vote is the state machine's rule, re-checked on
// every validator (a refused vote is answered with its reason).
//
//   GET  /-/proposals[?org=|repo=][&state=]   visible proposals, newest first
//   GET  /{owner}/{repo}/proposals[?state=]   the repository's (Proposals tab)
//   GET  /-/proposals/{id}                    one proposal (404 when not visible)
//   POST /-/proposals/{id}/approve|reject     VoteProposal → 303 to the proposal
#include "web/proposal_pages.h"

#include <algorithm>

#include "api/collab_common.h"
#include "api/errors.h"
#include "api/proposal_shapes.h"
#include "core/status.h"
#include "core/time.h"
#include "state/permission.h"
#include "state/proposal.h"
#include "web/repo_view.h"

namespace guts::web {

namespace {

constexpr size_t kMaxListed = 200;

std::string proposal_url(uint64_t id) {
  return "/-/proposals/" + std::to_string(id);
}

// The later of the last block's time and the clock (as the REST answers).
uint64_t now_ms(WebEnv& env) {
  return std::max(env.svc.chain().head().timestamp_ms, unix_millis());
}

bool visible(WebEnv& env, const state::StateView& view, const api::Principal& who,
             const state::QuorumScope& s) {
  if (s.kind == state::kQuorumOnOrg) return view.org(s.org).has_value();
  auto repo = view.repo(s.repo_id);
  return repo && can_read(env, who, *repo);
}

// "/alice/app" or "/acme" (an organization's profile), with its display text.
std::pair<std::string, std::string> scope_link(const state::StateView& view,
                                               const state::QuorumScope& s) {
  if (s.kind == state::kQuorumOnOrg) {
    std::string login = display_name(view, s.org);
    return {"/" + url_path(login), login};
  }
  auto repo = view.repo(s.repo_id);
  if (!repo) return {"", "repository " + std::to_string(s.repo_id)};
  std::string full = display_name(view, repo->owner) + "/" + repo->name;
  return {"/" + url_path(display_name(view, repo->owner)) + "/" + url_path(repo->name), full};
}

void state_pill(Html& h, const std::string& st) {
  const char* cls = st == "executed"                     ? "run-ok"
                    : st == "open"                       ? "run-wait"
                    : st == "rejected" || st == "failed" ? "run-bad"
                                                         : "run-off";
  h.raw("<span class=\"label run-state proposal-state ")
      << cls << Safe{"\">"} << st << Safe{"</span>"};
}

// "1 of 2 approvals · 3 eligible maintainers"
std::string tally(const nlohmann::ordered_json& j, const state::QuorumScope& s) {
  return std::to_string(j["approvals"].get<uint64_t>()) + " of " +
         std::to_string(j["threshold"].get<uint64_t>()) + " approvals · " +
         std::to_string(j["eligible"].get<uint64_t>()) + " eligible " +
         state::quorum_approvers_noun(s);
}

// What the action does, with links where there is a page for it.
void action_text(Html& h, const state::StateView& view, const state::Proposal& p,
                 const nlohmann::ordered_json& a) {
  auto [href, text] = scope_link(view, p.scope);
  std::string type = a.value("type", std::string());
  h.raw("<code>") << type << Safe{"</code>: "};
  if (a.contains("pull_number") && !href.empty()) {
    std::string n = std::to_string(a["pull_number"].get<uint64_t>());
    h << "merge ";
    h.raw("<a href=\"") << href + "/pull/" + n << Safe{"\">"} << "pull request #" + n
                        << Safe{"</a>"};
    if (a.contains("merge_sha") && a["merge_sha"].is_string())
      h << " (merge commit " << a["merge_sha"].get<std::string>().substr(0, 7) << ")";
  } else if (a.contains("changes")) {
    bool first = true;
    for (const auto& c : a["changes"]) {
      if (!first) h << "; ";
      first = false;
      std::string ref = c.value("ref", std::string());
      if (ref.rfind("refs/heads/", 0) == 0) ref = ref.substr(11);
      h << "move " << ref << " to ";
      if (c["new_sha"].is_string())
        h.raw("<code>") << c["new_sha"].get<std::string>().substr(0, 7) << Safe{"</code>"};
      else
        h << "(deleted)";
    }
  } else if (a.contains("new_owner")) {
    h << "transfer to " << a["new_owner"].get<std::string>();
    if (a.contains("new_name")) h << " as " << a["new_name"].get<std::string>();
  } else if (a.contains("user")) {
    h << "make " << a["user"].get<std::string>() << " an owner";
  } else if (a.contains("rules")) {
    std::string rules;
    for (const auto& r : a["rules"])
      rules += (rules.empty() ? "" : ", ") + r["action"].get<std::string>() + " = " +
               std::to_string(r["threshold"].get<uint64_t>());
    h << "set the policy to " << (rules.empty() ? std::string("none") : rules);
  } else if (a.contains("branch")) {
    h << "branch protection of " << a["branch"].get<std::string>();
  } else {
    h << "delete " << text;
  }
}

std::optional<uint8_t> state_param(const api::Request& req) {
  auto s = req.query_param("state");
  if (!s || s->empty() || *s == "all") return std::nullopt;
  auto st = state::proposal_state_of(*s);
  if (!st) throw Error(Code::kInvalidArgument, "state must be open, executed, rejected, ...");
  return st;
}

void state_filters(Html& h, const std::string& base, const std::string& joiner) {
  h.raw("<nav class=\"filters\">");
  for (const char* s : {"all", "open", "executed", "rejected", "expired", "failed", "cancelled"})
    h.raw("<a href=\"") << base + joiner + "state=" + s << Safe{"\">"} << s << Safe{"</a> "};
  h.raw("</nav>");
}

void list_box(WebEnv& env, const api::Request& req, Html& h, const state::StateView& view,
              const std::vector<state::Proposal>& all, bool show_scope) {
  auto filter = state_param(req);
  const uint64_t now = now_ms(env);
  h.raw("<div class=\"box\"><ul class=\"list proposals\">");
  size_t shown = 0;
  for (const auto& p : all) {
    if (shown >= kMaxListed) break;
    if (filter && state::proposal_state_at(p, now) != *filter) continue;
    if (!visible(env, view, req.principal, p.scope)) continue;
    ++shown;
    auto j = api::proposal_json(env.svc, view, p);
    h.raw("<li class=\"proposal\" id=\"proposal-") << p.id << Safe{"\">"};
    state_pill(h, j["state"].get<std::string>());
    h.raw(" <a href=\"") << proposal_url(p.id) << Safe{"\"><strong>"} << p.title
                         << Safe{"</strong></a> <span class=\"muted\">#"} << p.id;
    if (show_scope) h << " · " << scope_link(view, p.scope).second;
    h.raw("</span><br><span class=\"muted\">");
    action_text(h, view, p, j["action"]);
    h << " · " << tally(j, p.scope) << " · by " << display_name(view, p.proposer) << " · expires "
      << j["expires_at"].get<std::string>();
    h.raw("</span></li>");
  }
  if (shown == 0) h.raw("<li class=\"muted\">No proposals.</li>");
  h.raw("</ul></div>");
}

std::optional<state::Proposal> path_proposal(WebEnv& env, const api::Request& req,
                                             const state::StateView& view) {
  auto id = api::collab::number_param(req, "id");
  if (!id) return std::nullopt;
  auto p = state::proposal(view, *id);
  if (!p || !visible(env, view, req.principal, p->scope)) return std::nullopt;
  return p;
}

}  // namespace

api::Response proposals_page(WebEnv& env, api::Request& req) {
  auto view = env.svc.chain().view();
  Html h;
  std::vector<state::Proposal> all;
  std::string title = "Proposals";
  std::string base = "/-/proposals";
  std::string joiner = "?";
  if (auto login = req.query_param("org")) {
    auto org = view.org_by_login(*login);
    if (!org) throw Error(Code::kNotFound, "No such organization");
    all = state::proposals_of(view, {state::kQuorumOnOrg, 0, org->key});
    title = "Proposals · " + org->login;
    base += "?org=" + url_query(org->login);
    joiner = "&";
    h.raw("<h1><a href=\"/") << url_path(org->login) << Safe{"\">"} << org->login
                             << Safe{"</a> · proposals</h1>"};
  } else {
    all = state::all_proposals(view);
    h.raw("<h1>Proposals</h1>");
  }
  h.raw(
      "<p class=\"muted\">Actions a quorum of maintainers or owners decides: each runs when "
      "enough of them approve it.</p>");
  state_filters(h, base, joiner);
  list_box(env, req, h, view, all, true);
  return page(env, 200, title, h);
}

api::Response repo_proposals_page(WebEnv& env, api::Request& req) {
  RepoView rv = open_repo(env, req);
  auto view = env.svc.chain().view();
  Html h;
  repo_header(h, rv, "proposals");
  auto policy = state::quorum_policy(view, {state::kQuorumOnRepo, rv.rc->repo.id, {}});
  h.raw("<p class=\"muted\" id=\"quorum-policy\">");
  if (!policy || policy->rules.empty()) {
    h << "No quorum policy: maintainers act directly.";
  } else {
    const size_t n = state::quorum_eligible(view, policy->scope).size();
    h << "Quorum policy: ";
    bool first = true;
    for (const auto& r : policy->rules) {
      h << (first ? "" : ", ") << state::quorum_action_name(r.action) << " needs "
        << std::to_string(r.threshold) << " of " << std::to_string(n) << " maintainers";
      first = false;
    }
  }
  h.raw("</p>");
  state_filters(h, rv.base + "/proposals", "?");
  list_box(env, req, h, view, state::proposals_of(view, {state::kQuorumOnRepo, rv.rc->repo.id, {}}),
           false);
  return page(env, 200, "Proposals · " + rv.full, h);
}

api::Response proposal_page(WebEnv& env, api::Request& req) {
  auto view = env.svc.chain().view();
  auto p = path_proposal(env, req, view);
  if (!p) throw Error(Code::kNotFound, "No such proposal");
  auto j = api::proposal_json(env.svc, view, *p);
  const std::string st = j["state"].get<std::string>();
  auto [href, text] = scope_link(view, p->scope);
  Html h;
  h.raw("<p class=\"crumbs\">");
  if (!href.empty()) h.raw("<a href=\"") << href << Safe{"\">"} << text << Safe{"</a> / "};
  h.raw("<a href=\"") << (p->scope.kind == state::kQuorumOnRepo && !href.empty()
                              ? href + "/proposals"
                              : std::string("/-/proposals"));
  h.raw("\">proposals</a></p><h1 id=\"proposal-title\">")
      << p->title << Safe{" <span class=\"muted\">#"} << p->id << Safe{"</span></h1><p>"};
  state_pill(h, st);
  h << " proposed by " << display_name(view, p->proposer) << " · "
    << j["created_at"].get<std::string>();
  h.raw("</p>");
  if (!p->description.empty())
    h.raw("<div class=\"box\"><p>") << p->description << Safe{"</p></div>"};
  h.raw("<dl class=\"proposal-facts\"><dt>Action</dt><dd id=\"proposal-action\">");
  action_text(h, view, *p, j["action"]);
  h.raw("</dd><dt>Approvals</dt><dd id=\"proposal-tally\">") << tally(j, p->scope);
  h.raw("</dd><dt>Expires</dt><dd id=\"proposal-expiry\">") << j["expires_at"].get<std::string>();
  h.raw("</dd>");
  if (!p->reason.empty())
    h.raw("<dt>Reason</dt><dd id=\"proposal-reason\">") << p->reason << Safe{"</dd>"};
  h.raw("</dl><h2>Votes</h2><ul class=\"list votes\">");
  std::optional<bool> mine;
  auto me = api::collab::caller(req);
  for (const auto& v : state::proposal_votes(view, p->id)) {
    std::string who = display_name(view, v.voter);
    if (me && v.voter == *me) mine = v.approve;
    h.raw("<li><a href=\"/") << url_path(who) << Safe{"\">"} << who << Safe{"</a> "}
                             << (v.approve ? "approved" : "rejected") << " · "
                             << iso8601(v.voted_ms) << Safe{"</li>"};
  }
  h.raw("</ul>");
  if (st == "open" && me && state::quorum_is_eligible(view, p->scope, *me)) {
    h.raw("<div id=\"proposal-vote\">");
    if (mine) h << "You " << (*mine ? "approved" : "rejected") << " this proposal. ";
    if (mine != std::optional<bool>(true))
      post_button(h, req, proposal_url(p->id) + "/approve", "Approve");
    if (mine != std::optional<bool>(false))
      post_button(h, req, proposal_url(p->id) + "/reject", "Reject");
    h.raw("</div>");
  } else if (st == "open" && !req.principal.authenticated) {
    h.raw("<p class=\"muted\"><a href=\"/-/signin\">Sign in</a> to vote if you are one of the ")
        << state::quorum_approvers_noun(p->scope) << Safe{".</p>"};
  }
  return page(env, 200, p->title + " · proposal #" + std::to_string(p->id), h);
}

namespace {
void vote_form(WebEnv& env, api::Request& req, api::Responder respond, bool approve) {
  if (!req.principal.authenticated) return respond(api::error_response(401, "Sign in to do this"));
  auto p = path_proposal(env, req, env.svc.chain().view());
  if (!p) return respond(api::error_response(404, "Not Found"));
  std::string to = proposal_url(p->id);
  api::collab::submit(env.svc, req, std::move(respond), state::VoteProposal{p->id, approve},
                      "Proposal", [to](const state::TxOutcome&) { return see_other(to); });
}
}  // namespace

void approve_proposal_form(WebEnv& env, api::Request& req, api::Responder respond) {
  vote_form(env, req, std::move(respond), true);
}
void reject_proposal_form(WebEnv& env, api::Request& req, api::Responder respond) {
  vote_form(env, req, std::move(respond), false);
}

}  // namespace guts::web
