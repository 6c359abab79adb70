// End-to-end harness: a real guts-node process (port from --port-file, never a fixed port),
// users of the real `guts` CLI, and the stock `git` binary. No fixed sleeps: everything polls
// with deadlines. Every child process is reaped (git::Process kills and reaps on destruction).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "git/process.h"

namespace guts::e2e {

namespace fs = std::filesystem;
using Env = std::vector<std::pair<std::string, std::string>>;

fs::path bin_dir();
// A fresh directory under $TMPDIR, removed by the returned guard's destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& name);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& p) const { return path_ / p; }

 private:
  fs::path path_;
};

struct Cmd {
  int code = -1;
  std::string out, err;
  bool ok() const { return code == 0; }
  std::string both() const { return out + err; }
};
Cmd run(const std::vector<std::string>& argv, const Env& env = {}, const fs::path& cwd = {},
        const std::string& input = "", std::chrono::seconds timeout = std::chrono::seconds(300));

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline,
                std::chrono::milliseconds interval = std::chrono::milliseconds(20));

class Node {
 public:
  explicit Node(fs::path data_dir);
  ~Node();
  void start();  // waits until the API answers; throws with the log on failure
  void kill9();
  void stop();  // SIGTERM, wait (SIGKILL after a deadline)
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const fs::path& data_dir() const { return data_dir_; }
  std::string log() const;
  pid_t pid() const { return proc_ ? proc_->pid() : -1; }

 private:
  fs::path data_dir_;
  std::unique_ptr<git::Process> proc_;
  uint16_t port_ = 0;
};

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
std::string read_file(const fs::path& p);
std::string trim(std::string s);
// Commits a file change in `repo` with a fixed identity; returns the new HEAD sha.
std::string commit_file(const User& u, const fs::path& repo, const std::string& file,
                        const std::string& content, const std::string& message);
std::string rev_parse(const User& u, const fs::path& repo, const std::string& rev);
// `git ls-remote` as a map ref -> sha (including HEAD when present).
std::vector<std::pair<std::string, std::string>> ls_remote(const User& u, const std::string& url);
std::string bare_ref(const fs::path& bare, const std::string& ref);  // "" when absent
fs::path bare_repo_dir(const Node& node, uint64_t repo_id);

}  // namespace guts::e2e
