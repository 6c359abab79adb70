#include "cli/trust.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/http_client.h"
#include "core/fs.h"
#include "core/status.h"
#include "git/process.h"

namespace guts::cli {

namespace fs = std::filesystem;

fs::path trusted_genesis_path(const fs::path& home) {
  return home / "trusted-genesis.json";
}

verify::TrustAnchor load_trust_anchor(const fs::path& home) {
  auto path = trusted_genesis_path(home);
  if (!fs::exists(path))
    throw Error(Code::kFailedPrecondition,
                "no trusted genesis: run `guts network trust GENESIS.json` with the network's "
                "genesis file (its validators are what proofs are checked against)");
  return verify::TrustAnchor::from_genesis(state::Genesis::load(path));
}

std::vector<std::string> configured_nodes(const fs::path& home) {
  std::vector<std::string> out;
  if (const char* env = std::getenv("GUTS_NODES")) {
    std::stringstream ss(env);
    std::string url;
    while (std::getline(ss, url, ','))
      if (!url.empty()) out.push_back(url);
  }
  auto path = home / "nodes.json";
  if (fs::exists(path)) {
    std::ifstream in(path);
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_object() && j["nodes"].is_array())
      for (const auto& u : j["nodes"])
        if (u.is_string() && std::find(out.begin(), out.end(), u.get<std::string>()) == out.end())
          out.push_back(u.get<std::string>());
  }
  return out;
}

void save_nodes(const fs::path& home, const std::vector<std::string>& nodes) {
  fs::create_directories(home);
  nlohmann::json j{{"nodes", nodes}};
  std::ofstream(home / "nodes.json") << j.dump(2) << "\n";
}

std::optional<RemoteRepo> parse_remote_url(std::string_view url) {
  RemoteRepo r;
  std::string_view rest;
  if (url.starts_with("guts://")) {
    rest = url.substr(7);
  } else if (url.starts_with("http://") || url.starts_with("https://")) {
    auto scheme_end = url.find("://") + 3;
    auto slash = url.find('/', scheme_end);
    if (slash == std::string_view::npos) return std::nullopt;
    r.node = std::string(url.substr(0, slash));
    rest = url.substr(slash + 1);
  } else {
    return std::nullopt;
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  r.owner = std::string(rest.substr(0, slash));
  r.name = std::string(rest.substr(slash + 1));
  if (r.name.ends_with(".git")) r.name.resize(r.name.size() - 4);
  if (r.name.empty() || r.name.find('/') != std::string::npos) return std::nullopt;
  return r;
}

verify::VerifiedRepo fetch_verified(const std::string& node_url, const verify::TrustAnchor& anchor,
                                    const std::string& owner, const std::string& name,
                                    const std::string& token) {
  HttpClient client(node_url);
  client.set_timeout(std::chrono::seconds(30));
  if (!token.empty()) client.set_token(token);
  HttpResult res;
  try {
    res = client.get("/api/guts/proofs/repos/" + owner + "/" + name);
  } catch (const Error& e) {
    throw Error(Code::kUnavailable, node_url + " does not answer: " + e.status().message());
  }
  if (res.status != 200) {
    std::string msg = res.body;
    auto j = nlohmann::json::parse(res.body, nullptr, false);
    if (j.is_object() && j.contains("message") && j["message"].is_string())
      msg = j["message"].get<std::string>();
    throw Error(res.status >= 500 ? Code::kUnavailable : Code::kNotFound,
                node_url + " answered " + std::to_string(res.status) + " for the proof: " + msg);
  }
  auto bundle = verify::bundle_from_json(res.body);
  // Signed by a later validator set than the trusted genesis' (docs/verify.md "Validator set
  // changes"): follow the chain of hand-overs from this node first; every link is verified from
  // the genesis set on, so the node is trusted for nothing.
  if (anchor.set_of(verify::certificate_epoch(bundle.certificate)))
    return verify::verify_repo_proof(anchor, bundle, owner, name);
  HttpResult chain;
  try {
    chain = client.get("/api/guts/proofs/validators");
  } catch (const Error& e) {
    throw Error(Code::kUnavailable, node_url + " does not answer: " + e.status().message());
  }
  if (chain.status != 200)
    throw Error(Code::kUnavailable, node_url + " answered " + std::to_string(chain.status) +
                                        " for the validator-set chain");
  auto followed = anchor;
  verify::follow_epochs(followed, verify::epoch_links_from_json(chain.body));
  const uint64_t epoch = verify::certificate_epoch(bundle.certificate);
  if (!followed.set_of(epoch))
    throw Error(Code::kUnavailable,
                node_url + " cannot prove the validator set of epoch " + std::to_string(epoch) +
                    " (its chain of hand-overs stops at epoch " +
                    std::to_string(followed.later_epochs.size()) + "): try another node");
  return verify::verify_repo_proof(followed, bundle, owner, name);
}

std::map<std::string, std::string> git_refs(const fs::path& repo, const std::string& prefix) {
  git::GitOptions o;
  o.cwd = repo;
  auto r = git::run_git({"for-each-ref", "--format=%(objectname) %(refname)", prefix}, o);
  if (!r.ok()) throw Error(Code::kInvalidArgument, repo.string() + " is not a git repository");
  std::map<std::string, std::string> out;
  std::stringstream ss(r.out);
  std::string line;
  while (std::getline(ss, line)) {
    auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(sp + 1)] = line.substr(0, sp);
  }
  return out;
}

std::string check_reachable(const fs::path& repo, const std::vector<std::string>& oids) {
  if (oids.empty()) return {};
  git::GitOptions o;
  o.cwd = repo;
  std::string in;
  for (const auto& oid : oids) in += oid + "\n";
  auto r = git::run_git({"rev-list", "--objects", "--quiet", "--missing=error", "--stdin"}, o, in);
  if (r.ok()) return {};
  return "objects reachable from the finalized refs are missing or corrupt: " +
         (r.err.empty() ? r.exit.describe() : r.err);
}

}  // namespace guts::cli
