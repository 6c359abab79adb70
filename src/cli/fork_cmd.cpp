// guts repo fork OWNER/REPO — modelled on `gh repo fork`.
#include "cli/collab_cli.h"
#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

void add_fork_command(CLI::App& app, ContextFn ctx) {
  auto* repo = app.get_subcommand("repo");
  struct ForkArgs {
    std::string repo, name;
    bool default_branch_only = false, clone = false;
  };
  auto fa = std::make_shared<ForkArgs>();
  auto* fork = repo->add_subcommand("fork", "Fork a repository into your account");
  fork->add_option("repo", fa->repo, "OWNER/REPO (default: the clone's origin)");
  fork->add_option("--fork-name", fa->name, "Name of the fork (default: the repository's name)");
  fork->add_flag("--default-branch-only", fa->default_branch_only, "Only copy the default branch");
  fork->add_flag("--clone", fa->clone, "Clone the fork into ./<name>");
  fork->callback([ctx, fa] {
    auto& c = ctx();
    auto full = resolve_repo(fa->repo);
    json req{{"default_branch_only", fa->default_branch_only}};
    if (!fa->name.empty()) req["name"] = fa->name;
    auto r = c.expect(c.client().post(repo_api(full, "/forks"), req.dump()), {202});
    std::string human = "Created fork " + r["full_name"].get<std::string>() + " of " + full +
                        "\nClone URL: " + r["clone_url"].get<std::string>();
    if (fa->clone) {
      run_git_here({"clone", r["clone_url"].get<std::string>(), r["name"].get<std::string>()});
      run_git_here({"-C", r["name"].get<std::string>(), "remote", "add", "upstream",
                    r["parent"]["clone_url"].get<std::string>()});
      human += "\nCloned into ./" + r["name"].get<std::string>() + " (remote 'upstream' is " +
               full + ")";
    }
    c.print(r, human);
  });
}

}  // namespace guts::cli
