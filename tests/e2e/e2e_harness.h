// End-to-end harness: users of the real `guts` CLI and the stock `git` binary against a real
// guts-node process. The node, commands, temporary directories and polling come from the shared
// process harness (tests/support/node_harness.h); this file adds what is specific to git: a user
// with an isolated git environment and helpers on work trees and bare repositories.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/node_harness.h"

namespace guts::e2e {

namespace fs = std::filesystem;
using testing::bin_dir;
using testing::Env;
using testing::read_file;
using testing::run;
using testing::TempDir;
using testing::wait_until;
using Cmd = testing::CmdResult;
using Node = testing::NodeProcess;

// A person with a GUTS_HOME, a HOME for git (isolated config), an identity, a login.
class User {
 public:
  User(const fs::path& root, std::string name, const Node& node);
  // guts identity new + guts auth login --username <name>
  void sign_up();
  Cmd guts(const std::vector<std::string>& args, const std::string& input = "") const;
  // git with this user's environment (HOME, identity, no prompts, no system config).
  Cmd git(const std::vector<std::string>& args, const fs::path& cwd = {}, const Env& extra = {},
          std::chrono::seconds timeout = std::chrono::seconds(300)) const;
  Env env() const;
  const std::string& name() const { return name_; }
  const fs::path& home() const { return home_; }
  std::string token() const;
  // http://<name>:<token>@127.0.0.1:port/<owner>/<repo>.git
  std::string remote(const std::string& owner, const std::string& repo,
                     bool with_token = true) const;
  std::string anonymous_remote(const std::string& owner, const std::string& repo) const;
  void set_node(const Node& node);  // after a restart on another port

  // REST helpers (with this user's token).
  int api(const std::string& method, const std::string& path, const std::string& body = "",
          std::string* response = nullptr) const;

 private:
  fs::path home_;
  std::string name_;
  std::string node_url_;
  mutable std::string token_;  // cached: the login is saved under the node URL of sign-up
};

// Helpers on a work tree.
void write_file(const fs::path& p, const std::string& content);
std::string trim(std::string s);
// Commits a file change in `repo` with a fixed identity; returns the new HEAD sha.
std::string commit_file(const User& u, const fs::path& repo, const std::string& file,
                        const std::string& content, const std::string& message);
std::string rev_parse(const User& u, const fs::path& repo, const std::string& rev);
// `git ls-remote` as a map ref -> sha (including HEAD when present).
std::vector<std::pair<std::string, std::string>> ls_remote(const User& u, const std::string& url);
// (ref name, oid) pairs of `git ls-remote` output.
std::vector<std::pair<std::string, std::string>> parse_ls_remote(const std::string& text);
std::string bare_ref(const fs::path& bare, const std::string& ref);  // "" when absent
fs::path bare_repo_dir(const Node& node, uint64_t repo_id);

}  // namespace guts::e2e
