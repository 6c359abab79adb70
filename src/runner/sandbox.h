// The step sandbox of guts-runner (docs/ci.md "Sandbox"): every step is `bash` inside
// bubblewrap — read-only root, private /dev, /proc and /tmp, the runner's own directory hidden
// (its key, other jobs' workspaces), the job's workspace the only writable host path, every
// namespace unshared (no network unless the job sets `guts.network: true`), its own PID
// namespace and session, killed with its parent — under setrlimit limits and a wall-clock
// timeout that kills the whole process group.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace guts::runner {

struct Limits {
  uint64_t cpu_seconds = 6 * 3600;      // RLIMIT_CPU
  uint64_t file_bytes = 4ull << 30;     // RLIMIT_FSIZE: the largest file a step writes
  uint64_t processes = 4096;            // RLIMIT_NPROC (not enforced for root)
  uint64_t address_space = 8ull << 30;  // RLIMIT_AS
  uint64_t open_files = 4096;           // RLIMIT_NOFILE
};

inline constexpr const char* kStepDir = "/tmp/.guts-step";
// Where `guts-artifact upload` puts files (docs/ci.md "Artifacts"): the job's outbox, bound
// read-write; the runner packs and uploads what is there after the steps.
inline constexpr const char* kArtifactDir = "/tmp/.guts-artifacts";

struct SandboxSpec {
  std::string bwrap = "bwrap";
  std::string workspace;  // absolute; bound read-write at the same path
  std::string hide;       // absolute; replaced by an empty tmpfs (the runner's dir)
  std::string workdir;    // absolute, inside the workspace
  bool network = false;   // --share-net
  // The directory (host path, outside the hidden one) holding the step's script `step.sh`;
  // bound read-only at kStepDir. Neither the script nor the environment (run_process's `env`)
  // is on a command line, where `ps` would show secrets.
  std::string script_dir;
  // The job's artifact outbox (host path, outside the hidden one), bound at kArtifactDir;
  // empty: none.
  std::string outbox;
};

// The argv of one step (pure; unit-tested): bwrap options, then
// bash --noprofile --norc -eo pipefail <kStepDir>/step.sh.
std::vector<std::string> bwrap_argv(const SandboxSpec& spec);

struct StepOutcome {
  int exit_code = -1;      // the script's status; -1 when killed
  bool timed_out = false;  // the wall clock ran out: the process group was killed
  std::string error;       // could not start
};

// Runs argv in a new session (its own process group) with `limits` applied in the child and
// exactly the environment `env` (null: this process's),
// calling on_line for each line of combined stdout/stderr (without the newline; a line longer
// than 64 KiB is cut), until it exits or `timeout` passes (then SIGKILL to the group).
// `join_fds`: cgroup.procs files (runner/cgroup.h) the child writes its pid to before exec.
StepOutcome run_process(const std::vector<std::string>& argv,
                        const std::map<std::string, std::string>* env, const Limits& limits,
                        std::chrono::milliseconds timeout,
                        const std::function<void(std::string_view)>& on_line,
                        const std::vector<int>& join_fds = {});

}  // namespace guts::runner
