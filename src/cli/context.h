// Shared state of a `guts` invocation: where the user's files live, the identity key, the
// saved logins per node, the HTTP client, and output in human or JSON form.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/http_client.h"
#include "crypto/ed25519.h"
#include "state/tx.h"

namespace guts::cli {

using json = nlohmann::ordered_json;

struct Options {
  std::string node;  // --node / GUTS_NODE / last login / http://127.0.0.1:8080
  bool json = false;
  std::filesystem::path home;  // --home / GUTS_HOME / ~/.config/guts
};

class Context {
 public:
  explicit Context(Options options);

  const Options& options() const { return opts_; }
  std::filesystem::path key_path() const { return opts_.home / "identity.key"; }
  crypto::SigningKey identity() const;  // throws with advice when there is none

  // The node URL in effect, and a client for it (with the saved token, if any).
  std::string node_url() const;
  HttpClient& client();

  // Saved login for the node in effect.
  std::optional<json> login() const;
  void save_login(const json& login);
  void forget_login();

  // Parses a JSON response; on an error status throws guts::Error with the server's message.
  json expect(const HttpResult& result, std::initializer_list<int> ok = {200});

  // Signs a transaction authored and signed by the local identity and submits it, waiting for
  // its block. Returns the outcome JSON; throws on rejection.
  json submit_own(const state::TxBody& body, const std::string& chain_id);

  // Output: JSON when --json, otherwise the human text.
  void print(const json& j, const std::string& human) const;

 private:
  json load_config() const;
  void save_config(const json& config);
  Options opts_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace guts::cli
