// guts: the command-line client, modelled on gh. Every command takes --node and --json.
#include <iostream>

#include "cli/commands.h"
#include "cli/trust_cmd.h"
#include "core/status.h"
#include "core/version.h"

using namespace guts;

// guts auth web CODE: approve a browser sign-in (auth_web_cmd.cpp; after add_auth_commands).
// Declared here rather than in cli/commands.h to keep this change one block.
namespace guts::cli {
void add_auth_web_command(CLI::App& app, ContextFn ctx);
}

int main(int argc, char** argv) {
  CLI::App app{"guts: command-line client for Guts nodes"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version::describe("guts"),
                       "Print the software and protocol versions and exit");
  cli::Options options;
  app.add_option("--node", options.node,
                 "Node URL (default: $GUTS_NODE, your last login, or http://127.0.0.1:8080)");
  app.add_flag("--json", options.json, "Print JSON instead of text");
  app.add_option("--home", options.home,
                 "Directory of your identity and logins (default: $GUTS_HOME or ~/.config/guts)");
  // Global options may also follow the subcommand (guts repo list --json).
  app.fallthrough();

  std::unique_ptr<cli::Context> context;
  cli::ContextFn ctx = [&]() -> cli::Context& {
    if (!context) context = std::make_unique<cli::Context>(options);
    return *context;
  };
  cli::add_identity_commands(app, ctx);
  cli::add_auth_commands(app, ctx);
  cli::add_repo_commands(app, ctx);
  cli::add_status_command(app, ctx);
  cli::add_git_commands(app, ctx);
  cli::add_node_commands(app, ctx);
  cli::add_network_commands(app, ctx);
  cli::add_issue_commands(app, ctx);
  cli::add_pr_commands(app, ctx);
  cli::add_fork_command(app, ctx);
  cli::add_audit_command(app, ctx);
  cli::add_org_commands(app, ctx);
  cli::add_team_commands(app, ctx);
  cli::add_token_commands(app, ctx);
  cli::add_reputation_commands(app, ctx);
  cli::add_hook_commands(app, ctx);
  cli::add_branch_commands(app, ctx);
  cli::add_seeds_commands(app, ctx);
  cli::add_search_commands(app, ctx);
  cli::add_proposal_commands(app, ctx);
  cli::add_auth_web_command(app, ctx);
  // Releases (docs/releases.md).
  cli::add_release_commands(app, ctx);
  cli::add_ssh_key_commands(app, ctx);
  // Notifications and watching (docs/web.md "Notifications").
  cli::add_notifications_commands(app, ctx);
  cli::add_secret_commands(app, ctx);
  cli::add_trust_commands(app, ctx);  // verified clones (docs/verify.md)
  // CI/CD (docs/ci.md).
  cli::add_actions_commands(app, ctx);
  cli::add_migrate_command(app, ctx);  // docs/migrate.md
  cli::add_placeholder_commands(app, ctx);
  cli::add_nostr_commands(app, ctx);
  cli::add_validators_commands(app, ctx);
  cli::add_tx_commands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    std::cerr << "guts: " << e.what() << "\n";
    return e.code() == Code::kUnavailable ? 3 : 1;
  } catch (const std::exception& e) {
    std::cerr << "guts: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
