// guts team create|list|add-member|remove-member|add-repo|remove-repo (docs/governance.md §7):
// the team routes of teams_routes.cpp.
#include <iostream>

#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

void add_team_commands(CLI::App& app, ContextFn ctx) {
  auto* team = app.add_subcommand("team", "Teams of an organization: members and repositories");
  team->require_subcommand(1);

  struct Args {
    std::string org, team, user, repo, description, privacy = "closed", role = "member",
                                                    permission = "push";
    uint64_t parent = 0;
  };
  auto a = std::make_shared<Args>();
  auto base = [a] { return "/api/v3/orgs/" + a->org + "/teams"; };

  auto* create = team->add_subcommand("create", "Create a team (organization owners)");
  create->add_option("org", a->org, "Organization")->required();
  create->add_option("name", a->team, "Team name")->required();
  create->add_option("-d,--description", a->description, "Description");
  create->add_option("--privacy", a->privacy, "closed or secret")->capture_default_str();
  create->add_option("--parent", a->parent, "Id of the parent team");
  create->callback([ctx, a, base] {
    auto& c = ctx();
    json body{{"name", a->team}, {"description", a->description}, {"privacy", a->privacy}};
    if (a->parent) body["parent_team_id"] = a->parent;
    auto r = c.expect(c.client().post(base(), body.dump()), {201});
    c.print(r, "Created team " + a->org + "/" + r["slug"].get<std::string>() + " (id " +
                   std::to_string(r["id"].get<uint64_t>()) + ")");
  });

  auto* list = team->add_subcommand("list", "List the teams of an organization");
  list->add_option("org", a->org, "Organization")->required();
  list->callback([ctx, a, base] {
    auto& c = ctx();
    auto r = c.expect(c.client().get(base() + "?per_page=100"));
    std::string human;
    for (const auto& t : r) {
      human += t["slug"].get<std::string>();
      if (t["parent"].is_object()) human += "  (in " + t["parent"]["slug"].get<std::string>() + ")";
      human += "\n";
    }
    c.print(r, human.empty() ? "No teams." : human.substr(0, human.size() - 1));
  });

  auto* add_member = team->add_subcommand("add-member", "Add an organization member to a team");
  add_member->add_option("org", a->org, "Organization")->required();
  add_member->add_option("team", a->team, "Team slug")->required();
  add_member->add_option("user", a->user, "Username")->required();
  add_member->add_option("--role", a->role, "member or maintainer")->capture_default_str();
  add_member->callback([ctx, a, base] {
    auto& c = ctx();
    auto r = c.expect(c.client().put(base() + "/" + a->team + "/memberships/" + a->user,
                                     json{{"role", a->role}}.dump()));
    c.print(r, a->user + " is a " + r["role"].get<std::string>() + " of " + a->team);
  });

  auto* remove_member = team->add_subcommand("remove-member", "Remove a member from a team");
  remove_member->add_option("org", a->org, "Organization")->required();
  remove_member->add_option("team", a->team, "Team slug")->required();
  remove_member->add_option("user", a->user, "Username")->required();
  remove_member->callback([ctx, a, base] {
    auto& c = ctx();
    c.expect(c.client().del(base() + "/" + a->team + "/memberships/" + a->user), {204});
    c.print(json{{"removed", a->user}}, "Removed " + a->user + " from " + a->team);
  });

  auto* add_repo = team->add_subcommand("add-repo", "Give a team a permission on a repository");
  add_repo->add_option("org", a->org, "Organization")->required();
  add_repo->add_option("team", a->team, "Team slug")->required();
  add_repo->add_option("repo", a->repo, "OWNER/REPO")->required();
  add_repo->add_option("--permission", a->permission, "pull, triage, push, maintain or admin")
      ->capture_default_str();
  add_repo->callback([ctx, a, base] {
    auto& c = ctx();
    c.expect(c.client().put(base() + "/" + a->team + "/repos/" + a->repo,
                            json{{"permission", a->permission}}.dump()),
             {204});
    c.print(json{{"team", a->team}, {"repo", a->repo}, {"permission", a->permission}},
            a->team + " has " + a->permission + " on " + a->repo);
  });

  auto* remove_repo = team->add_subcommand("remove-repo", "Remove a team's access to a repository");
  remove_repo->add_option("org", a->org, "Organization")->required();
  remove_repo->add_option("team", a->team, "Team slug")->required();
  remove_repo->add_option("repo", a->repo, "OWNER/REPO")->required();
  remove_repo->callback([ctx, a, base] {
    auto& c = ctx();
    c.expect(c.client().del(base() + "/" + a->team + "/repos/" + a->repo), {204});
    c.print(json{{"team", a->team}, {"repo", a->repo}, {"removed", true}},
            "Removed " + a->team + "'s access to " + a->repo);
  });
}

}  // namespace guts::cli
