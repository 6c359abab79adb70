// guts branch protect|unprotect|protection show (docs/governance.md "Branch protection"): the
// routes of api/protection_routes.cpp. The pattern is percent-encoded into the path, so
// `release/*` is one rule.
#include <cctype>
#include <iostream>

#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

namespace {

std::string encode_segment(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string summary(const json& r) {
  std::string s;
  if (r.contains("required_pull_request_reviews"))
    s += "reviews: " +
         std::to_string(
             r["required_pull_request_reviews"]["required_approving_review_count"].get<int>()) +
         (r["required_pull_request_reviews"]["dismiss_stale_reviews"].get<bool>()
              ? " (stale dismissed)"
              : "") +
         "\n";
  if (r.contains("required_status_checks")) {
    s += "status checks:";
    for (const auto& c : r["required_status_checks"]["contexts"]) s += " " + c.get<std::string>();
    if (r["required_status_checks"]["strict"].get<bool>()) s += " (strict)";
    s += "\n";
  }
  if (r.contains("restrictions")) {
    s += "push restricted to:";
    for (const auto& u : r["restrictions"]["users"]) s += " " + u["login"].get<std::string>();
    for (const auto& t : r["restrictions"]["teams"]) s += " @" + t["slug"].get<std::string>();
    s += "\n";
  }
  auto flag = [&](const char* k, const char* label) {
    s += std::string(label) + ": " + (r[k]["enabled"].get<bool>() ? "yes" : "no") + "\n";
  };
  flag("allow_force_pushes", "force pushes allowed");
  flag("allow_deletions", "deletions allowed");
  flag("required_linear_history", "linear history");
  flag("required_signatures", "signed commits");
  flag("enforce_admins", "admins included");
  return s.substr(0, s.size() - 1);
}

}  // namespace

void add_branch_commands(CLI::App& app, ContextFn ctx) {
  auto* branch = app.add_subcommand("branch", "Branches: protection rules");
  branch->require_subcommand(1);

  struct Args {
    std::string repo, pattern;
    int reviews = -1;
    bool dismiss_stale = false, code_owners = false, strict = false, no_force_push = false,
         no_deletion = false, linear = false, is_signed = false, enforce_admins = false;
    std::vector<std::string> checks, push_users, push_teams;
  };
  auto a = std::make_shared<Args>();
  auto path = [a] {
    return "/api/v3/repos/" + a->repo + "/branches/" + encode_segment(a->pattern) + "/protection";
  };

  auto* protect = branch->add_subcommand("protect", "Protect a branch or branch pattern (admins)");
  protect->add_option("repo", a->repo, "OWNER/REPO")->required();
  protect->add_option("pattern", a->pattern, "Branch name or pattern (release/*)")->required();
  protect->add_option("--reviews", a->reviews, "Required approving reviews (0-6)");
  protect->add_flag("--dismiss-stale", a->dismiss_stale, "Approvals of older heads do not count");
  protect->add_flag("--code-owners", a->code_owners, "Require review from code owners");
  protect->add_option("--check", a->checks, "Required status check context (repeatable)");
  protect->add_flag("--strict", a->strict, "Require the branch to be up to date");
  protect->add_flag("--no-force-push", a->no_force_push, "Refuse force pushes (the default)");
  protect->add_flag("--no-deletion", a->no_deletion, "Refuse deletion (the default)");
  protect->add_flag("--linear", a->linear, "Require linear history");
  protect->add_flag("--signed", a->is_signed, "Require signed commits");
  protect->add_option("--push-user", a->push_users, "Only these users may push (repeatable)");
  protect->add_option("--push-team", a->push_teams, "Only these teams may push (repeatable)");
  protect->add_flag("--enforce-admins", a->enforce_admins, "Apply the rules to admins too");
  protect->callback([ctx, a, path] {
    auto& c = ctx();
    json body{{"required_status_checks", nullptr},
              {"enforce_admins", a->enforce_admins},
              {"required_pull_request_reviews", nullptr},
              {"restrictions", nullptr},
              {"required_linear_history", a->linear},
              {"allow_force_pushes", false},
              {"allow_deletions", false}};
    if (!a->checks.empty() || a->strict)
      body["required_status_checks"] = {{"strict", a->strict}, {"contexts", a->checks}};
    if (a->reviews >= 0 || a->dismiss_stale || a->code_owners)
      body["required_pull_request_reviews"] = {
          {"dismiss_stale_reviews", a->dismiss_stale},
          {"require_code_owner_reviews", a->code_owners},
          {"required_approving_review_count", a->reviews < 0 ? 1 : a->reviews}};
    if (!a->push_users.empty() || !a->push_teams.empty())
      body["restrictions"] = {{"users", a->push_users}, {"teams", a->push_teams}};
    auto r = c.expect(c.client().put(path(), body.dump()));
    if (a->is_signed)
      r["required_signatures"] = c.expect(c.client().post(path() + "/required_signatures", "{}"));
    c.print(r, "Protected " + a->repo + " " + a->pattern + "\n" + summary(r));
  });

  auto* unprotect = branch->add_subcommand("unprotect", "Remove a branch protection rule");
  unprotect->add_option("repo", a->repo, "OWNER/REPO")->required();
  unprotect->add_option("pattern", a->pattern, "Branch name or pattern")->required();
  unprotect->callback([ctx, a, path] {
    auto& c = ctx();
    c.expect(c.client().del(path()), {204});
    c.print(json{{"unprotected", a->pattern}}, "Removed protection of " + a->pattern);
  });

  auto* protection = branch->add_subcommand("protection", "Show protection rules");
  protection->require_subcommand(1);
  auto* show = protection->add_subcommand("show", "Show the rule of a branch or pattern");
  show->add_option("repo", a->repo, "OWNER/REPO")->required();
  show->add_option("pattern", a->pattern, "Branch name or pattern")->required();
  show->callback([ctx, a, path] {
    auto& c = ctx();
    auto r = c.expect(c.client().get(path()));
    c.print(r, a->repo + " " + a->pattern + "\n" + summary(r));
  });
}

}  // namespace guts::cli
