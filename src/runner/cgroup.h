// Per-step control groups where the host delegates them (docs/ci.md "Sandbox"): the kernel then
// bounds the memory and the number of processes of the whole step — bubblewrap, bash and
// everything they start — where setrlimit bounds each process on its own (RLIMIT_AS per
// process, RLIMIT_NPROC not at all for root).
//
// Detection, once at start, under a root (normally /sys/fs/cgroup):
//   * cgroup v2: a writable directory with cgroup.controllers listing `memory` and `pids` (the
//     runner's own cgroup, or the unified root, delegated to the runner's user);
//   * cgroup v1: writable `memory/` and `pids/` hierarchies.
// Each step gets `guts-runner-<id>` in each hierarchy with the limits written
// (memory.max + pids.max, or memory.limit_in_bytes + pids.max); the step's first process joins
// before it execs (write to cgroup.procs from the child), so everything it starts is inside.
// Afterwards the runner reads whether the kernel OOM-killed something and removes the groups.
// Nothing available: setrlimit alone, as before, with the reason logged once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace guts::runner {

struct CgroupLimits {
  uint64_t memory_bytes = 4ull << 30;
  uint64_t pids = 4096;
};

class StepCgroup;

class Cgroups {
 public:
  enum class Kind { kNone, kV2, kV1 };
  // Looks under `root`; on kNone `why` says what is missing.
  static Cgroups detect(const std::string& root, std::string* why);
  Kind kind() const { return kind_; }
  const char* kind_name() const;
  // Removes the empty groups `guts-runner-<pid>-…` of runners that are gone (killed with -9
  // mid-step: nothing else removes them). Returns how many.
  size_t remove_stale() const;
  // A step's groups with `limits` written; nullopt (and `why`) when they cannot be made.
  std::optional<StepCgroup> create(const std::string& name, const CgroupLimits& limits,
                                   std::string* why) const;

 private:
  Kind kind_ = Kind::kNone;
  std::string v2_dir_;               // v2: the parent of the steps' groups
  std::string v1_memory_, v1_pids_;  // v1: the hierarchies' directories
};

// One step's groups. Movable; removes its directories when destroyed (after the step's
// processes are gone, which the sandbox's process-group kill ensures).
class StepCgroup {
 public:
  StepCgroup() = default;
  StepCgroup(StepCgroup&& o) noexcept;
  StepCgroup& operator=(StepCgroup&& o) noexcept;
  StepCgroup(const StepCgroup&) = delete;
  StepCgroup& operator=(const StepCgroup&) = delete;
  ~StepCgroup();

  // File descriptors of the groups' cgroup.procs, open for writing: the child writes its pid to
  // each before exec (async-signal-safe). Owned here; closed with the object.
  const std::vector<int>& join_fds() const { return join_fds_; }
  // Whether the kernel killed a process of the step for memory (`oom_kill` in memory.events,
  // v1: memory.oom_control).
  bool oom_killed() const;
  const std::vector<std::string>& dirs() const { return dirs_; }

 private:
  friend class Cgroups;
  void release();
  std::vector<std::string> dirs_;
  std::vector<int> join_fds_;
  std::string memory_dir_;
  bool v2_ = false;
};

}  // namespace guts::runner
