#include <memory>

#include "cli/commands.h"
#include "core/status.h"
#include "core/time.h"
#include "crypto/did.h"
#include "state/token_request.h"

namespace guts::cli {

namespace {
constexpr uint64_t kDelegationLifetimeMs = 365ull * 24 * 3600 * 1000;
}

void add_auth_commands(CLI::App& app, ContextFn ctx) {
  auto* auth = app.add_subcommand("auth", "Log in to a node: register, delegate, get a token");
  auth->require_subcommand(1);

  auto* login =
      auth->add_subcommand("login", "Authorize a node to act for you and store its token");
  auto username = std::make_shared<std::string>();
  login->add_option("--username", *username, "Username to register on first login");
  login->callback([ctx, username] {
    auto& c = ctx();
    auto key = c.identity();
    auto did = crypto::did_from_key(key.public_key());
    auto status = c.expect(c.client().get("/api/guts/status"));
    auto chain_id = status["chain_id"].get<std::string>();
    auto node_did = status["node_did"].get<std::string>();
    auto node_key = crypto::parse_did(node_did);
    if (!node_key) throw Error(Code::kInvalidArgument, "node reported an invalid did");

    auto ident = c.expect(c.client().get("/api/guts/identities/" + did));
    std::string name = ident["username"].is_string() ? ident["username"].get<std::string>() : "";
    if (name.empty()) {
      if (username->empty())
        throw Error(Code::kInvalidArgument,
                    "this identity has no username on this network yet: pass --username NAME");
      c.submit_own(state::RegisterUser{*username}, chain_id);
      name = *username;
    } else if (!username->empty() && *username != name) {
      throw Error(Code::kConflict, "this identity is already registered as '" + name + "'");
    }

    bool delegated = false;
    for (const auto& d : ident["delegations"])
      if (d["node"] == node_did && d["scopes"].get<uint64_t>() == state::kScopeAll)
        delegated = true;
    uint64_t now = unix_millis();
    if (!delegated)
      c.submit_own(state::GrantDelegation{*node_key, state::kScopeAll, now + kDelegationLifetimeMs},
                   chain_id);

    auto payload = api::token_request_payload(chain_id, *node_key, key.public_key(), now);
    auto sig = key.sign(api::kTokenRequestDomain, payload);
    auto tok = c.expect(
        c.client().post(
            "/api/guts/tokens",
            json{{"did", did}, {"timestamp_ms", now}, {"signature", hex_encode(sig)}}.dump()),
        {201});
    c.save_login(json{{"token", tok["token"]},
                      {"token_id", tok["id"]},
                      {"username", name},
                      {"did", did},
                      {"node_did", node_did},
                      {"chain_id", chain_id}});
    c.print(json{{"node", c.node_url()}, {"username", name}, {"did", did}, {"token_id", tok["id"]}},
            "Logged in to " + c.node_url() + " as " + name + " (" + did + ")");
  });

  auto* logout = auth->add_subcommand("logout", "Revoke this node's token and delegation");
  logout->callback([ctx] {
    auto& c = ctx();
    auto l = c.login();
    if (!l) throw Error(Code::kNotFound, "not logged in to " + c.node_url());
    c.client().del(
        "/api/guts/tokens/current");  // best effort: the delegation revocation is what counts
    c.client().set_token("");
    auto node_key = crypto::parse_did((*l)["node_did"].get<std::string>());
    auto ident = c.expect(c.client().get("/api/guts/identities/" + (*l)["did"].get<std::string>()));
    bool delegated = false;
    for (const auto& d : ident["delegations"])
      if (d["node"] == (*l)["node_did"]) delegated = true;
    if (delegated && node_key)
      c.submit_own(state::RevokeDelegation{*node_key}, (*l)["chain_id"].get<std::string>());
    c.forget_login();
    c.print(json{{"node", c.node_url()}, {"logged_out", true}}, "Logged out of " + c.node_url());
  });

  // Revoking a delegation through another node: the way out when the delegated node's key is
  // compromised or its operator is gone (docs/operator/key-compromise.md). Signed by the
  // identity key, so the node it goes through cannot forge or alter it.
  auto* revoke = auth->add_subcommand(
      "revoke",
      "Revoke a node's delegation (signed by your identity key; submitted through the "
      "node in effect, which may be another node than the revoked one)");
  auto revoked = std::make_shared<std::string>();
  revoke->add_option("node-did", *revoked, "The DID of the node to revoke")->required();
  revoke->callback([ctx, revoked] {
    auto& c = ctx();
    auto node_key = crypto::parse_did(*revoked);
    if (!node_key) throw Error(Code::kInvalidArgument, "'" + *revoked + "' is not a did:key DID");
    // Only public reads and a transaction signed here: no token (it may be the revoked node's).
    c.client().set_token("");
    auto status = c.expect(c.client().get("/api/guts/status"));
    auto did = crypto::did_from_key(c.identity().public_key());
    auto ident = c.expect(c.client().get("/api/guts/identities/" + did));
    bool delegated = false;
    for (const auto& d : ident["delegations"])
      if (d["node"] == *revoked) delegated = true;
    if (!delegated) throw Error(Code::kNotFound, *revoked + " holds no delegation of " + did);
    auto r =
        c.submit_own(state::RevokeDelegation{*node_key}, status["chain_id"].get<std::string>());
    c.print(json{{"revoked", *revoked}, {"did", did}, {"tx", r}},
            "Revoked the delegation of " + *revoked + " (through " + c.node_url() + ")");
  });

  auto* status = auth->add_subcommand("status", "Show who you are logged in as");
  status->callback([ctx] {
    auto& c = ctx();
    auto l = c.login();
    if (!l)
      throw Error(Code::kNotFound, "not logged in to " + c.node_url() + ": run 'guts auth login'");
    auto who = c.expect(c.client().get("/api/guts/tokens/current"));
    c.print(json{{"node", c.node_url()},
                 {"username", who["username"]},
                 {"did", who["did"]},
                 {"token_id", who["id"]}},
            "Logged in to " + c.node_url() + " as " + who["username"].get<std::string>() + " (" +
                who["did"].get<std::string>() + ", token " + who["id"].get<std::string>() + ")");
  });
}

}  // namespace guts::cli
