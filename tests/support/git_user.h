// A person at a terminal, for multi-process tests: a GUTS_HOME (identity, one login per node
// URL) and an isolated git environment whose global configuration asks `guts credential` for
// every node's credentials. Plus the small git helpers those tests share.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/node_harness.h"

namespace guts::testing {

using Refs = std::map<std::string, std::string>;  // ref name -> oid

class GitUser {
 public:
  // Creates <root>/<name> and a fresh identity in it; configures git.
  GitUser(const fs::path& root, std::string name);

  Env env() const;
  CmdResult git(const std::vector<std::string>& args, const fs::path& cwd = {},
                std::chrono::seconds timeout = std::chrono::seconds(120),
                const std::string& input = "") const;
  // The CLI against `node_url` ("" for commands that need no node).
  CmdResult guts(const std::string& node_url, const std::vector<std::string>& args) const;
  // guts auth login: registers the name (first login), delegates to the node (once per node),
  // and saves a token for this URL, which the credential helper hands to git. A restarted node
  // listens on a new port: log in again.
  void login(const std::string& node_url) const;
  // guts repo create; returns the repository id.
  uint64_t create_repo(const std::string& node_url, const std::string& repo) const;
  std::string remote(const std::string& node_url, const std::string& repo) const;

  const std::string& name() const { return name_; }
  const fs::path& home() const { return home_; }

 private:
  fs::path home_;
  std::string name_;
};

std::string trim(std::string s);
// The trimmed stdout of a command that must succeed; throws naming `what` otherwise.
std::string must(const CmdResult& r, const std::string& what);
// `git ls-remote` of a node's repository: every advertised ref under refs/ (no HEAD, no peeled
// "^{}" lines). nullopt when git fails (e.g. 503 while the node still replicates the objects),
// with git's output in `*error` when given.
std::optional<Refs> ls_remote(const GitUser& u, const std::string& url,
                              std::string* error = nullptr);

}  // namespace guts::testing
