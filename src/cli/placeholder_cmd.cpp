// guts placeholder show|claim|withdraw|list|confirm|unconfirm: claiming the placeholder
// identities (HOST/LOGIN) that `guts migrate` names as the authors of migrated items
// (docs/migrate.md "Authors: placeholder identities"; REST in api/placeholder_routes.cpp).
#include "cli/collab_cli.h"
#include "cli/commands.h"
#include "core/status.h"

namespace guts::cli {

namespace {

struct Placeholder {
  std::string host, login;
};

// "HOST/LOGIN" (the host may carry a :port; logins have no '/').
Placeholder parse_placeholder(const std::string& s) {
  auto slash = s.rfind('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == s.size())
    throw Error(Code::kInvalidArgument,
                "expected HOST/LOGIN (e.g. github.com/monalisa), got '" + s + "'");
  return {s.substr(0, slash), s.substr(slash + 1)};
}

std::string login_or_did(const json& who) {
  if (who.contains("login") && who["login"].is_string()) return who["login"].get<std::string>();
  return who.value("did", "?");
}

void print_claims(Context& c, const json& r) {
  std::string human = r.value("placeholder", "");
  if (r["claims"].empty()) human += ": no claims";
  for (const auto& cl : r["claims"])
    human += "\n  claimed by " + login_or_did(cl["claimant"]) + " (" + cl.value("did", "") +
             ") on " + cl.value("created_at", "") + "\n    proof: " + cl.value("proof_url", "");
  c.print(r, human);
}

std::string confirmation_line(const json& x) {
  return x.value("placeholder", "") + " -> " + login_or_did(x["claimant"]) + " (items by " +
         login_or_did(x["migrator"]) + "; confirmed by " + login_or_did(x["confirmed_by"]) +
         " on " + x.value("confirmed_at", "") + ")";
}

}  // namespace

void add_placeholder_commands(CLI::App& app, ContextFn ctx) {
  auto* p = app.add_subcommand(
      "placeholder", "Claim the placeholder identities of migrated items (docs/migrate.md)");
  p->require_subcommand(1);
  struct Args {
    std::string name, proof, repo, claimant, migrator;
  };
  auto a = std::make_shared<Args>();

  auto* show = p->add_subcommand("show", "Who claims a placeholder HOST/LOGIN");
  show->add_option("placeholder", a->name, "HOST/LOGIN")->required();
  show->callback([ctx, a] {
    auto& c = ctx();
    auto ph = parse_placeholder(a->name);
    print_claims(c, c.expect(c.client().get("/api/guts/placeholders/" + ph.host + "/" + ph.login)));
  });

  auto* claim = p->add_subcommand(
      "claim", "Claim HOST/LOGIN as yours, with a URL on that forge that shows it");
  claim->add_option("placeholder", a->name, "HOST/LOGIN")->required();
  claim
      ->add_option("--proof", a->proof,
                   "A page only LOGIN can write that names your did:key (gist, profile)")
      ->required();
  claim->callback([ctx, a] {
    auto& c = ctx();
    auto ph = parse_placeholder(a->name);
    json body{{"host", ph.host}, {"login", ph.login}, {"proof_url", a->proof}};
    print_claims(c, c.expect(c.client().post("/api/guts/placeholders/claims", body.dump()), {201}));
  });

  auto* withdraw = p->add_subcommand("withdraw", "Withdraw your claim of HOST/LOGIN");
  withdraw->add_option("placeholder", a->name, "HOST/LOGIN")->required();
  withdraw->callback([ctx, a] {
    auto& c = ctx();
    auto ph = parse_placeholder(a->name);
    c.expect(c.client().del("/api/guts/placeholders/" + ph.host + "/" + ph.login + "/claim"),
             {204});
    c.print(json{{"withdrawn", a->name}}, "withdrew the claim of " + a->name);
  });

  auto* list = p->add_subcommand("list", "The placeholders confirmed in a repository");
  list->add_option("repo", a->repo, "OWNER/REPO")->required();
  list->callback([ctx, a] {
    auto& c = ctx();
    auto r = c.expect(c.client().get("/api/guts/repos/" + a->repo + "/placeholders"));
    std::string human = r.empty() ? "no confirmed placeholders" : "";
    for (const auto& x : r) human += (human.empty() ? "" : "\n") + confirmation_line(x);
    c.print(r, human);
  });

  auto* confirm = p->add_subcommand(
      "confirm", "As an admin of OWNER/REPO: show its items by HOST/LOGIN as the claimant's");
  confirm->add_option("repo", a->repo, "OWNER/REPO")->required();
  confirm->add_option("placeholder", a->name, "HOST/LOGIN")->required();
  confirm->add_option("--claimant", a->claimant, "The claiming user (name or did:key)")->required();
  confirm->add_option("--migrator", a->migrator,
                      "Who ran the migration (name or did:key; default: you)");
  confirm->callback([ctx, a] {
    auto& c = ctx();
    auto ph = parse_placeholder(a->name);
    json body{{"claimant", a->claimant}};
    if (!a->migrator.empty()) body["migrator"] = a->migrator;
    auto r = c.expect(c.client().put(
        "/api/guts/repos/" + a->repo + "/placeholders/" + ph.host + "/" + ph.login, body.dump()));
    c.print(r, confirmation_line(r));
  });

  auto* unconfirm = p->add_subcommand("unconfirm", "Remove a confirmation from OWNER/REPO");
  unconfirm->add_option("repo", a->repo, "OWNER/REPO")->required();
  unconfirm->add_option("placeholder", a->name, "HOST/LOGIN")->required();
  unconfirm->callback([ctx, a] {
    auto& c = ctx();
    auto ph = parse_placeholder(a->name);
    c.expect(
        c.client().del("/api/guts/repos/" + a->repo + "/placeholders/" + ph.host + "/" + ph.login),
        {204});
    c.print(json{{"unconfirmed", a->name}}, "removed the confirmation of " + a->name);
  });
}

}  // namespace guts::cli
