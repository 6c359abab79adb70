// guts-runner: runs the CI jobs of the repositories it is registered to (docs/ci.md "Runners").
//
//   guts-runner register --node URL --repo owner/name --token HEX --name N --labels a,b --dir D
//   guts-runner run --dir D [--poll-ms 500] [--heartbeat-seconds 30] [--once]
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>
#include <thread>

#include "core/status.h"
#include "core/version.h"
#include "crypto/did.h"
#include "crypto/keyfile.h"
#include "runner/config.h"
#include "runner/job_executor.h"
#include "runner/node_client.h"
#include "state/ci.h"

using namespace guts;

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop = true;
}

int do_register(const std::string& node_url, const std::string& repo, uint64_t repo_id,
                const std::string& token, const std::string& name, const std::string& labels,
                const std::string& dir) {
  std::filesystem::create_directories(dir);
  ::chmod(dir.c_str(), 0700);
  auto kp = runner::key_path(dir);
  auto key = std::filesystem::exists(kp) ? crypto::load_key_file(kp) : crypto::create_key_file(kp);
  auto seed = hex_decode_fixed<32>(token);
  if (!seed)
    throw Error(Code::kInvalidArgument, "--token: the registration token is 64 hex digits");
  auto token_key = crypto::SigningKey::from_seed(*seed);
  runner::NodeClient node(node_url, key);
  node.connect();
  if (repo_id == 0) {
    // A public repository's id is looked up anonymously; a private one is invisible to the
    // runner until it is registered, so its admin gives the id (--repo-id).
    auto r = node.plain("GET", "/api/v3/repos/" + repo);
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object() || !j.contains("id"))
      throw Error(Code::kNotFound, "repository " + repo + ": HTTP " + std::to_string(r.status) +
                                       " (a private repository needs --repo-id)");
    repo_id = j["id"].get<uint64_t>();
  }
  runner::RunnerConfig c;
  c.node = node_url;
  c.repo = repo;
  c.repo_id = repo_id;
  c.name = name;
  c.labels = runner::split_labels(labels);
  c.did = crypto::did_from_key(key.public_key());
  state::RegisterRunner body;
  body.repo_id = c.repo_id;
  body.token_key = token_key.public_key();
  body.token_sig = token_key.sign(state::kRunnerTokenDomain,
                                  state::runner_registration_payload(key.public_key(), c.repo_id));
  body.name = name;
  body.labels = c.labels;
  auto st = node.submit(body);
  if (!st.ok()) throw Error(st.code(), "registration refused: " + st.message());
  runner::save_config(dir, c);
  std::cout << "registered runner " << name << " (" << c.did << ") for " << repo << "\n";
  return 0;
}

struct StepLimits {
  std::string cgroup_root = "/sys/fs/cgroup";
  uint64_t memory_mib = 4096;
  uint64_t pids = 4096;
};

int do_run(const std::string& dir, int poll_ms, int heartbeat_seconds, bool once,
           const std::string& bwrap, const StepLimits& limits) {
  auto c = runner::load_config(dir);
  auto key = crypto::load_key_file(runner::key_path(dir));
  runner::NodeClient node(c.node, key);
  for (;;) {  // the node may still be starting
    try {
      node.connect();
      break;
    } catch (const Error&) {
      if (g_stop) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
    }
  }
  runner::ExecutorOptions o;
  o.dir = dir;
  o.bwrap = bwrap;
  o.heartbeat_interval = std::chrono::seconds(heartbeat_seconds);
  // Step cgroups where the host delegates them (runner/cgroup.h); said once either way.
  std::string why;
  auto cgroups = runner::Cgroups::detect(limits.cgroup_root, &why);
  o.cgroups = &cgroups;
  o.cgroup_limits.memory_bytes = limits.memory_mib << 20;
  o.cgroup_limits.pids = limits.pids;
  if (cgroups.kind() != runner::Cgroups::Kind::kNone) {
    spdlog::info("steps run in {} groups: memory {} MiB, {} processes", cgroups.kind_name(),
                 limits.memory_mib, limits.pids);
    if (size_t n = cgroups.remove_stale())
      spdlog::info("removed {} step groups of runners that are gone", n);
  } else
    spdlog::warn("steps are limited by setrlimit only: {}", why);
  spdlog::info("guts-runner {} ({}) polling {}", c.name, c.did, c.node);
  while (!g_stop) {
    bool ran = false;
    try {
      auto r = node.signed_request("GET", "/api/guts/runners/jobs");
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      if (r.status == 200 && j.is_object()) {
        for (const auto& job : j["jobs"]) {
          uint64_t id = job.value("id", 0ull);
          auto st = node.submit(state::ClaimJob{id});
          if (!st.ok()) continue;  // another runner was faster, or it waits for its needs
          spdlog::info("job {} claimed: {}", id, job.value("name", ""));
          auto conclusion = runner::run_job(node, o, id);
          spdlog::info("job {} completed: {}", id, conclusion);
          ran = true;
          break;
        }
      } else {
        spdlog::warn("listing jobs: HTTP {} {}", r.status, r.body);
      }
    } catch (const std::exception& e) {
      spdlog::warn("{}", e.what());
    }
    if (ran && once) break;
    if (!ran) std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"guts-runner: runs Guts CI jobs in a bubblewrap sandbox"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version::describe("guts-runner"));
  std::string node, repo, token, name, labels = "guts", dir;
  auto* reg = app.add_subcommand("register", "Register this runner with a repository");
  reg->add_option("--node", node, "Node URL")->required();
  reg->add_option("--repo", repo, "owner/name")->required();
  uint64_t repo_id = 0;
  reg->add_option("--repo-id", repo_id,
                  "The repository's id (required for a private repository; GET /repos/{o}/{r})");
  reg->add_option("--token", token, "Registration token (from the repository's admin)")->required();
  reg->add_option("--name", name, "Runner name")->required();
  reg->add_option("--labels", labels, "Comma-separated labels (default: guts)");
  reg->add_option("--dir", dir, "Runner directory (key, config, workspaces)")->required();
  int poll_ms = 500, heartbeat = 30;
  bool once = false;
  std::string bwrap = "bwrap";
  auto* run = app.add_subcommand("run", "Take and run jobs until stopped (SIGTERM)");
  run->add_option("--dir", dir, "Runner directory")->required();
  run->add_option("--poll-ms", poll_ms, "How often to look for jobs (default 500)");
  run->add_option("--heartbeat-seconds", heartbeat, "Heartbeat interval (default 30)");
  run->add_flag("--once", once, "Exit after one job");
  run->add_option("--bwrap", bwrap, "The bubblewrap binary (default: bwrap)");
  StepLimits step_limits;
  run->add_option("--cgroup-root", step_limits.cgroup_root,
                  "Where the cgroup hierarchies are mounted (default: /sys/fs/cgroup)");
  run->add_option("--memory-limit-mib", step_limits.memory_mib,
                  "A step's memory, all its processes together, where cgroups allow (default 4096)")
      ->check(CLI::Range(uint64_t{16}, uint64_t{1} << 30));
  run->add_option("--pids-limit", step_limits.pids,
                  "A step's processes, where cgroups allow (default 4096)")
      ->check(CLI::Range(uint64_t{16}, uint64_t{1} << 22));
  CLI11_PARSE(app, argc, argv);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  signal(SIGPIPE, SIG_IGN);
  try {
    if (*reg) return do_register(node, repo, repo_id, token, name, labels, dir);
    return do_run(dir, poll_ms, heartbeat, once, bwrap, step_limits);
  } catch (const std::exception& e) {
    std::cerr << "guts-runner: " << e.what() << "\n";
    return 1;
  }
}
