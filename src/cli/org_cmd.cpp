// guts org create|show|list|members|add-member|remove-member|invite|accept (docs/governance.md
// §7): the REST routes of orgs_routes.cpp, so every check is the node's (and the chain's).
#include <iostream>

#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

namespace {

std::string org_details(const json& o) {
  auto text = [&](const char* k) { return o[k].is_string() ? o[k].get<std::string>() : ""; };
  std::string s = o["login"].get<std::string>();
  if (!text("name").empty()) s += " (" + text("name") + ")";
  s += "\n";
  if (!text("description").empty()) s += text("description") + "\n";
  if (!text("location").empty()) s += "location:     " + text("location") + "\n";
  if (!text("blog").empty()) s += "blog:         " + text("blog") + "\n";
  if (o.contains("default_repository_permission"))
    s += "default perm: " + text("default_repository_permission") + "\n";
  s += "public repos: " + std::to_string(o["public_repos"].get<uint64_t>());
  return s;
}

}  // namespace

void add_org_commands(CLI::App& app, ContextFn ctx) {
  auto* org = app.add_subcommand("org", "Organizations: create, show, list, members, invitations");
  org->require_subcommand(1);

  struct Args {
    std::string org, user, name, description, role = "member";
  };
  auto a = std::make_shared<Args>();

  auto* create = org->add_subcommand("create", "Create an organization (you become its owner)");
  create->add_option("login", a->org, "Organization name")->required();
  create->add_option("--name", a->name, "Display name");
  create->add_option("-d,--description", a->description, "Description");
  create->callback([ctx, a] {
    auto& c = ctx();
    json body{{"login", a->org}, {"name", a->name}, {"description", a->description}};
    auto r = c.expect(c.client().post("/api/guts/orgs", body.dump()), {201});
    c.print(r, "Created organization " + r["login"].get<std::string>());
  });

  auto* show = org->add_subcommand("show", "Show an organization");
  show->add_option("org", a->org, "Organization")->required();
  show->callback([ctx, a] {
    auto& c = ctx();
    auto r = c.expect(c.client().get("/api/v3/orgs/" + a->org));
    c.print(r, org_details(r));
  });

  auto* list = org->add_subcommand("list", "List the organizations of a user (default: you)");
  list->add_option("user", a->user, "Username");
  list->callback([ctx, a] {
    auto& c = ctx();
    auto r = c.expect(c.client().get(a->user.empty()
                                         ? "/api/v3/user/orgs?per_page=100"
                                         : "/api/v3/users/" + a->user + "/orgs?per_page=100"));
    std::string human;
    for (const auto& o : r) human += o["login"].get<std::string>() + "\n";
    c.print(r, human.empty() ? "No organizations." : human.substr(0, human.size() - 1));
  });

  auto* members = org->add_subcommand("members", "List the members of an organization");
  members->add_option("org", a->org, "Organization")->required();
  members->callback([ctx, a] {
    auto& c = ctx();
    auto all = c.expect(c.client().get("/api/v3/orgs/" + a->org + "/members?per_page=100"));
    auto admins =
        c.expect(c.client().get("/api/v3/orgs/" + a->org + "/members?role=admin&per_page=100"));
    std::string human;
    for (const auto& m : all) {
      bool owner = false;
      for (const auto& x : admins) owner |= x["login"] == m["login"];
      human += m["login"].get<std::string>() + (owner ? "  (owner)" : "") + "\n";
    }
    c.print(all, human.empty() ? "No members." : human.substr(0, human.size() - 1));
  });

  auto member_cmd = [&](const char* name, const char* help, const char* method, bool invite) {
    auto* cmd = org->add_subcommand(name, help);
    cmd->add_option("org", a->org, "Organization")->required();
    cmd->add_option("user", a->user, "Username")->required();
    if (std::string(method) == "PUT")
      cmd->add_option("--role", a->role, "member or admin (owner)")->capture_default_str();
    cmd->callback([ctx, a, method = std::string(method), invite] {
      auto& c = ctx();
      std::string path =
          "/api/v3/orgs/" + a->org + (invite ? "/memberships/" : "/members/") + a->user;
      if (method == "DELETE") {
        c.expect(c.client().del(path), {204});
        c.print(json{{"removed", a->user}}, "Removed " + a->user + " from " + a->org);
        return;
      }
      auto r = c.expect(c.client().put(path, json{{"role", a->role}}.dump()));
      c.print(r, a->user + ": " + r["role"].get<std::string>() + ", " +
                     r["state"].get<std::string>() + " in " + a->org);
    });
  };
  member_cmd("add-member", "Add a member at once (owners)", "PUT", false);
  member_cmd("invite", "Invite a user; they accept with `guts org accept` (owners)", "PUT", true);
  member_cmd("remove-member", "Remove a member (owners), or yourself (leave)", "DELETE", false);

  auto* accept = org->add_subcommand("accept", "Accept your invitation to an organization");
  accept->add_option("org", a->org, "Organization")->required();
  accept->callback([ctx, a] {
    auto& c = ctx();
    auto r = c.expect(c.client().patch("/api/v3/user/memberships/orgs/" + a->org,
                                       json{{"state", "active"}}.dump()));
    c.print(r, "You are now a member of " + a->org);
  });
}

}  // namespace guts::cli
