#include "tests/support/node_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/http_client.h"

namespace guts::testing {

std::filesystem::path bin_dir() { return GUTS_BIN_DIR; }

std::filesystem::path unique_temp_dir(const std::string& name) {
  static int counter = 0;
  auto d = std::filesystem::temp_directory_path() /
           ("guts-it-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

CmdResult run(const std::vector<std::string>& argv,
              const std::vector<std::pair<std::string, std::string>>& env, const std::string& input,
              std::chrono::seconds timeout) {
  git::ProcessOptions o;
  o.argv = argv;
  o.env = env;
  o.timeout = timeout;
  auto p = git::Process::spawn(o);
  CmdResult r;
  auto st = p.pump(git::source_from(as_bytes(input)), git::sink_to(r.out), git::sink_to(r.err));
  r.code = st.timed_out ? -2 : st.code;
  return r;
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline,
                std::chrono::milliseconds interval) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(interval);
  }
  return cond();
}

NodeProcess::NodeProcess(std::filesystem::path data_dir, std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {}

NodeProcess::~NodeProcess() {
  if (proc_) kill9();
}

void NodeProcess::start() {
  auto port_file = data_dir_ / "api.port";
  std::filesystem::create_directories(data_dir_);
  std::filesystem::remove(port_file);
  git::ProcessOptions o;
  o.argv = {(bin_dir() / "guts-node").string(), "--api-addr", "127.0.0.1:0", "--port-file",
            port_file.string(), "--data-dir", data_dir_.string()};
  // Defaults the caller may override: a free p2p port (nodes of different tests never collide
  // on 9000) and a quiet log (GUTS_TEST_LOG_LEVEL for debugging).
  auto has = [&](const char* flag) {
    return std::find(extra_args_.begin(), extra_args_.end(), flag) != extra_args_.end();
  };
  if (!has("--p2p-addr")) o.argv.insert(o.argv.end(), {"--p2p-addr", "127.0.0.1:0"});
  if (!has("--log-level")) {
    const char* level = std::getenv("GUTS_TEST_LOG_LEVEL");
    o.argv.insert(o.argv.end(), {"--log-level", level && *level ? level : "warn"});
  }
  o.argv.insert(o.argv.end(), extra_args_.begin(), extra_args_.end());
  o.capture_stdin = false;
  o.capture_stdout = false;
  // stderr goes to a file so a chatty node can never block on a full pipe.
  o.capture_stderr = false;
  auto log_path = data_dir_ / "node.log";
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int saved = ::dup(2);
  ::dup2(fd, 2);  // the child inherits fd 2 at spawn
  auto p = git::Process::spawn(o);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  proc_ = std::make_unique<git::Process>(std::move(p));
  port_ = 0;
  bool up = wait_until(
      [&] {
        std::ifstream in(port_file);
        int port = 0;
        if (!(in >> port) || port <= 0) return false;
        port_ = static_cast<uint16_t>(port);
        return true;
      },
      std::chrono::seconds(60));
  if (!up) {
    kill9();
    throw std::runtime_error("guts-node did not start:\n" + log());
  }
  cli::HttpClient client(url());
  bool ready = wait_until(
      [&] {
        try {
          return client.get("/api/guts/status").status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      std::chrono::seconds(30));
  if (!ready) throw std::runtime_error("guts-node API not ready:\n" + log());
}

void NodeProcess::kill9() {
  if (!proc_) return;
  proc_->kill(SIGKILL);
  proc_->wait();
  proc_.reset();
}

void NodeProcess::stop() {
  if (!proc_) return;
  ::kill(proc_->pid(), SIGTERM);
  // A watchdog forces the issue if the node does not exit in time; wait() reaps either way.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  pid_t pid = proc_->pid();
  std::thread watchdog([&] {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return done; })) ::kill(-pid, SIGKILL);
  });
  proc_->wait();
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  proc_.reset();
}

std::string NodeProcess::log() const {
  std::ifstream in(data_dir_ / "node.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CliUser::CliUser(std::filesystem::path home, std::string node_url)
    : home_(std::move(home)), node_url_(std::move(node_url)) {}

CmdResult CliUser::guts(const std::vector<std::string>& args, const std::string& input) const {
  std::vector<std::string> argv{(bin_dir() / "guts").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {{"GUTS_HOME", home_.string()}, {"GUTS_NODE", node_url_}}, input);
}

std::string CliUser::token() const {
  std::ifstream in(home_ / "config.json");
  auto j = nlohmann::json::parse(in);
  return j["logins"][node_url_]["token"].get<std::string>();
}

}  // namespace guts::testing
