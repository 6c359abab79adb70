// guts repo seeds show|add|remove OWNER/REPO [NODE-DID]: the nodes, besides the validators,
// that may hold a private repository's objects (docs/git.md "Private repositories").
// add/remove read the list and PUT it back whole (one kind-42 transaction).
#include <algorithm>

#include "cli/collab_cli.h"
#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

namespace {

std::string seeds_api(const std::string& full) {
  return "/api/guts/repos/" + full + "/seeds";
}

void print_seeds(Context& c, const std::string& full, const json& r) {
  std::string human = full + (r.value("private", false) ? " (private)" : " (public: every node)");
  if (r["seeds"].empty()) human += "\nno seeds: validators only";
  for (const auto& s : r["seeds"]) human += "\n" + s.get<std::string>();
  c.print(r, human);
}

}  // namespace

void add_seeds_commands(CLI::App& app, ContextFn ctx) {
  auto* repo = app.get_subcommand("repo");
  auto* seeds = repo->add_subcommand(
      "seeds", "Nodes allowed to hold a private repository's objects, besides the validators");
  seeds->require_subcommand(1);
  struct Args {
    std::string repo, node;
  };
  auto a = std::make_shared<Args>();
  auto* show = seeds->add_subcommand("show", "List the repository's seed nodes");
  show->add_option("repo", a->repo, "OWNER/REPO")->required();
  show->callback([ctx, a] {
    auto& c = ctx();
    print_seeds(c, a->repo, c.expect(c.client().get(seeds_api(a->repo))));
  });
  for (bool add : {true, false}) {
    auto* cmd = seeds->add_subcommand(
        add ? "add" : "remove",
        add ? "Allow a node to hold the repository" : "Stop a node from holding the repository");
    cmd->add_option("repo", a->repo, "OWNER/REPO")->required();
    cmd->add_option("node", a->node, "The node's did:key identifier")->required();
    cmd->callback([ctx, a, add] {
      auto& c = ctx();
      auto cur = c.expect(c.client().get(seeds_api(a->repo)));
      std::vector<std::string> list;
      for (const auto& s : cur["seeds"]) list.push_back(s.get<std::string>());
      auto it = std::find(list.begin(), list.end(), a->node);
      if (add && it == list.end()) list.push_back(a->node);
      if (!add && it != list.end()) list.erase(it);
      auto r = c.expect(c.client().put(seeds_api(a->repo), json{{"seeds", list}}.dump()));
      print_seeds(c, a->repo, r);
    });
  }
}

}  // namespace guts::cli
