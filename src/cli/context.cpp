#include "cli/context.h"

#include <cstdlib>
#include <iostream>

#include "core/fs.h"
#include "core/status.h"
#include "core/time.h"
#include "crypto/did.h"
#include "crypto/keyfile.h"

namespace guts::cli {

Context::Context(Options options) : opts_(std::move(options)) {
  if (opts_.home.empty()) {
    if (const char* h = std::getenv("GUTS_HOME"); h && *h) {
      opts_.home = h;
    } else if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
      opts_.home = std::filesystem::path(xdg) / "guts";
    } else {
      const char* home = std::getenv("HOME");
      opts_.home = std::filesystem::path(home ? home : ".") / ".config" / "guts";
    }
  }
  if (opts_.node.empty())
    if (const char* n = std::getenv("GUTS_NODE"); n && *n) opts_.node = n;
  while (!opts_.node.empty() && opts_.node.back() == '/') opts_.node.pop_back();
}

crypto::SigningKey Context::identity() const {
  if (!std::filesystem::exists(key_path()))
    throw Error(
        Code::kNotFound,
        "no identity yet: run 'guts identity new' (or 'guts identity import ~/.ssh/id_ed25519')");
  return crypto::load_key_file(key_path());
}

json Context::load_config() const {
  auto path = opts_.home / "config.json";
  if (!std::filesystem::exists(path)) return json{{"logins", json::object()}};
  auto data = read_file(path, 1 << 20);
  auto j = json::parse(std::string(data.begin(), data.end()), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error(Code::kInvalidArgument, "malformed " + path.string());
  if (!j.contains("logins")) j["logins"] = json::object();
  return j;
}

void Context::save_config(const json& config) {
  std::filesystem::create_directories(opts_.home);
  atomic_write_file(opts_.home / "config.json", as_bytes(config.dump(2) + "\n"), 0600);
}

std::string Context::node_url() const {
  if (!opts_.node.empty()) return opts_.node;
  auto config = load_config();
  if (config.contains("default_node")) return config["default_node"].get<std::string>();
  return "http://127.0.0.1:8080";
}

HttpClient& Context::client() {
  if (!client_) {
    client_ = std::make_unique<HttpClient>(node_url());
    if (auto l = login(); l && l->contains("token"))
      client_->set_token((*l)["token"].get<std::string>());
    client_->set_timeout(std::chrono::seconds(60));
  }
  return *client_;
}

std::optional<json> Context::login() const {
  auto config = load_config();
  auto url = node_url();
  if (!config["logins"].contains(url)) return std::nullopt;
  return config["logins"][url];
}

void Context::save_login(const json& login) {
  auto config = load_config();
  config["logins"][node_url()] = login;
  config["default_node"] = node_url();
  save_config(config);
  client_.reset();
}

void Context::forget_login() {
  auto config = load_config();
  config["logins"].erase(node_url());
  save_config(config);
  client_.reset();
}

json Context::expect(const HttpResult& r, std::initializer_list<int> ok) {
  json body = r.body.empty() ? json::object() : json::parse(r.body, nullptr, false);
  for (int s : ok)
    if (r.status == s) return body;
  std::string msg = "HTTP " + std::to_string(r.status);
  if (body.is_object() && body.contains("message")) msg = body["message"].get<std::string>();
  if (body.is_object() && body.contains("errors") && body["errors"].is_array())
    for (const auto& e : body["errors"])
      if (e.contains("message")) msg += ": " + e["message"].get<std::string>();
  Code code = r.status == 401   ? Code::kUnauthenticated
              : r.status == 403 ? Code::kPermissionDenied
              : r.status == 404 ? Code::kNotFound
                                : Code::kInvalidArgument;
  throw Error(code, msg);
}

json Context::submit_own(const state::TxBody& body, const std::string& chain_id) {
  auto key = identity();
  auto did = crypto::did_from_key(key.public_key());
  auto ident = expect(client().get("/api/guts/identities/" + did));
  state::Transaction tx;
  tx.chain_id = chain_id;
  tx.author = key.public_key();
  tx.nonce = ident["next_nonce"].get<uint64_t>();
  tx.timestamp_ms = unix_millis();
  tx.body = body;
  tx.sign(key);
  return expect(
      client().post("/api/guts/transactions", json{{"tx", hex_encode(tx.encode())}}.dump()));
}

void Context::print(const json& j, const std::string& human) const {
  if (opts_.json)
    std::cout << j.dump(2) << "\n";
  else if (!human.empty())
    std::cout << human << (human.back() == '\n' ? "" : "\n");
}

}  // namespace guts::cli
