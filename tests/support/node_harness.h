// Test harness for process-level tests (integration, e2e, network): a guts-node child process
// on a free port (the node writes the bound port to a file, so there is no race on picking API
// ports), commands run without a shell, and polling with deadlines instead of sleeps. Every
// child is reaped.
//
// The node's stdout and stderr (spdlog) append to <data_dir>/node.log, one "==== start" line
// per start, so a failing test can print what each node did across restarts.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/net_addr.h"

namespace guts::testing {

namespace fs = std::filesystem;
using Env = std::vector<std::pair<std::string, std::string>>;

fs::path bin_dir();  // where guts-node and guts were built
// A fresh, empty directory under $TMPDIR (not removed: see TempDir for a scoped one).
fs::path unique_temp_dir(const std::string& name);

// GUTS_TEST_KEEP (or the older GUTS_E2E_KEEP) is set to something other than "" or "0": test
// directories are kept for inspection even when the test passes.
bool keep_test_dirs();

// A fresh directory under $TMPDIR, removed by the destructor unless keep_test_dirs().
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

struct CmdResult {
  int code = -1;  // exit code; 128 + signal when killed; -2 on timeout
  std::string out, err;
  bool ok() const { return code == 0; }
  std::string both() const { return out + err; }
};
// Runs a program (no shell; argv[0] is looked up in PATH) with extra environment variables, in
// `cwd` (empty: inherit); `input` goes to stdin.
CmdResult run(const std::vector<std::string>& argv, const Env& env = {}, const fs::path& cwd = {},
              const std::string& input = "",
              std::chrono::seconds timeout = std::chrono::seconds(300));

// Polls `cond` until it holds or the deadline passes.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline,
                std::chrono::milliseconds interval = std::chrono::milliseconds(20));

std::string read_file(const fs::path& p);  // "" when absent

// Free TCP ports on 127.0.0.1 (for flags that need a concrete port, e.g. a p2p address
// announced to peers): pick_free_port() / pick_free_ports() from core/net_addr.h. Another
// process may take one before it is bound, so callers retry a failed start on a new port.

class NodeProcess {
 public:
  // `extra_args` are appended to the defaults (--api-addr 127.0.0.1:0, --port-file, --data-dir,
  // and, unless given, --p2p-addr 127.0.0.1:0 and --log-level $GUTS_TEST_LOG_LEVEL or info).
  explicit NodeProcess(fs::path data_dir, std::vector<std::string> extra_args = {});
  ~NodeProcess();  // SIGKILL and reap if still running
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // Starts guts-node and waits until its API answers. Throws (with the log) when the node exits
  // or does not answer in time; the child is reaped either way.
  void start();
  void kill9();  // SIGKILL to the node's process group, then reap
  void stop();   // SIGTERM, wait up to 30 s (then SIGKILL), reap
  bool running() const { return pid_ > 0; }
  // Non-blocking: true (and reaped) if a started node has exited on its own since start().
  bool exited();
  // How the last run ended ("exit 0", "killed by signal 9"); "" while running or never started.
  const std::string& exit_status() const { return exit_status_; }

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }
  // "https" for a node with --tls-cert-file (the harness's client trusts $GUTS_CA_FILE).
  std::string& scheme() { return scheme_; }
  const fs::path& data_dir() const { return data_dir_; }
  fs::path log_path() const { return data_dir_ / "node.log"; }
  std::string log() const;  // the node's stdout and stderr so far, over all starts
  std::vector<std::string>& extra_args() { return extra_args_; }  // applies at the next start()
  // The program started, in bin_dir() (default "guts-node"; e.g. "guts-node-byzantine"), and
  // variables added to (or replacing) the node's inherited environment (e.g. GUTS_BYZANTINE).
  // Both apply at the next start().
  std::string& program() { return program_; }
  Env& env() { return env_; }

 private:
  void reap(int wait_status);
  // Waits for the child until `deadline`; true once reaped.
  bool wait_for_exit(std::chrono::milliseconds deadline);

  fs::path data_dir_;
  std::vector<std::string> extra_args_;
  std::string program_ = "guts-node";
  std::string scheme_ = "http";
  Env env_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string exit_status_;
};

// A user of the `guts` CLI with its own GUTS_HOME.
class CliUser {
 public:
  CliUser(fs::path home, std::string node_url);
  CmdResult guts(const std::vector<std::string>& args, const std::string& input = "") const;
  const fs::path& home() const { return home_; }
  std::string token() const;  // from the saved login

 private:
  fs::path home_;
  std::string node_url_;
};

}  // namespace guts::testing
