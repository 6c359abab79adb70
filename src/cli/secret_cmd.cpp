// guts secret set|list|delete: a repository's Actions secrets (docs/ci.md "Secrets").
// `set` seals the value to every registered runner of the repository (crypto_box_seal to the
// runner's Ed25519 key converted to X25519): no node ever sees it.
#include <sodium.h>

#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/context.h"
#include "core/status.h"
#include "crypto/did.h"

namespace guts::cli {

namespace {

std::string base64(const std::vector<unsigned char>& b) {
  std::string out(sodium_base64_encoded_len(b.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), b.data(), b.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  return out;
}

}  // namespace

void add_secret_commands(CLI::App& app, ContextFn ctx) {
  auto* cmd = app.add_subcommand("secret", "Actions secrets of a repository (OWNER/REPO)");
  cmd->require_subcommand(1);
  struct Args {
    std::string repo, name, body;
  };
  auto a = std::make_shared<Args>();

  auto* set = cmd->add_subcommand("set", "Set a secret, sealed to every runner of the repository");
  set->add_option("repo", a->repo, "OWNER/REPO")->required();
  set->add_option("name", a->name, "Secret name")->required();
  set->add_option("--body,-b", a->body, "The value (default: standard input)");
  set->callback([ctx, a] {
    auto& c = ctx();
    std::string value = a->body;
    if (value.empty()) {
      std::ostringstream ss;
      ss << std::cin.rdbuf();
      value = ss.str();
      while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    }
    if (value.empty()) throw Error(Code::kInvalidArgument, "the secret's value is empty");
    if (sodium_init() < 0) throw Error(Code::kInternal, "libsodium");
    auto runners = c.expect(c.client().get("/api/guts/repos/" + a->repo + "/runners"));
    json sealed = json::array();
    for (const auto& r : runners) {
      auto key = crypto::parse_did(r["did"].get<std::string>());
      if (!key) continue;
      unsigned char x[crypto_box_PUBLICKEYBYTES];
      if (crypto_sign_ed25519_pk_to_curve25519(x, key->data()) != 0) continue;
      std::vector<unsigned char> box(value.size() + crypto_box_SEALBYTES);
      crypto_box_seal(box.data(), reinterpret_cast<const unsigned char*>(value.data()),
                      value.size(), x);
      sealed.push_back(json{{"runner", r["did"]}, {"value", base64(box)}});
    }
    if (sealed.empty())
      throw Error(Code::kFailedPrecondition,
                  "the repository has no registered runner to seal the secret to");
    c.expect(c.client().put("/api/v3/repos/" + a->repo + "/actions/secrets/" + a->name,
                            json{{"sealed", sealed}}.dump()),
             {204});
    c.print(json{{"name", a->name}, {"runners", sealed.size()}},
            "set secret " + a->name + " for " + std::to_string(sealed.size()) + " runner(s)");
  });

  auto* list = cmd->add_subcommand("list", "List the secrets' names (never their values)");
  list->add_option("repo", a->repo, "OWNER/REPO")->required();
  list->callback([ctx, a] {
    auto& c = ctx();
    auto r = c.expect(c.client().get("/api/v3/repos/" + a->repo + "/actions/secrets"));
    std::string human;
    for (const auto& s : r["secrets"]) {
      if (!human.empty()) human += "\n";
      human += s["name"].get<std::string>() + "\tupdated " + s["updated_at"].get<std::string>();
    }
    if (human.empty()) human = "no secrets";
    c.print(r, human);
  });

  auto* del = cmd->add_subcommand("delete", "Delete a secret");
  del->add_option("repo", a->repo, "OWNER/REPO")->required();
  del->add_option("name", a->name, "Secret name")->required();
  del->callback([ctx, a] {
    auto& c = ctx();
    c.expect(c.client().del("/api/v3/repos/" + a->repo + "/actions/secrets/" + a->name), {204});
    c.print(json{{"deleted", a->name}}, "deleted secret " + a->name);
  });
}

}  // namespace guts::cli
