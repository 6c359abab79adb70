// Test harness for process-level tests: a guts-node child process on a free port (the node
// writes the bound port to a file, so there is no race on picking ports), CLI invocations, and
// polling with deadlines instead of sleeps. Every child is reaped.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "git/process.h"

namespace guts::testing {

std::filesystem::path bin_dir();  // where guts-node and guts were built
std::filesystem::path unique_temp_dir(const std::string& name);

struct CmdResult {
  int code = -1;
  std::string out, err;
};
// Runs a program (no shell) with extra environment variables; `input` goes to stdin.
CmdResult run(const std::vector<std::string>& argv,
              const std::vector<std::pair<std::string, std::string>>& env = {},
              const std::string& input = "", std::chrono::seconds timeout = std::chrono::seconds(120));

// Polls `cond` until it holds or the deadline passes.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline,
                std::chrono::milliseconds interval = std::chrono::milliseconds(20));

class NodeProcess {
 public:
  explicit NodeProcess(std::filesystem::path data_dir, std::vector<std::string> extra_args = {});
  ~NodeProcess();

  // Starts guts-node and waits until its API answers (throws on failure or timeout).
  void start();
  void kill9();  // SIGKILL, then reap
  void stop();   // SIGTERM, then wait (kills after a deadline)
  bool running() const { return proc_ != nullptr; }

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::string log() const;  // the node's stderr so far (for failure messages)

 private:
  std::filesystem::path data_dir_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<git::Process> proc_;
  uint16_t port_ = 0;
};

// A user of the `guts` CLI with its own GUTS_HOME.
class CliUser {
 public:
  CliUser(std::filesystem::path home, std::string node_url);
  CmdResult guts(const std::vector<std::string>& args, const std::string& input = "") const;
  const std::filesystem::path& home() const { return home_; }
  std::string token() const;  // from the saved login

 private:
  std::filesystem::path home_;
  std::string node_url_;
};

}  // namespace guts::testing
