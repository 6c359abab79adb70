#include "tests/support/node_harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "cli/http_client.h"
#include "core/time.h"
#include "git/process.h"

extern char** environ;

namespace guts::testing {

fs::path bin_dir() {
  return GUTS_BIN_DIR;
}

fs::path unique_temp_dir(const std::string& name) {
  static std::atomic<int> counter{0};
  auto d = fs::temp_directory_path() /
           ("guts-it-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

bool keep_test_dirs() {
  for (const char* name : {"GUTS_TEST_KEEP", "GUTS_E2E_KEEP"}) {
    const char* v = std::getenv(name);
    if (v && *v && std::string_view(v) != "0") return true;
  }
  return false;
}

TempDir::TempDir(const std::string& name) {
  std::random_device rd;
  std::ostringstream s;
  s << "guts-test-" << name << "-" << ::getpid() << "-" << std::hex << rd() << rd();
  path_ = fs::temp_directory_path() / s.str();
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!keep_test_dirs()) fs::remove_all(path_, ec);
}

CmdResult run(const std::vector<std::string>& argv, const Env& env, const fs::path& cwd,
              const std::string& input, std::chrono::seconds timeout) {
  git::ProcessOptions o;
  o.argv = argv;
  o.env = env;
  o.cwd = cwd;
  o.timeout = timeout;
  auto p = git::Process::spawn(o);
  CmdResult r;
  auto st = p.pump(git::source_from(as_bytes(input)), git::sink_to(r.out), git::sink_to(r.err));
  r.code = st.timed_out ? -2 : (st.signal ? 128 + st.signal : st.code);
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

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

std::string describe_wait_status(int st) {
  if (WIFEXITED(st)) return "exit " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return "killed by signal " + std::to_string(WTERMSIG(st));
  return "wait status " + std::to_string(st);
}

// Spawns `argv` in its own process group with stdin from /dev/null and stdout and stderr
// appended to `log`. git::Process cannot do this: with capture_stderr = false it points the
// child's fd 2 at /dev/null, which is why node.log used to stay empty, and redirecting this
// process's own fd 2 around the spawn would also swallow the output of other threads.
pid_t spawn_logged(const std::vector<std::string>& args, const fs::path& log, const Env& env) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& s : copy) argv.push_back(s.data());
  argv.push_back(nullptr);
  // This process's environment, with `env` added (replacing variables of the same name).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    bool replaced = std::any_of(env.begin(), env.end(), [&](const auto& kv) {
      return v.size() > kv.first.size() && v.substr(0, kv.first.size()) == kv.first &&
             v[kv.first.size()] == '=';
    });
    if (!replaced) env_strings.emplace_back(v);
  }
  for (const auto& [k, val] : env) env_strings.push_back(k + "=" + val);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string log_str = log.string();

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  // O_APPEND: a restarted node adds to the same file, and a node never blocks on a full pipe.
  posix_spawn_file_actions_addopen(&fa, 1, log_str.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  // Sockets and files of the test (and of its other nodes' clients) must not leak into nodes.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // git::Process sets SIGPIPE to SIG_IGN in this process, and ignored signals survive exec;
  // the node gets default dispositions and an empty mask, as if started from a shell.
  sigset_t def, mask;
  sigemptyset(&def);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP}) sigaddset(&def, s);
  sigemptyset(&mask);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setsigmask(&attr, &mask);
  // Its own process group (as git::Process did before): kill9() signals the group, so a helper
  // the node forks into its group dies with it. (git::Process puts each git child in a group of
  // its own; those end with their pipes once the node is gone.)
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(rc) + " (log " +
                             log_str + ")");
  return pid;
}

}  // namespace

NodeProcess::NodeProcess(fs::path data_dir, std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {}

NodeProcess::~NodeProcess() {
  kill9();
}

void NodeProcess::reap(int wait_status) {
  exit_status_ = describe_wait_status(wait_status);
  pid_ = -1;
}

bool NodeProcess::exited() {
  if (pid_ <= 0) return false;
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return false;
  reap(st);
  return true;
}

bool NodeProcess::wait_for_exit(std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (exited()) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    // A pidfd turns "wait with a timeout" into a poll; without one, back off briefly.
    int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pfd >= 0) {
      pollfd p{pfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
      ::close(pfd);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

void NodeProcess::start() {
  if (pid_ > 0) throw std::logic_error("guts-node already running in " + data_dir_.string());
  auto port_file = data_dir_ / "api.port";
  fs::create_directories(data_dir_);
  fs::remove(port_file);
  std::vector<std::string> argv{(bin_dir() / program_).string(),
                                "--api-addr",
                                "127.0.0.1:0",
                                "--port-file",
                                port_file.string(),
                                "--data-dir",
                                data_dir_.string()};
  // Defaults the caller may override: a free p2p port (nodes of different tests never collide
  // on 9000) and the log level (GUTS_TEST_LOG_LEVEL=debug for more detail).
  auto has = [&](const char* flag) {
    return std::find(extra_args_.begin(), extra_args_.end(), flag) != extra_args_.end();
  };
  if (!has("--p2p-addr")) argv.insert(argv.end(), {"--p2p-addr", "127.0.0.1:0"});
  if (!has("--log-level")) {
    const char* level = std::getenv("GUTS_TEST_LOG_LEVEL");
    argv.insert(argv.end(), {"--log-level", level && *level ? level : "info"});
  }
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());

  {
    // A marker per start: a log spanning restarts shows which run said what.
    std::ofstream marker(log_path(), std::ios::app);
    marker << "==== " << unix_millis() << " ms: start";
    for (const auto& a : argv) marker << " " << a;
    marker << "\n";
  }
  pid_ = spawn_logged(argv, log_path(), env_);
  exit_status_.clear();
  port_ = 0;

  auto fail = [&](const std::string& why) {
    kill9();
    return std::runtime_error("guts-node in " + data_dir_.string() + " " + why + " (" +
                              exit_status_ + "):\n" + log());
  };
  bool died = false;
  bool up = wait_until(
      [&] {
        std::ifstream in(port_file);
        int port = 0;
        if (in >> port && port > 0) {
          port_ = static_cast<uint16_t>(port);
          return true;
        }
        died = exited();
        return died;
      },
      std::chrono::seconds(60));
  if (died) throw fail("exited during start");
  if (!up) throw fail("did not write its API port within 60 s");
  cli::HttpClient client(url());
  client.set_timeout(std::chrono::seconds(5));
  bool ready = wait_until(
      [&] {
        if ((died = exited())) return true;
        try {
          return client.get("/api/guts/status").status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      std::chrono::seconds(30));
  if (died) throw fail("exited during start");
  if (!ready) throw fail("API not ready within 30 s");
}

void NodeProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);  // the group: git helpers too
  ::kill(pid_, SIGKILL);
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  reap(st);
}

void NodeProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  // A node that does not shut down in time is killed; a hang shows up in its log, not as a
  // hung test.
  if (!wait_for_exit(std::chrono::seconds(30))) {
    std::ofstream(log_path(), std::ios::app) << "==== no exit 30 s after SIGTERM: SIGKILL\n";
    kill9();
  }
}

std::string NodeProcess::log() const {
  return read_file(log_path());
}

CliUser::CliUser(fs::path home, std::string node_url)
    : home_(std::move(home)), node_url_(std::move(node_url)) {}

CmdResult CliUser::guts(const std::vector<std::string>& args, const std::string& input) const {
  std::vector<std::string> argv{(bin_dir() / "guts").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {{"GUTS_HOME", home_.string()}, {"GUTS_NODE", node_url_}}, {}, input,
             std::chrono::seconds(120));
}

std::string CliUser::token() const {
  std::ifstream in(home_ / "config.json");
  auto j = nlohmann::json::parse(in);
  return j["logins"][node_url_]["token"].get<std::string>();
}

}  // namespace guts::testing
