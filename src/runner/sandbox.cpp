#include "runner/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace guts::runner {

std::vector<std::string> bwrap_argv(const SandboxSpec& s) {
  std::vector<std::string> a{
      s.bwrap,  "--ro-bind", "/",       "/",    "--dev", "/dev",
      "--proc", "/proc",     "--tmpfs", "/tmp", "--dir", "/tmp/home"};  // the step's private HOME
  if (!s.hide.empty()) a.insert(a.end(), {"--tmpfs", s.hide});
  a.insert(a.end(), {"--bind", s.workspace, s.workspace, "--unshare-all"});
  if (s.network) a.push_back("--share-net");
  a.insert(a.end(), {"--die-with-parent", "--new-session", "--cap-drop", "ALL"});
  a.insert(a.end(), {"--ro-bind", s.script_dir, kStepDir});
  if (!s.outbox.empty()) a.insert(a.end(), {"--bind", s.outbox, kArtifactDir});
  a.insert(a.end(), {"--chdir", s.workdir.empty() ? s.workspace : s.workdir, "bash", "--noprofile",
                     "--norc", "-eo", "pipefail", std::string(kStepDir) + "/step.sh"});
  return a;
}

namespace {

void set_limit(int resource, uint64_t value) {
  struct rlimit rl;
  rl.rlim_cur = rl.rlim_max = static_cast<rlim_t>(value);
  setrlimit(resource, &rl);
}

}  // namespace

StepOutcome run_process(const std::vector<std::string>& argv,
                        const std::map<std::string, std::string>* env, const Limits& limits,
                        std::chrono::milliseconds timeout,
                        const std::function<void(std::string_view)>& on_line,
                        const std::vector<int>& join_fds) {
  StepOutcome out;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    out.error = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  std::vector<std::string> env_strings;
  std::vector<char*> cenv;
  if (env) {
    for (const auto& [k, v] : *env) env_strings.push_back(k + "=" + v);
    for (auto& e : env_strings) cenv.push_back(e.data());
    cenv.push_back(nullptr);
  }
  std::vector<char*> cargv;
  for (const auto& s : argv) cargv.push_back(const_cast<char*>(s.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    out.error = std::string("fork: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return out;
  }
  if (pid == 0) {
    // Child: its own session and process group, output to the pipe, limits, then exec.
    setsid();
    if (!join_fds.empty()) {
      // Join the step's cgroups (runner/cgroup.h) first: everything started later is inside.
      // The pid as decimal, without allocating (async-signal-safe after fork).
      char digits[24];
      size_t n = sizeof digits;
      for (auto v = static_cast<unsigned long>(getpid()); n > 0;) {
        digits[--n] = static_cast<char>('0' + v % 10);
        v /= 10;
        if (v == 0) break;
      }
      for (int fd : join_fds)
        if (write(fd, digits + n, sizeof digits - n) < 0) {
          const char msg[] = "guts-runner: cannot join the step's cgroup\n";
          (void)!write(fds[1], msg, sizeof msg - 1);
          _exit(126);
        }
    }
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    set_limit(RLIMIT_CPU, limits.cpu_seconds);
    set_limit(RLIMIT_FSIZE, limits.file_bytes);
    set_limit(RLIMIT_NPROC, limits.processes);
    set_limit(RLIMIT_AS, limits.address_space);
    set_limit(RLIMIT_NOFILE, limits.open_files);
    set_limit(RLIMIT_CORE, 0);
    if (env) environ = cenv.data();  // exactly the step's environment (bwrap passes it on)
    execvp(cargv[0], cargv.data());
    const char msg[] = "guts-runner: cannot start the sandbox (is bubblewrap installed?)\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(127);
  }
  close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string pending;
  char buf[16384];
  auto flush_lines = [&](bool all) {
    size_t start = 0;
    for (;;) {
      auto nl = pending.find('\n', start);
      if (nl == std::string::npos) break;
      on_line(std::string_view(pending).substr(start, nl - start));
      start = nl + 1;
    }
    pending.erase(0, start);
    if (pending.size() > 64 * 1024 || (all && !pending.empty())) {
      on_line(std::string_view(pending).substr(0, 64 * 1024));
      pending.clear();
    }
  };
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      out.timed_out = true;
      break;
    }
    struct pollfd p {
      fds[0], POLLIN, 0
    };
    int r = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // every writer closed: the step ended
    pending.append(buf, static_cast<size_t>(n));
    flush_lines(false);
  }
  if (out.timed_out) kill(-pid, SIGKILL);  // the whole process group
  close(fds[0]);
  int status = 0;
  // After EOF the child has exited or is about to; after a timeout it was killed.
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  flush_lines(true);
  if (WIFEXITED(status) && !out.timed_out) out.exit_code = WEXITSTATUS(status);
  return out;
}

}  // namespace guts::runner
