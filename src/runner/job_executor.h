// Runs one claimed job (docs/ci.md "Runners"): reads its spec and the secrets sealed to this
// runner, checks the commit out with the stock `git`, runs each step in the sandbox with the
// job's and the step's timeouts, streams the masked log, reports steps (57) as they finish,
// heart-beats (56) meanwhile, completes the job (58) and stores its log (68).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include "runner/cgroup.h"
#include "runner/node_client.h"
#include "runner/sandbox.h"

namespace guts::runner {

struct ExecutorOptions {
  std::filesystem::path dir;  // the runner's directory (hidden from the sandbox)
  std::string bwrap = "bwrap";
  std::string git = "git";
  Limits limits;
  // Step cgroups (null or kNone: setrlimit only) and their limits (runner/cgroup.h).
  const Cgroups* cgroups = nullptr;
  CgroupLimits cgroup_limits;
  std::chrono::milliseconds heartbeat_interval{std::chrono::seconds(30)};
};

// Opens the secrets sealed to `key` (crypto_box_seal to its X25519 form); skips values that do
// not open.
std::map<std::string, std::string> open_secrets(const crypto::SigningKey& key,
                                                const nlohmann::json& sealed_list);

// Runs job `job_id`, which this runner has just claimed. Returns the conclusion it reported
// ("success", "failure", "timed_out", "cancelled") or throws when it could not report.
std::string run_job(NodeClient& node, const ExecutorOptions& options, uint64_t job_id);

}  // namespace guts::runner
