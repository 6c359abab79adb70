// guts token create|list|revoke — personal access tokens (docs/api.md "Tokens and scopes"),
// minted with this node's login token (`guts auth login`) for scripts, CI and other clients:
// limited scopes, an expiry, optionally a few repositories.
#include <iostream>

#include "cli/commands.h"

namespace guts::cli {

namespace {

std::string token_line(const json& t) {
  std::string scopes;
  for (const auto& s : t["scopes"]) scopes += (scopes.empty() ? "" : ",") + s.get<std::string>();
  std::string line = t["id"].get<std::string>() + "  " + t["kind"].get<std::string>() + "  " +
                     (scopes.empty() ? "(no scopes)" : scopes);
  if (!t["note"].get<std::string>().empty()) line += "  \"" + t["note"].get<std::string>() + "\"";
  line += "  expires " +
          (t["expires_at"].is_string() ? t["expires_at"].get<std::string>() : std::string("never"));
  if (!t["repositories"].empty()) {
    line += "  repos";
    for (const auto& r : t["repositories"])
      line += " " + (r.is_string() ? r.get<std::string>() : r.dump());
  }
  if (t.value("current", false)) line += "  (this login)";
  return line;
}

}  // namespace

void add_token_commands(CLI::App& app, ContextFn ctx) {
  auto* token = app.add_subcommand("token", "Personal access tokens for scripts and other clients");
  token->require_subcommand(1);

  struct CreateArgs {
    std::string note;
    std::vector<std::string> scopes, repos;
    uint64_t expires_days = 0;
  };
  auto a = std::make_shared<CreateArgs>();
  auto* create = token->add_subcommand(
      "create", "Mint a token (printed once: store it now); needs `guts auth login` first");
  create->add_option("--note", a->note, "What the token is for")->required();
  create->add_option("-s,--scope", a->scopes,
                     "A scope (repeatable): repo, public_repo, read:org, write:org, delete_repo, "
                     "admin:repo_hook, user, ... (docs/api.md)");
  create->add_option("--expires-days", a->expires_days, "Expire after this many days (1-366)");
  create->add_option("-R,--repo", a->repos,
                     "Limit the token to this OWNER/REPO (repeatable); other repositories are "
                     "reached as by an anonymous caller");
  create->callback([ctx, a] {
    auto& c = ctx();
    json body{{"note", a->note}, {"scopes", a->scopes}};
    if (a->expires_days) body["expires_in_days"] = a->expires_days;
    if (!a->repos.empty()) body["repositories"] = a->repos;
    auto t = c.expect(c.client().post("/api/guts/tokens/personal", body.dump()), {201});
    c.print(t, t["token"].get<std::string>() + "\n" + token_line(t));
  });

  auto* list = token->add_subcommand("list", "List your tokens on this node (never the secrets)");
  list->callback([ctx] {
    auto& c = ctx();
    auto all = c.expect(c.client().get("/api/guts/tokens"));
    std::string human;
    for (const auto& t : all) human += (human.empty() ? "" : "\n") + token_line(t);
    c.print(all, human.empty() ? "No tokens" : human);
  });

  auto id = std::make_shared<std::string>();
  auto* revoke = token->add_subcommand("revoke", "Revoke one of your tokens by id");
  revoke->add_option("id", *id, "The token's id (guts token list)")->required();
  revoke->callback([ctx, id] {
    auto& c = ctx();
    c.expect(c.client().del("/api/guts/tokens/" + *id), {204});
    c.print(json{{"revoked", *id}}, "Revoked token " + *id);
  });
}

}  // namespace guts::cli
