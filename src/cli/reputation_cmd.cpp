// guts reputation show USER [--repo OWNER/REPO] and guts repo interaction-limit set|show|clear
// (docs/reputation.md): the routes of api/reputation_routes.cpp.
#include <iostream>

#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

namespace {

std::string components_text(const json& c) {
  std::string out;
  for (const auto& [name, v] : c.items()) {
    out += "  " + name + ": " + std::to_string(v["points"].get<uint64_t>()) + " points";
    if (v.contains("count"))
      out += " (" + std::to_string(v["count"].get<uint64_t>()) + " x " +
             std::to_string(v["weight"].get<uint64_t>()) + ", cap " +
             std::to_string(v["cap"].get<uint64_t>()) + ")";
    else
      out += " (" + std::to_string(v["days"].get<uint64_t>()) + " days, cap " +
             std::to_string(v["cap"].get<uint64_t>()) + ")";
    out += "\n";
  }
  return out;
}

std::string limit_text(const json& r, const std::string& repo) {
  if (!r.contains("limit")) return "No interaction limit on " + repo + ".";
  std::string s = repo + ": " + r["limit"].get<std::string>();
  if (r["limit"] != "collaborators_only")
    s += " (minimum reputation " + std::to_string(r["min_reputation"].get<uint64_t>()) + ")";
  s +=
      r["expires_at"].is_string() ? ", until " + r["expires_at"].get<std::string>() : ", no expiry";
  return s;
}

}  // namespace

void add_reputation_commands(CLI::App& app, ContextFn ctx) {
  struct Args {
    std::string user, repo, limit, expiry = "one_day";
    int64_t min_reputation = -1;
  };
  auto a = std::make_shared<Args>();

  auto* reputation = app.add_subcommand("reputation", "Reputation scores (docs/reputation.md)");
  reputation->require_subcommand(1);
  auto* show = reputation->add_subcommand("show", "Show a user's reputation");
  show->add_option("user", a->user, "Username")->required();
  show->add_option("--repo", a->repo, "OWNER/REPO: the score in that repository");
  show->callback([ctx, a] {
    auto& c = ctx();
    if (!a->repo.empty()) {
      auto r =
          c.expect(c.client().get("/api/guts/repos/" + a->repo + "/reputation?user=" + a->user));
      c.print(r, a->user + " in " + a->repo + ": " + std::to_string(r["score"].get<uint64_t>()) +
                     " (global " + std::to_string(r["global_score"].get<uint64_t>()) + ")\n" +
                     components_text(r["components"]) +
                     (r["interaction_allowed"].get<bool>() ? "may interact"
                                                           : "held back by the interaction limit"));
      return;
    }
    auto r = c.expect(c.client().get("/api/guts/reputation/" + a->user));
    std::string human = a->user + ": " + std::to_string(r["score"].get<uint64_t>()) + "\n" +
                        components_text(r["components"]);
    for (const auto& x : r["repositories"])
      human += x["full_name"].get<std::string>() + ": " +
               std::to_string(x["score"].get<uint64_t>()) + "\n";
    c.print(r, human.substr(0, human.size() - 1));
  });

  auto* repo = app.get_subcommand("repo");
  auto* il = repo->add_subcommand("interaction-limit",
                                  "Who may open issues and pull requests, comment or react");
  il->require_subcommand(1);
  auto path = [a] { return "/api/v3/repos/" + a->repo + "/interaction-limits"; };
  auto* set = il->add_subcommand("set", "Set the repository's interaction limit (admins)");
  set->add_option("repo", a->repo, "OWNER/REPO")->required();
  set->add_option("limit", a->limit, "existing_users, contributors_only or collaborators_only")
      ->required();
  set->add_option("--expiry", a->expiry,
                  "one_day, three_days, one_week, one_month, six_months or never")
      ->capture_default_str();
  set->add_option("--min-reputation", a->min_reputation,
                  "Minimum reputation (default: 1 for existing_users, 10 for contributors_only)");
  set->callback([ctx, a, path] {
    auto& c = ctx();
    json body{{"limit", a->limit}, {"expiry", a->expiry}};
    if (a->min_reputation >= 0) body["min_reputation"] = a->min_reputation;
    auto r = c.expect(c.client().put(path(), body.dump()));
    c.print(r, limit_text(r, a->repo));
  });
  auto* get = il->add_subcommand("show", "Show the repository's interaction limit");
  get->add_option("repo", a->repo, "OWNER/REPO")->required();
  get->callback([ctx, a, path] {
    auto& c = ctx();
    auto r = c.expect(c.client().get(path()));
    c.print(r, limit_text(r, a->repo));
  });
  auto* clear = il->add_subcommand("clear", "Remove the repository's interaction limit");
  clear->add_option("repo", a->repo, "OWNER/REPO")->required();
  clear->callback([ctx, a, path] {
    auto& c = ctx();
    c.expect(c.client().del(path()), {204});
    c.print(json{{"repo", a->repo}, {"cleared", true}},
            "Removed the interaction limit of " + a->repo);
  });
}

}  // namespace guts::cli
