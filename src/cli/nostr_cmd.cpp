// guts nostr keygen|bind|unbind|show: the secp256k1 key a Guts identity speaks with on Nostr,
// bound to the identity by kind 75 (docs/nostr.md "Binding a key"; REST in
// api/nostr_routes.cpp). The bridge (`guts-nostr`) signs its events with this key file.
#include "cli/commands.h"
#include "core/bytes.h"
#include "core/status.h"
#include "crypto/keyfile.h"
#include "nostr/nip19.h"
#include "state/nostr_binding.h"

namespace guts::cli {

namespace {

std::filesystem::path nostr_key_path(const Context& c, const std::string& given) {
  return given.empty() ? c.options().home / "nostr.key" : std::filesystem::path(given);
}

std::string binding_text(const json& b) {
  std::string who = b["user"].is_object() ? b["user"].value("login", "") : "";
  std::string text = b.value("npub", "") + " is bound to " +
                     (who.empty() ? b.value("did", "") : who) + " since " +
                     b.value("bound_at", "") + "\n  pubkey " + b.value("pubkey", "") +
                     "\n  statement signed by the key:";
  std::string statement = b.value("statement", "");
  for (size_t at = 0; at < statement.size();) {
    size_t end = statement.find('\n', at);
    if (end == std::string::npos) end = statement.size();
    text += "\n    " + statement.substr(at, end - at);
    at = end + 1;
  }
  return text;
}

}  // namespace

void add_nostr_commands(CLI::App& app, ContextFn ctx) {
  auto* n = app.add_subcommand("nostr", "Your Nostr key and its binding to your identity");
  n->require_subcommand(1);
  struct Args {
    std::string key, user;
  };
  auto a = std::make_shared<Args>();

  auto* keygen = n->add_subcommand("keygen", "Create a Nostr (secp256k1) key file, mode 0600");
  keygen->add_option("--key", a->key, "key file (default: <home>/nostr.key)");
  keygen->callback([ctx, a] {
    auto& c = ctx();
    auto path = nostr_key_path(c, a->key);
    auto key = crypto::create_schnorr_key_file(path);
    auto npub = nostr::npub_encode(key.public_key());
    c.print(
        json{{"key_file", path.string()}, {"npub", npub}, {"pubkey", hex_encode(key.public_key())}},
        "Created " + path.string() + "\n" + npub);
  });

  auto* bind =
      n->add_subcommand("bind", "Bind the Nostr key to your identity (both keys sign; kind 75)");
  bind->add_option("--key", a->key, "key file (default: <home>/nostr.key)");
  bind->callback([ctx, a] {
    auto& c = ctx();
    auto key = crypto::load_schnorr_key_file(nostr_key_path(c, a->key));
    auto identity = c.identity();
    auto chain_id = c.expect(c.client().get("/api/guts/status"))["chain_id"].get<std::string>();
    c.submit_own(state::make_nostr_binding(chain_id, identity.public_key(), key), chain_id);
    auto b = c.expect(c.client().get("/api/guts/nostr/" + hex_encode(key.public_key())));
    c.print(b, binding_text(b));
  });

  auto* unbind = n->add_subcommand("unbind", "Remove your identity's Nostr key binding");
  unbind->callback([ctx] {
    auto& c = ctx();
    auto chain_id = c.expect(c.client().get("/api/guts/status"))["chain_id"].get<std::string>();
    state::BindNostrKey body;
    body.unbind = true;
    c.submit_own(body, chain_id);
    c.print(json{{"unbound", true}}, "Unbound");
  });

  auto* show = n->add_subcommand("show", "The Nostr key a user binds (default: you)");
  show->add_option("user", a->user, "user name, or an npub to find its identity");
  show->callback([ctx, a] {
    auto& c = ctx();
    std::string path;
    if (a->user.starts_with("npub1")) {
      path = "/api/guts/nostr/" + a->user;
    } else {
      std::string user = a->user;
      if (user.empty()) {
        auto login = c.login();
        if (!login || !login->contains("username"))
          throw Error(Code::kInvalidArgument, "not logged in: name a user (guts nostr show USER)");
        user = (*login)["username"].get<std::string>();
      }
      path = "/api/guts/users/" + user + "/nostr";
    }
    auto b = c.expect(c.client().get(path));
    c.print(b, binding_text(b));
  });
}

}  // namespace guts::cli
