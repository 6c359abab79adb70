#include <iostream>

#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

namespace {

std::string one_line(const json& r) {
  std::string line = r["full_name"].get<std::string>();
  line += r["private"].get<bool>() ? "  (private)" : "  (public)";
  if (r["description"].is_string()) line += "  " + r["description"].get<std::string>();
  return line;
}

std::string details(const json& r) {
  std::string s = r["full_name"].get<std::string>() + "\n";
  if (r["description"].is_string()) s += r["description"].get<std::string>() + "\n";
  s += "visibility:     " + r["visibility"].get<std::string>() + "\n";
  s += "default branch: " + r["default_branch"].get<std::string>() + "\n";
  s += "clone:          " + r["clone_url"].get<std::string>() + "\n";
  s += "created:        " + r["created_at"].get<std::string>();
  return s;
}

void split_full_name(const std::string& full, std::string& owner, std::string& name) {
  auto slash = full.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == full.size() ||
      full.find('/', slash + 1) != std::string::npos)
    throw Error(Code::kInvalidArgument, "expected OWNER/REPO, got '" + full + "'");
  owner = full.substr(0, slash);
  name = full.substr(slash + 1);
}

}  // namespace

void add_repo_commands(CLI::App& app, ContextFn ctx) {
  auto* repo = app.add_subcommand("repo", "Create, list, show and delete repositories");
  repo->require_subcommand(1);

  struct CreateArgs {
    std::string name, description, default_branch = "main";
    bool is_private = false;
  };
  auto ca = std::make_shared<CreateArgs>();
  auto* create = repo->add_subcommand("create", "Create a repository");
  create->add_option("name", ca->name, "Repository name")->required();
  create->add_option("-d,--description", ca->description, "Description");
  create->add_flag("--private", ca->is_private, "Make it private");
  create->add_option("--default-branch", ca->default_branch, "Default branch")
      ->capture_default_str();
  create->callback([ctx, ca] {
    auto& c = ctx();
    json body{{"name", ca->name},
              {"description", ca->description},
              {"private", ca->is_private},
              {"default_branch", ca->default_branch}};
    auto r = c.expect(c.client().post("/api/v3/user/repos", body.dump()), {201});
    c.print(r, "Created " + r["full_name"].get<std::string>() +
                   "\nClone URL: " + r["clone_url"].get<std::string>());
  });

  auto owner = std::make_shared<std::string>();
  auto limit = std::make_shared<size_t>(100);
  auto* list = repo->add_subcommand("list", "List repositories of a user (default: you)");
  list->add_option("owner", *owner, "Username");
  list->add_option("-L,--limit", *limit, "Maximum number to list")->capture_default_str();
  list->callback([ctx, owner, limit] {
    auto& c = ctx();
    std::string base = owner->empty() ? "/api/v3/user/repos" : "/api/v3/users/" + *owner + "/repos";
    json all = json::array();
    for (size_t page = 1; all.size() < *limit; ++page) {
      auto r = c.expect(c.client().get(base + "?per_page=100&page=" + std::to_string(page)));
      for (auto& item : r)
        if (all.size() < *limit) all.push_back(item);
      if (r.size() < 100) break;
    }
    std::string human;
    for (const auto& r : all) human += one_line(r) + "\n";
    if (all.empty()) human = "No repositories.";
    c.print(all, human);
  });

  auto full = std::make_shared<std::string>();
  auto* show = repo->add_subcommand("show", "Show a repository");
  show->add_option("repo", *full, "OWNER/REPO")->required();
  show->callback([ctx, full] {
    auto& c = ctx();
    std::string o, n;
    split_full_name(*full, o, n);
    auto r = c.expect(c.client().get("/api/v3/repos/" + o + "/" + n));
    c.print(r, details(r));
  });

  auto del_name = std::make_shared<std::string>();
  auto yes = std::make_shared<bool>(false);
  auto* del = repo->add_subcommand("delete", "Delete a repository");
  del->add_option("repo", *del_name, "OWNER/REPO")->required();
  del->add_flag("--yes", *yes, "Do not ask for confirmation");
  del->callback([ctx, del_name, yes] {
    auto& c = ctx();
    std::string o, n;
    split_full_name(*del_name, o, n);
    if (!*yes) {
      std::cerr << "Type " << *del_name << " to confirm deletion: ";
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != *del_name) throw Error(Code::kInvalidArgument, "deletion not confirmed");
    }
    c.expect(c.client().del("/api/v3/repos/" + o + "/" + n), {204});
    c.print(json{{"deleted", *del_name}}, "Deleted " + *del_name);
  });
}

void add_status_command(CLI::App& app, ContextFn ctx) {
  auto* status = app.add_subcommand("status", "Show the node's chain status");
  status->callback([ctx] {
    auto& c = ctx();
    auto s = c.expect(c.client().get("/api/guts/status"));
    std::string human = "node:       " + c.node_url() + "\n" +
                        "node did:   " + s["node_did"].get<std::string>() + "\n" +
                        "chain:      " + s["chain_id"].get<std::string>() + "\n" +
                        "height:     " + std::to_string(s["height"].get<uint64_t>()) + "\n" +
                        "state root: " + s["state_root"].get<std::string>() + "\n" +
                        "validators: " + std::to_string(s["validators"].size()) + "\n" +
                        "mempool:    " + std::to_string(s["mempool"].get<uint64_t>());
    c.print(s, human);
  });
}

}  // namespace guts::cli
