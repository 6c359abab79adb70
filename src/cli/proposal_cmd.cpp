// guts proposal list|show|create|approve|reject|cancel and guts quorum show|set (docs/governance.md
// §8): the routes of api/proposal_routes.cpp. The scope is a repository (-R OWNER/REPO, else the
// `origin` remote of the current directory) or an organization (--org LOGIN).
#include <iostream>

#include "cli/collab_cli.h"
#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

namespace {

struct Scope {
  std::string repo, org;
  // "/api/guts/repos/OWNER/REPO" or "/api/guts/orgs/LOGIN".
  std::string base() const {
    if (!org.empty()) return "/api/guts/orgs/" + org;
    return "/api/guts/repos/" + resolve_repo(repo);
  }
};

void add_scope(CLI::App* cmd, Scope& s) {
  cmd->add_option("-R,--repo", s.repo, "OWNER/REPO (default: the origin remote)");
  cmd->add_option("--org", s.org, "An organization instead of a repository");
}

std::string str_or(const json& j, const char* k, const std::string& fallback = "") {
  return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : fallback;
}

std::string scope_text(const json& s) {
  return s["type"] == "organization" ? "org " + str_or(s, "org", "?")
                                     : str_or(s, "repository", "(deleted repository)");
}

std::string action_text(const json& a) {
  std::string t = a["type"].get<std::string>();
  if (a.contains("changes"))
    for (const auto& c : a["changes"])
      t += " " + c["ref"].get<std::string>() + " -> " +
           str_or(c, "new_sha", "(delete)").substr(0, 12);
  if (a.contains("new_owner")) t += " to " + a["new_owner"].get<std::string>();
  if (a.contains("user")) t += " " + a["user"].get<std::string>();
  if (a.contains("branch")) t += " " + a["branch"].get<std::string>();
  if (a.contains("rules"))
    for (const auto& r : a["rules"])
      t += " " + r["action"].get<std::string>() + "=" +
           std::to_string(r["threshold"].get<uint64_t>());
  return t;
}

std::string line(const json& p) {
  return "#" + std::to_string(p["id"].get<uint64_t>()) + "  " + p["title"].get<std::string>() +
         "  (" + p["state"].get<std::string>() + ", " +
         std::to_string(p["approvals"].get<uint64_t>()) + "/" +
         std::to_string(p["threshold"].get<uint64_t>()) + " approvals)  " + scope_text(p["scope"]);
}

std::string details(const json& p) {
  std::string s = line(p) + "\naction: " + action_text(p["action"]) +
                  "\nproposed by: " + p["proposer"].get<std::string>() +
                  "\nexpires: " + p["expires_at"].get<std::string>() + "\nvotes:";
  if (p["votes"].empty()) s += " none";
  for (const auto& v : p["votes"])
    s += "\n  " + v["user"].get<std::string>() +
         (v["approve"].get<bool>() ? " approved" : " rejected");
  if (p["reason"].is_string()) s += "\nreason: " + p["reason"].get<std::string>();
  if (!p["description"].get<std::string>().empty())
    s += "\n\n" + p["description"].get<std::string>();
  return s;
}

std::string policy_text(const json& r) {
  std::string s = scope_text(r["scope"]) + ": ";
  if (r["rules"].empty()) s += "no quorum policy";
  for (const auto& x : r["rules"])
    s += "\n  " + x["action"].get<std::string>() + ": " +
         std::to_string(x["threshold"].get<uint64_t>()) + " of " +
         std::to_string(r["eligible"].size()) + " " + r["approvers"].get<std::string>();
  s += "\neligible:";
  for (const auto& e : r["eligible"]) s += " " + e.get<std::string>();
  return s;
}

// "merge_protected_branch=2" → {"action": ..., "threshold": 2}; throws on a malformed rule.
json rules_json(const std::vector<std::string>& rules) {
  json out = json::array();
  for (const auto& r : rules) {
    auto eq = r.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error(Code::kInvalidArgument, "--rule takes ACTION=K, e.g. merge_protected_branch=2");
    uint64_t k = 0;
    try {
      k = std::stoull(r.substr(eq + 1));
    } catch (const std::exception&) {
      throw Error(Code::kInvalidArgument, "--rule " + r + ": K must be a number");
    }
    out.push_back({{"action", r.substr(0, eq)}, {"threshold", k}});
  }
  return out;
}

}  // namespace

void add_proposal_commands(CLI::App& app, ContextFn ctx) {
  struct Args {
    Scope scope;
    std::string state, title, description, expires, type, branch, head, sha, new_owner, new_name,
        user;
    uint64_t id = 0;
    std::vector<std::string> rules;
  };
  auto a = std::make_shared<Args>();

  auto* proposal =
      app.add_subcommand("proposal", "Quorum decisions: proposals that need k-of-n approvals");
  proposal->require_subcommand(1);

  auto* list = proposal->add_subcommand("list", "List the proposals of a repository or org");
  add_scope(list, a->scope);
  list->add_option("--state", a->state,
                   "open, executed, rejected, expired, failed, cancelled, all");
  list->callback([ctx, a] {
    auto& c = ctx();
    std::string path = a->scope.base() + "/proposals";
    if (!a->state.empty()) path += "?state=" + a->state;
    auto r = c.expect(c.client().get(path));
    std::string human;
    for (const auto& p : r) human += line(p) + "\n";
    c.print(r, human.empty() ? "No proposals." : human.substr(0, human.size() - 1));
  });

  auto* show = proposal->add_subcommand("show", "Show a proposal and its votes");
  show->add_option("id", a->id, "Proposal id")->required();
  show->callback([ctx, a] {
    auto& c = ctx();
    auto r = c.expect(c.client().get("/api/guts/proposals/" + std::to_string(a->id)));
    c.print(r, details(r));
  });

  auto* create = proposal->add_subcommand("create", "Propose an action a quorum policy covers");
  add_scope(create, a->scope);
  create->add_option("--title", a->title, "Title")->required();
  create->add_option("-d,--description", a->description, "Description");
  create->add_option("--expires", a->expires, "ISO 8601 expiry (default: in 7 days)");
  create
      ->add_option("--action", a->type,
                   "merge_protected_branch, delete_repository, transfer_repository, "
                   "add_org_owner, change_quorum_policy, change_branch_protection")
      ->required();
  create->add_option("--branch", a->branch, "merge_protected_branch: the protected branch");
  create->add_option("--head", a->head, "merge_protected_branch: the branch to move it to");
  create->add_option("--sha", a->sha, "merge_protected_branch: the commit to move it to");
  create->add_option("--new-owner", a->new_owner, "transfer_repository: user or organization");
  create->add_option("--new-name", a->new_name, "transfer_repository: new name");
  create->add_option("--user", a->user, "add_org_owner: the user");
  create->add_option("--rule", a->rules, "change_quorum_policy: ACTION=K (repeatable)");
  create->callback([ctx, a] {
    auto& c = ctx();
    json action{{"type", a->type}};
    if (!a->branch.empty()) action["branch"] = a->branch;
    if (!a->head.empty()) action["head"] = a->head;
    if (!a->sha.empty()) action["sha"] = a->sha;
    if (!a->new_owner.empty()) action["new_owner"] = a->new_owner;
    if (!a->new_name.empty()) action["new_name"] = a->new_name;
    if (!a->user.empty()) action["user"] = a->user;
    if (a->type == "change_quorum_policy") action["rules"] = rules_json(a->rules);
    if (a->type == "change_branch_protection") action["delete"] = true;
    json body{{"title", a->title}, {"description", a->description}, {"action", action}};
    if (!a->expires.empty()) body["expires_at"] = a->expires;
    auto r = c.expect(c.client().post(a->scope.base() + "/proposals", body.dump()), {201});
    c.print(r, details(r));
  });

  for (const char* verb : {"approve", "reject", "cancel"}) {
    std::string v = verb;
    auto* cmd =
        proposal->add_subcommand(v, v == "approve"  ? "Approve a proposal (eligible approvers)"
                                    : v == "reject" ? "Reject a proposal (eligible approvers)"
                                                    : "Cancel your proposal");
    cmd->add_option("id", a->id, "Proposal id")->required();
    cmd->callback([ctx, a, v] {
      auto& c = ctx();
      auto r =
          c.expect(c.client().post("/api/guts/proposals/" + std::to_string(a->id) + "/" + v, "{}"));
      c.print(r, details(r));
    });
  }

  auto* quorum =
      app.add_subcommand("quorum", "Quorum policies: which actions need k-of-n approvals");
  quorum->require_subcommand(1);
  auto* qshow = quorum->add_subcommand("show", "Show the quorum policy and the eligible approvers");
  add_scope(qshow, a->scope);
  qshow->callback([ctx, a] {
    auto& c = ctx();
    auto r = c.expect(c.client().get(a->scope.base() + "/quorum"));
    c.print(r, policy_text(r));
  });
  auto* qset = quorum->add_subcommand(
      "set",
      "Replace the quorum policy (no --rule: remove it); once set, changing it takes a "
      "proposal");
  add_scope(qset, a->scope);
  qset->add_option("--rule", a->rules, "ACTION=K, e.g. merge_protected_branch=2 (repeatable)");
  qset->callback([ctx, a] {
    auto& c = ctx();
    auto r = c.expect(
        c.client().put(a->scope.base() + "/quorum", json{{"rules", rules_json(a->rules)}}.dump()));
    c.print(r, policy_text(r));
  });
}

}  // namespace guts::cli
