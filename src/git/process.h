// Subprocess runner for the git binary: posix_spawn (no shell), environment overrides, working
// directory, pipes for stdin/stdout/stderr, a deadline, and a child that is always reaped.
//
// Two levels:
//   * Process: a running child with raw pipe fds. Callers that stream (HTTP bodies, 2 GB packs)
//     use pump() or the fds directly; memory stays bounded by one 64 KiB buffer per direction.
//   * run_git(): convenience for small outputs, collects stdout/stderr into strings.
//
// The child is its own process group leader, so kill() also reaches its helpers (upload-pack
// spawns pack-objects). The destructor of a Process that was not waited for kills the group and
// reaps the child: no zombies, no orphans left running.
//
// SIGPIPE: the first spawn sets SIGPIPE to SIG_IGN in this process (writes to a dead child then
// fail with EPIPE instead of killing the node); children get the default disposition back.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"

namespace guts::git {

// Pull callback: fills up to `cap` bytes into `buf`, returns how many; 0 means end of stream.
// May throw guts::Error to abort (the child is then killed).
using Source = std::function<size_t(uint8_t* buf, size_t cap)>;
// Push callback: consumes a chunk. May throw guts::Error to abort.
using Sink = std::function<void(ByteView chunk)>;

// A Source over an in-memory buffer (the view must outlive the source).
Source source_from(ByteView data);
// A Source that first yields `prefix`, then pulls from `rest` (if any).
Source source_concat(std::string prefix, Source rest);
// A Sink appending to a string (the string must outlive the sink).
Sink sink_to(std::string& out);

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH (no shell)
  // Variables to set (override the parent's environment) and to remove.
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::string> unset_env;
  std::filesystem::path cwd;  // empty: inherit
  // Wall-clock limit for the whole run (spawn to exit); zero: none. On expiry the process group
  // is killed and pump()/wait_for() report timed_out.
  std::chrono::milliseconds timeout{0};
  bool capture_stdin = true;   // false: stdin is /dev/null (or stdin_fd)
  int stdin_fd = -1;           // >= 0: the child reads this descriptor directly as stdin
  bool capture_stdout = true;  // false: /dev/null
  bool capture_stderr = true;  // false: /dev/null
};

struct ExitStatus {
  int code = -1;   // exit code when the child exited normally, else -1
  int signal = 0;  // terminating signal, else 0
  bool timed_out = false;
  bool success() const { return code == 0 && !timed_out; }
  std::string describe() const;  // "exit 128", "killed by signal 9", "timed out"
};

class Process {
 public:
  // Spawns the child; throws guts::Error(kInternal) when the program cannot be started.
  static Process spawn(const ProcessOptions& opts);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();  // kills the group and reaps, unless already waited for

  pid_t pid() const { return pid_; }
  // Parent ends of the pipes (-1 when not captured or closed). Blocking fds.
  int stdin_fd() const { return in_; }
  int stdout_fd() const { return out_; }
  int stderr_fd() const { return err_; }
  void close_stdin();

  // Writes all of `data` to stdin; false when the child closed its end (EPIPE).
  bool write_stdin(ByteView data);
  // Reads up to `cap` bytes from stdout; 0 at end of file. Respects the deadline (throws
  // guts::Error(kUnavailable) on expiry, after killing the child).
  size_t read_stdout(uint8_t* buf, size_t cap);
  // Reads one line ('\n' included) from stdout, up to `max` bytes; nullopt at EOF.
  std::optional<std::string> read_stdout_line(size_t max = 65536);

  // Moves data in all directions at once until stdout and stderr reach EOF: pulls `in` (may be
  // empty: stdin is closed at once) into the child's stdin, pushes stdout to `out` and stderr to
  // `err` (either may be empty: discarded). Then reaps the child. Never deadlocks on full pipes.
  // If a callback throws, the child is killed and reaped and the exception propagates.
  ExitStatus pump(const Source& in, const Sink& out, const Sink& err);

  // Waits for the child to exit (closing our stdin first) and reaps it; honours the deadline.
  ExitStatus wait();
  // Sends `sig` to the child's process group.
  void kill(int sig);
  bool reaped() const { return reaped_; }

 private:
  Process() = default;
  void close_all();
  void kill_and_reap();
  int remaining_ms() const;  // -1: no deadline
  bool expired() const;

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  bool reaped_ = false;
  ExitStatus status_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
};

struct GitResult {
  ExitStatus exit;
  std::string out;
  std::string err;
  bool ok() const { return exit.success(); }
};

struct GitOptions {
  std::filesystem::path cwd;
  std::vector<std::pair<std::string, std::string>> env;
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  size_t max_output = 64 << 20;  // stdout beyond this: killed, Error(kTooLarge)
};

// Runs `git <args>` with `stdin_data`, collecting output. The environment is sanitized: GIT_DIR,
// GIT_WORK_TREE, GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES, GIT_INDEX_FILE,
// GIT_NAMESPACE, GIT_QUARANTINE_PATH, GIT_CONFIG_PARAMETERS of the parent are removed (then
// `opts.env` applies), and GIT_TERMINAL_PROMPT=0, GIT_CONFIG_NOSYSTEM=1 are set.
GitResult run_git(const std::vector<std::string>& args, const GitOptions& opts = {},
                  std::string_view stdin_data = {});

// Where execvp would find `program` (the first executable of that name in PATH), or nullopt.
std::optional<std::filesystem::path> find_in_path(std::string_view program);

// The ProcessOptions run_git uses, for callers that need streaming (argv = {git, args...}, git
// being the path find_in_path gave at the first call: a push spawns several, and each spawn by
// bare name would try every PATH entry before git's).
ProcessOptions git_process_options(const std::vector<std::string>& args,
                                   const std::filesystem::path& cwd,
                                   std::vector<std::pair<std::string, std::string>> env,
                                   std::chrono::milliseconds timeout);

}  // namespace guts::git
