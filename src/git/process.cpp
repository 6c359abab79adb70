#include "git/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

extern char** environ;

namespace guts::git {
namespace {

constexpr size_t kChunk = 64 * 1024;

[[noreturn]] void throw_errno(const std::string& what) {
  throw Error(Code::kInternal, what + ": " + std::strerror(errno));
}

void close_fd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

ExitStatus decode_wait_status(int st) {
  ExitStatus s;
  if (WIFEXITED(st)) s.code = WEXITSTATUS(st);
  if (WIFSIGNALED(st)) s.signal = WTERMSIG(st);
  return s;
}

// Sets O_NONBLOCK; returns the old flags.
int set_nonblock(int fd, bool on) {
  int fl = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
  return fl;
}

}  // namespace

std::string ExitStatus::describe() const {
  if (timed_out) return "timed out";
  if (signal) return "killed by signal " + std::to_string(signal);
  return "exit " + std::to_string(code);
}

Source source_from(ByteView data) {
  return [data, pos = size_t{0}](uint8_t* buf, size_t cap) mutable {
    size_t n = std::min(cap, data.size() - pos);
    std::memcpy(buf, data.data() + pos, n);
    pos += n;
    return n;
  };
}

Source source_concat(std::string prefix, Source rest) {
  return [prefix = std::move(prefix), rest = std::move(rest), pos = size_t{0}](
             uint8_t* buf, size_t cap) mutable -> size_t {
    if (pos < prefix.size()) {
      size_t n = std::min(cap, prefix.size() - pos);
      std::memcpy(buf, prefix.data() + pos, n);
      pos += n;
      return n;
    }
    return rest ? rest(buf, cap) : 0;
  };
}

Sink sink_to(std::string& out) {
  return [&out](ByteView chunk) { out.append(chunk.begin(), chunk.end()); };
}

Process Process::spawn(const ProcessOptions& opts) {
  if (opts.argv.empty()) throw Error(Code::kInvalidArgument, "spawn: empty argv");
  ignore_sigpipe_once();

  // Environment: parent's, minus unset, with overrides.
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  for (const auto& k : opts.unset_env) env.erase(k);
  for (const auto& [k, v] : opts.env) env[k] = v;
  std::vector<std::string> env_strings;
  env_strings.reserve(env.size());
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = opts.argv;
  std::vector<char*> argv;
  for (auto& s : argv_copy) argv.push_back(s.data());
  argv.push_back(nullptr);

  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  auto cleanup = [&] {
    for (int* p : {pin, pout, perr}) {
      close_fd(p[0]);
      close_fd(p[1]);
    }
  };
  bool pipe_in = opts.capture_stdin && opts.stdin_fd < 0;
  if ((pipe_in && ::pipe2(pin, O_CLOEXEC) != 0) ||
      (opts.capture_stdout && ::pipe2(pout, O_CLOEXEC) != 0) ||
      (opts.capture_stderr && ::pipe2(perr, O_CLOEXEC) != 0)) {
    cleanup();
    throw_errno("pipe");
  }

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (opts.stdin_fd >= 0)
    posix_spawn_file_actions_adddup2(&fa, opts.stdin_fd, 0);
  else if (opts.capture_stdin)
    posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
  else
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (opts.capture_stdout)
    posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
  else
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  if (opts.capture_stderr)
    posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
  else
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  // Descriptors opened elsewhere in the node without O_CLOEXEC must not leak into git.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  std::string cwd = opts.cwd.string();
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t def, mask;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  sigaddset(&def, SIGINT);
  sigaddset(&def, SIGTERM);
  sigaddset(&def, SIGCHLD);
  sigemptyset(&mask);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setsigmask(&attr, &mask);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_USEVFORK);

  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    cleanup();
    errno = rc;
    throw_errno("spawn " + opts.argv[0]);
  }
  // glibc reports exec failures (ENOENT, bad cwd) through rc; the child never ran.

  Process p;
  p.pid_ = pid;
  p.in_ = pin[1];
  p.out_ = pout[0];
  p.err_ = perr[0];
  close_fd(pin[0]);
  close_fd(pout[1]);
  close_fd(perr[1]);
  if (opts.timeout.count() > 0) p.deadline_ = std::chrono::steady_clock::now() + opts.timeout;
  return p;
}

Process::Process(Process&& o) noexcept {
  *this = std::move(o);
}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && !reaped_) kill_and_reap();
    close_all();
    pid_ = std::exchange(o.pid_, -1);
    in_ = std::exchange(o.in_, -1);
    out_ = std::exchange(o.out_, -1);
    err_ = std::exchange(o.err_, -1);
    reaped_ = std::exchange(o.reaped_, false);
    status_ = o.status_;
    deadline_ = o.deadline_;
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && !reaped_) kill_and_reap();
  close_all();
}

void Process::close_all() {
  close_fd(in_);
  close_fd(out_);
  close_fd(err_);
}

void Process::close_stdin() {
  close_fd(in_);
}

void Process::kill(int sig) {
  if (pid_ > 0 && !reaped_) {
    ::kill(-pid_, sig);  // the group: git's helpers too
    ::kill(pid_, sig);
  }
}

void Process::kill_and_reap() {
  kill(SIGKILL);
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  status_ = decode_wait_status(st);
}

int Process::remaining_ms() const {
  if (!deadline_) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      *deadline_ - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

bool Process::expired() const {
  return deadline_ && std::chrono::steady_clock::now() >= *deadline_;
}

bool Process::write_stdin(ByteView data) {
  if (in_ < 0) return false;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(in_, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) return false;
      throw_errno("write to child");
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

size_t Process::read_stdout(uint8_t* buf, size_t cap) {
  if (out_ < 0) return 0;
  for (;;) {
    pollfd pfd{out_, POLLIN, 0};
    int r = ::poll(&pfd, 1, remaining_ms());
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (r == 0) {
      kill_and_reap();
      status_.timed_out = true;
      throw Error(Code::kUnavailable, "git timed out");
    }
    ssize_t n = ::read(out_, buf, cap);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw_errno("read from child");
    }
    return static_cast<size_t>(n);
  }
}

std::optional<std::string> Process::read_stdout_line(size_t max) {
  // Byte at a time: only used for short interactive replies (update-ref --stdin).
  std::string line;
  uint8_t c;
  while (line.size() < max) {
    if (read_stdout(&c, 1) == 0) return line.empty() ? std::nullopt : std::optional(line);
    line.push_back(static_cast<char>(c));
    if (c == '\n') return line;
  }
  return line;
}

ExitStatus Process::pump(const Source& in, const Sink& out, const Sink& err) {
  if (!in) close_stdin();
  if (in_ >= 0) set_nonblock(in_, true);
  std::vector<uint8_t> inbuf(in_ >= 0 ? kChunk : 0);
  size_t in_len = 0, in_off = 0;
  bool in_eof = !in;
  std::vector<uint8_t> rbuf(kChunk);
  bool timed_out = false;
  try {
    while (out_ >= 0 || err_ >= 0 || in_ >= 0) {
      // Refill stdin buffer from the source when drained.
      if (in_ >= 0 && in_off == in_len && !in_eof) {
        in_len = in(inbuf.data(), inbuf.size());
        in_off = 0;
        if (in_len == 0) in_eof = true;
      }
      if (in_ >= 0 && in_eof && in_off == in_len) close_stdin();

      pollfd fds[3];
      int n = 0;
      int idx_in = -1, idx_out = -1, idx_err = -1;
      if (in_ >= 0) {
        idx_in = n;
        fds[n++] = {in_, POLLOUT, 0};
      }
      if (out_ >= 0) {
        idx_out = n;
        fds[n++] = {out_, POLLIN, 0};
      }
      if (err_ >= 0) {
        idx_err = n;
        fds[n++] = {err_, POLLIN, 0};
      }
      if (n == 0) break;
      int r = ::poll(fds, n, remaining_ms());
      if (r < 0) {
        if (errno == EINTR) continue;
        throw_errno("poll");
      }
      if (r == 0) {
        timed_out = true;
        break;
      }
      if (idx_in >= 0 && fds[idx_in].revents) {
        ssize_t w = ::write(in_, inbuf.data() + in_off, in_len - in_off);
        if (w > 0) {
          in_off += static_cast<size_t>(w);
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          // EPIPE: the child stopped reading (it failed or finished); stop feeding it.
          close_stdin();
          in_eof = true;
        }
      }
      auto drain = [&](int idx, int& fd, const Sink& sink) {
        if (idx < 0 || !fds[idx].revents) return;
        ssize_t got = ::read(fd, rbuf.data(), rbuf.size());
        if (got > 0) {
          if (sink) sink(ByteView(rbuf.data(), static_cast<size_t>(got)));
        } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
          close_fd(fd);
        }
      };
      drain(idx_out, out_, out);
      drain(idx_err, err_, err);
    }
  } catch (...) {
    kill_and_reap();
    close_all();
    throw;
  }
  if (timed_out) {
    kill_and_reap();
    close_all();
    status_.timed_out = true;
    return status_;
  }
  return wait();
}

ExitStatus Process::wait() {
  close_stdin();
  if (reaped_) return status_;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, deadline_ ? WNOHANG : 0);
    if (r == pid_) {
      reaped_ = true;
      status_ = decode_wait_status(st);
      break;
    }
    if (r < 0 && errno != EINTR) throw_errno("waitpid");
    if (r == 0) {
      if (expired()) {
        kill_and_reap();
        status_.timed_out = true;
        break;
      }
      // No portable way to wait on a pid with a timeout short of pidfd; poll a pidfd if the
      // kernel has it, else back off briefly.
      int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
      if (pfd >= 0) {
        pollfd p{pfd, POLLIN, 0};
        ::poll(&p, 1, remaining_ms());
        ::close(pfd);
      } else {
        ::usleep(2000);
      }
    }
  }
  close_all();
  return status_;
}

std::optional<std::filesystem::path> find_in_path(std::string_view program) {
  const char* path = std::getenv("PATH");
  if (!path || program.empty() || program.find('/') != std::string_view::npos) return std::nullopt;
  std::string_view rest(path);
  for (;;) {
    auto colon = rest.find(':');
    auto dir = rest.substr(0, colon);
    if (!dir.empty()) {
      std::filesystem::path candidate = std::filesystem::path(dir) / program;
      std::error_code ec;
      if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate, ec)) {
        auto absolute = std::filesystem::absolute(candidate, ec);  // a relative PATH entry
        return ec ? candidate : absolute;
      }
    }
    if (colon == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(colon + 1);
  }
}

ProcessOptions git_process_options(const std::vector<std::string>& args,
                                   const std::filesystem::path& cwd,
                                   std::vector<std::pair<std::string, std::string>> env,
                                   std::chrono::milliseconds timeout) {
  ProcessOptions po;
  static const std::string git = [] {
    auto found = find_in_path("git");
    return found ? found->string() : std::string("git");  // spawn then reports it missing
  }();
  po.argv.push_back(git);
  po.argv.insert(po.argv.end(), args.begin(), args.end());
  po.cwd = cwd;
  po.timeout = timeout;
  po.unset_env = {"GIT_DIR",
                  "GIT_WORK_TREE",
                  "GIT_OBJECT_DIRECTORY",
                  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                  "GIT_INDEX_FILE",
                  "GIT_NAMESPACE",
                  "GIT_QUARANTINE_PATH",
                  "GIT_CONFIG_PARAMETERS",
                  "GIT_CONFIG_COUNT",
                  "GIT_PROTOCOL",
                  "GIT_CEILING_DIRECTORIES"};
  po.env = {{"GIT_TERMINAL_PROMPT", "0"},
            {"GIT_CONFIG_NOSYSTEM", "1"},
            {"GIT_CONFIG_GLOBAL", "/dev/null"},
            {"LC_ALL", "C"}};
  for (auto& kv : env) po.env.push_back(std::move(kv));
  return po;
}

GitResult run_git(const std::vector<std::string>& args, const GitOptions& opts,
                  std::string_view stdin_data) {
  auto po = git_process_options(args, opts.cwd, opts.env, opts.timeout);
  Process p = Process::spawn(po);
  GitResult res;
  Source in;
  if (!stdin_data.empty()) in = source_from(as_bytes(stdin_data));
  size_t max = opts.max_output;
  res.exit = p.pump(
      in,
      [&](ByteView c) {
        if (res.out.size() + c.size() > max)
          throw Error(Code::kTooLarge, "git output over " + std::to_string(max) + " bytes");
        res.out.append(c.begin(), c.end());
      },
      [&](ByteView c) {
        if (res.err.size() < 1 << 20) res.err.append(c.begin(), c.end());
      });
  return res;
}

}  // namespace guts::git
