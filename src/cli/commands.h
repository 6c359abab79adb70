// Subcommand groups of the `guts` CLI. Each adds its subcommands to the app; the callbacks run
// after parsing with the shared Context.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>

#include "cli/context.h"

namespace guts::cli {

using ContextFn = std::function<Context&()>;

void add_identity_commands(CLI::App& app, ContextFn ctx);
void add_auth_commands(CLI::App& app, ContextFn ctx);
void add_repo_commands(CLI::App& app, ContextFn ctx);
void add_status_command(CLI::App& app, ContextFn ctx);
// guts repo clone, guts credential (git_cmd.cpp); after add_repo_commands.
void add_git_commands(CLI::App& app, ContextFn ctx);
// guts issue ... (issue_cmd.cpp), guts pr ... (pr_cmd.cpp), guts repo fork (fork_cmd.cpp; after
// add_repo_commands).
void add_issue_commands(CLI::App& app, ContextFn ctx);
void add_pr_commands(CLI::App& app, ContextFn ctx);
void add_fork_command(CLI::App& app, ContextFn ctx);
// guts org ... (org_cmd.cpp), guts team ... (team_cmd.cpp).
void add_org_commands(CLI::App& app, ContextFn ctx);
void add_team_commands(CLI::App& app, ContextFn ctx);
// guts node peers (node_cmd.cpp).
void add_node_commands(CLI::App& app, ContextFn ctx);
// guts audit: the node's audit log (audit_cmd.cpp).
void add_audit_command(CLI::App& app, ContextFn ctx);
// guts token create|list|revoke: personal access tokens (token_cmd.cpp).
void add_token_commands(CLI::App& app, ContextFn ctx);
// guts network new|up|down|status: local multi-node networks (network_cmd.cpp).
void add_network_commands(CLI::App& app, ContextFn ctx);
// guts reputation show, guts repo interaction-limit (reputation_cmd.cpp; after add_repo_commands).
void add_reputation_commands(CLI::App& app, ContextFn ctx);
// guts hook create|list|delete|deliveries|redeliver: webhooks (hook_cmd.cpp).
void add_hook_commands(CLI::App& app, ContextFn ctx);
// guts branch protect|unprotect|protection show (branch_cmd.cpp).
void add_branch_commands(CLI::App& app, ContextFn ctx);
// guts repo seeds show|add|remove (seeds_cmd.cpp; after add_repo_commands).
void add_seeds_commands(CLI::App& app, ContextFn ctx);
// guts search repos|issues|code|status (search_cmd.cpp).
void add_search_commands(CLI::App& app, ContextFn ctx);
// guts proposal list|show|create|approve|reject|cancel, guts quorum show|set (proposal_cmd.cpp).
void add_proposal_commands(CLI::App& app, ContextFn ctx);
// guts release create|list|view|download|upload|delete (release_cmd.cpp).
void add_release_commands(CLI::App& app, ContextFn ctx);
// guts ssh-key add|list|remove: SSH public keys for git over SSH (ssh_key_cmd.cpp).
void add_ssh_key_commands(CLI::App& app, ContextFn ctx);
// guts notifications [list|read], guts watch OWNER/REPO (notifications_cmd.cpp).
void add_notifications_commands(CLI::App& app, ContextFn ctx);
// guts secret set|list|delete: Actions secrets sealed to the runners (secret_cmd.cpp).
void add_secret_commands(CLI::App& app, ContextFn ctx);
// guts run list|show|cancel|rerun, guts workflow list|run, guts runner token|list,
// guts runner-policy show|set: CI/CD (actions_cmd.cpp).
void add_actions_commands(CLI::App& app, ContextFn ctx);
// guts tx submit: signed transactions in batches (tx_cmd.cpp).
void add_tx_commands(CLI::App& app, ContextFn ctx);
// guts migrate --from URL: repositories, issues, pull requests... (migrate_cmd.cpp).
void add_migrate_command(CLI::App& app, ContextFn ctx);
// guts placeholder show|claim|withdraw|list|confirm|unconfirm (placeholder_cmd.cpp).
void add_placeholder_commands(CLI::App& app, ContextFn ctx);
// guts nostr keygen|bind|unbind|show (nostr_cmd.cpp).
void add_nostr_commands(CLI::App& app, ContextFn ctx);
// guts validators show|set|propose (validators_cmd.cpp).
void add_validators_commands(CLI::App& app, ContextFn ctx);

}  // namespace guts::cli
