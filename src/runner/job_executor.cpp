#include "runner/job_executor.h"

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cctype>
#include <condition_variable>
#include <fstream>
#include <optional>
#include <thread>

#include "ci/expressions.h"
#include "core/time.h"
#include "crypto/hash.h"
#include "runner/artifacts.h"
#include "runner/log_streamer.h"
#include "state/artifact.h"
#include "state/ci.h"
#include "state/ci_runner.h"

namespace guts::runner {

namespace {

using json = nlohmann::json;

std::map<std::string, std::string> string_map(const json& j) {
  std::map<std::string, std::string> out;
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  return out;
}

// Heartbeats (kind 56) every `interval` until stopped.
class Heartbeat {
 public:
  Heartbeat(NodeClient& node, uint64_t job, std::chrono::milliseconds interval)
      : thread_([this, &node, job, interval] {
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, interval, [&] { return stop_; })) {
            lock.unlock();
            auto st = node.submit(state::JobHeartbeat{job});
            if (!st.ok()) spdlog::warn("job {}: heartbeat refused: {}", job, st.message());
            lock.lock();
          }
        }) {}
  ~Heartbeat() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

std::string tail_of(const std::string& log, size_t max) {
  return log.size() <= max ? log : log.substr(log.size() - max);
}

// A plain command (git) outside the sandbox, its output into the log; `env`: this process's
// environment plus these.
bool run_plain(const std::vector<std::string>& argv, LogStreamer& log, const Limits& limits,
               const std::map<std::string, std::string>& extra_env = {}) {
  std::map<std::string, std::string> env;
  if (!extra_env.empty()) {
    for (char** e = environ; e && *e; ++e) {
      std::string_view kv(*e);
      auto eq = kv.find('=');
      if (eq != std::string_view::npos) env[std::string(kv.substr(0, eq))] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : extra_env) env[k] = v;
  }
  auto r = run_process(argv, extra_env.empty() ? nullptr : &env, limits, std::chrono::minutes(10),
                       [&](std::string_view l) { log.line(l); });
  if (!r.error.empty()) log.line("##[error]" + r.error);
  return r.exit_code == 0;
}

// Packs, uploads and records (kind 71) what the steps put in the outbox, logging each.
void upload_artifacts(NodeClient& node, LogStreamer& log, uint64_t repo_id, uint64_t job_id,
                      const std::filesystem::path& outbox) {
  auto packed = pack_artifacts(outbox);
  if (packed.empty()) return;
  log.line("##[group]Upload artifacts");
  for (const auto& a : packed) {
    if (!a.error.empty()) {
      log.line("##[error]artifact " + a.name + ": " + a.error);
      continue;
    }
    std::string q;
    for (unsigned char c : a.name) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        q.push_back(static_cast<char>(c));
      } else {
        static const char* hex = "0123456789ABCDEF";
        q += {'%', hex[c >> 4], hex[c & 15]};
      }
    }
    cli::HttpResult r;
    try {
      r = node.signed_request(
          "POST", "/api/guts/runners/jobs/" + std::to_string(job_id) + "/artifacts?name=" + q,
          a.zip, "application/zip");
    } catch (const std::exception& e) {
      log.line("##[error]artifact " + a.name + ": upload failed: " + e.what());
      continue;
    }
    auto mine = crypto::sha256(as_bytes(a.zip));
    std::optional<std::array<uint8_t, 32>> theirs;
    auto answer = json::parse(r.body, nullptr, false);
    if (r.status == 200 && answer.is_object())
      theirs = hex_decode_fixed<32>(answer.value("sha256", ""));
    if (!theirs || *theirs != mine) {
      log.line("##[error]artifact " + a.name + ": upload failed: HTTP " + std::to_string(r.status) +
               " " + r.body.substr(0, 200));
      continue;
    }
    state::CreateArtifact b{repo_id, job_id, a.name, mine, a.zip.size(), a.retention_days};
    auto st = node.submit(b);
    if (!st.ok()) {
      log.line("##[error]artifact " + a.name + ": refused: " + st.message());
      continue;
    }
    log.line("Artifact " + a.name + " uploaded: " + std::to_string(a.zip.size()) +
             " bytes, sha256:" + hex_encode(mine));
  }
  log.line("##[endgroup]");
}

}  // namespace

std::map<std::string, std::string> open_secrets(const crypto::SigningKey& key,
                                                const json& sealed_list) {
  std::map<std::string, std::string> out;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, key.seed().data());
  unsigned char xpk[crypto_box_PUBLICKEYBYTES], xsk[crypto_box_SECRETKEYBYTES];
  bool ok = crypto_sign_ed25519_pk_to_curve25519(xpk, pk) == 0 &&
            crypto_sign_ed25519_sk_to_curve25519(xsk, sk) == 0;
  sodium_memzero(sk, sizeof sk);
  if (ok && sealed_list.is_array()) {
    for (const auto& e : sealed_list) {
      if (!e.is_object() || !e.contains("name") || !e.contains("sealed")) continue;
      auto b64 = e["sealed"].get<std::string>();
      Bytes sealed(b64.size());
      size_t len = 0;
      if (sodium_base642bin(sealed.data(), sealed.size(), b64.data(), b64.size(), nullptr, &len,
                            nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
          len < crypto_box_SEALBYTES)
        continue;
      std::string value(len - crypto_box_SEALBYTES, '\0');
      if (crypto_box_seal_open(reinterpret_cast<unsigned char*>(value.data()), sealed.data(), len,
                               xpk, xsk) == 0)
        out[e["name"].get<std::string>()] = std::move(value);
    }
  }
  sodium_memzero(xsk, sizeof xsk);
  return out;
}

std::string run_job(NodeClient& node, const ExecutorOptions& o, uint64_t job_id) {
  const std::string base = "/api/guts/runners/jobs/" + std::to_string(job_id);
  Heartbeat heartbeat(node, job_id, o.heartbeat_interval);
  auto spec_r = node.signed_request("GET", base);
  if (spec_r.status != 200)
    throw Error(Code::kUnavailable, "job " + std::to_string(job_id) + ": spec: HTTP " +
                                        std::to_string(spec_r.status) + " " + spec_r.body);
  json spec = json::parse(spec_r.body);
  auto sec_r = node.signed_request("GET", base + "/secrets");
  auto secrets = sec_r.status == 200 ? open_secrets(node.key(), json::parse(sec_r.body)["secrets"])
                                     : std::map<std::string, std::string>{};
  Masker masker;
  for (const auto& [k, v] : secrets) masker.add(v);

  const uint64_t max_log = spec.value("max_log_bytes", state::kMaxJobLogBytes);
  LogStreamer log(masker, max_log, [&](const std::string& batch) {
    try {
      auto r = node.signed_request("POST", base + "/logs", batch, "text/plain");
      return r.status == 200 || r.status == 413 || r.status == 409;  // 413/409: drop, not retry
    } catch (const std::exception&) {
      return false;
    }
  });

  const auto job_start = std::chrono::steady_clock::now();
  const auto job_deadline = job_start + std::chrono::minutes(spec.value("timeout_minutes", 360u));
  const auto ws = std::filesystem::absolute(o.dir / "work" / std::to_string(job_id));
  std::error_code ec;
  std::filesystem::remove_all(ws, ec);
  std::filesystem::create_directories(ws);

  // Checkout with the stock git, outside the sandbox.
  const std::string sha = spec.at("sha").get<std::string>();
  log.line("##[group]Checkout " + spec.at("repository").get<std::string>() + " at " + sha);
  // The fetch carries a job-scoped read credential (a private repository's clone needs it),
  // through git's environment config: not on a command line. Masked like a secret.
  const std::string credential = node.job_git_header(job_id);
  masker.add(credential);
  const std::map<std::string, std::string> git_env{
      {"GIT_CONFIG_COUNT", "1"},
      {"GIT_CONFIG_KEY_0", "http.extraHeader"},
      {"GIT_CONFIG_VALUE_0", "X-Guts-Runner-Job: " + credential},
      {"GIT_TERMINAL_PROMPT", "0"}};
  bool checked_out = run_plain({o.git, "clone", "--quiet", "--no-checkout",
                                spec.at("clone_url").get<std::string>(), ws.string()},
                               log, o.limits, git_env) &&
                     run_plain({o.git, "-C", ws.string(), "-c", "advice.detachedHead=false",
                                "checkout", "--quiet", "--detach", sha},
                               log, o.limits);
  log.line("##[endgroup]");

  ci::ExprContext ctx;
  ctx.github = string_map(spec["context"]);
  ctx.matrix = string_map(spec["matrix"]);
  ctx.secrets = secrets;
  ctx.needs_result = string_map(spec["needs"]);
  auto interpolate = [&](const std::string& text, std::string* out) {
    auto r = ci::interpolate(text, ctx);
    if (!r.ok()) return false;
    *out = std::move(r.value());
    return true;
  };
  // Environment: workflow env, then job env (each may use expressions).
  std::map<std::string, std::string> base_env{
      {"PATH",
       std::string(kStepDir) + "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"HOME", "/tmp/home"},
      {"LANG", "C.UTF-8"},
      {"CI", "true"},
      {"GUTS_ACTIONS", "true"},
      {"GITHUB_ACTIONS", "true"},
      {"GITHUB_WORKSPACE", ws.string()},
      {"GITHUB_SHA", sha},
      {"GITHUB_REF", spec.value("ref", "")},
      {"GITHUB_REPOSITORY", spec.value("repository", "")},
      {"GITHUB_RUN_ID", std::to_string(spec.value("run_id", 0ull))},
      {"GITHUB_JOB", spec.value("key", "")},
      {"RUNNER_TEMP", "/tmp"}};
  for (const char* level : {"env", "job_env"}) {
    for (const auto& [k, v] : string_map(spec[level])) {
      std::string value;
      if (interpolate(v, &value)) base_env[k] = value;
      ctx.env[k] = base_env[k];
    }
  }

  ctx.inputs = string_map(spec["inputs"]);
  // The step directory (script, guts-artifact) and the artifact outbox, outside the sandbox.
  const auto step_dir = std::filesystem::absolute(o.dir / "steps" / std::to_string(job_id));
  const auto outbox = std::filesystem::absolute(o.dir / "artifacts" / std::to_string(job_id));
  std::filesystem::remove_all(outbox, ec);
  std::filesystem::create_directories(step_dir / "bin");
  std::filesystem::create_directories(outbox);
  {
    std::ofstream tool(step_dir / "bin" / "guts-artifact", std::ios::binary | std::ios::trunc);
    tool << artifact_tool_script();
  }
  std::filesystem::permissions(
      step_dir / "bin" / "guts-artifact",
      std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
          std::filesystem::perms::others_exec);

  std::vector<state::StepResult> results;
  std::string job_status = checked_out ? "success" : "failure";
  bool timed_out = false;
  if (!checked_out) log.line("##[error]the checkout failed");
  for (const auto& step : spec["steps"]) {
    state::StepResult res;
    res.number = step.value("number", 0u);
    std::string name = step.value("name", "");
    const std::string run = step.value("run", "");
    if (name.empty()) name = "Run " + run.substr(0, run.find('\n')).substr(0, 80);
    res.name = name.substr(0, 200);
    res.started_ms = unix_millis();
    ctx.job_status = job_status;
    auto cond = ci::evaluate_condition(step.value("if", ""), ctx);
    if (!checked_out || timed_out || (cond.ok() && !cond.value())) {
      res.status = state::kRunCompleted;
      res.conclusion = state::kConclusionSkipped;
      res.completed_ms = res.started_ms;
      results.push_back(res);
      continue;
    }
    log.line("##[group]" + name);
    SandboxSpec sb;
    sb.bwrap = o.bwrap;
    sb.workspace = ws.string();
    sb.hide = std::filesystem::absolute(o.dir).string();
    sb.network = spec.value("network", false);
    auto env = base_env;
    bool ok = cond.ok();
    if (!ok) log.line("##[error]if: " + cond.status().message());
    for (const auto& [k, v] : string_map(step["env"])) {
      std::string value;
      if (interpolate(v, &value))
        env[k] = value;
      else
        ok = false;
    }
    std::string wd = step.value("working_directory", "");
    if (!wd.empty() && !interpolate(wd, &wd)) ok = false;
    sb.workdir = wd.empty() ? ws.string() : (ws / wd).lexically_normal().string();
    if (sb.workdir.rfind(ws.string(), 0) != 0) {
      log.line("##[error]working-directory is outside the workspace");
      ok = false;
    }
    std::string script;
    if (ok && !interpolate(run, &script)) {
      log.line("##[error]the step's run text does not evaluate");
      ok = false;
    }
    // The script goes to a file of the runner (mode 0600), bound read-only into the sandbox.
    sb.script_dir = step_dir.string();
    sb.outbox = outbox.string();
    if (ok) {
      auto path = step_dir / "step.sh";
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f << script << "\n";
      f.close();
      std::filesystem::permissions(
          path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
      ok = static_cast<bool>(f);
    }
    StepOutcome out;
    if (ok) {
      auto step_limit = std::chrono::minutes(step.value("timeout_minutes", 0u));
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          job_deadline - std::chrono::steady_clock::now());
      auto timeout =
          step_limit.count() > 0 ? std::min<std::chrono::milliseconds>(step_limit, left) : left;
      std::string tail;
      std::optional<StepCgroup> group;
      if (o.cgroups && o.cgroups->kind() != Cgroups::Kind::kNone) {
        std::string why;
        group = o.cgroups->create("guts-runner-" + std::to_string(::getpid()) + "-" +
                                      std::to_string(job_id) + "-" + std::to_string(res.number),
                                  o.cgroup_limits, &why);
        if (!group) log.line("##[warning]no cgroup for this step (" + why + "): setrlimit only");
      }
      out = run_process(
          bwrap_argv(sb), &env, o.limits, timeout,
          [&](std::string_view l) {
            log.line(l);
            tail.append(masker.mask(l)).push_back('\n');
            if (tail.size() > 2048) tail.erase(0, tail.size() - 2048);
          },
          group ? group->join_fds() : std::vector<int>{});
      if (group && group->oom_killed())
        log.line("##[error]the step ran out of memory (" +
                 std::to_string(o.cgroup_limits.memory_bytes >> 20) +
                 " MiB for all its processes): the kernel killed it");
      res.log_tail = tail_of(tail, 1024);
      if (!out.error.empty()) log.line("##[error]" + out.error);
      if (out.timed_out)
        log.line("##[error]the step timed out: its processes were killed");
      else if (out.exit_code != 0)
        log.line("##[error]Process completed with exit code " + std::to_string(out.exit_code));
    }
    log.line("##[endgroup]");
    res.status = state::kRunCompleted;
    res.completed_ms = unix_millis();
    bool step_ok = ok && !out.timed_out && out.exit_code == 0;
    res.conclusion = step_ok ? state::kConclusionSuccess : state::kConclusionFailure;
    bool job_timed_out = out.timed_out && std::chrono::steady_clock::now() >= job_deadline;
    if (!step_ok && !step.value("continue_on_error", false)) job_status = "failure";
    if (job_timed_out) timed_out = true;
    results.push_back(res);
    auto st = node.submit(state::ReportSteps{job_id, {res}});
    if (!st.ok()) spdlog::warn("job {}: step report refused: {}", job_id, st.message());
  }
  std::string conclusion = timed_out ? "timed_out" : job_status;
  upload_artifacts(node, log, spec.value("repo_id", 0ull), job_id, outbox);
  log.line("Job completed: " + conclusion);
  log.flush();
  std::filesystem::remove_all(ws, ec);
  std::filesystem::remove_all(step_dir, ec);
  std::filesystem::remove_all(outbox, ec);

  auto c = state::conclusion_of(conclusion).value_or(state::kConclusionFailure);
  auto st = node.submit(state::CompleteJob{job_id, c, results});  // skipped steps too
  if (!st.ok())
    throw Error(st.code(),
                "job " + std::to_string(job_id) + ": completion refused: " + st.message());
  // The whole log into the node's BlobStore, checked against ours, then named in state (68).
  auto stored = node.signed_request("POST", base + "/logs/store", "", "application/json");
  if (stored.status == 200) {
    auto j = json::parse(stored.body);
    std::string full = log.full();
    auto mine = crypto::sha256(as_bytes(full));
    auto theirs = hex_decode_fixed<32>(j.value("sha256", ""));
    if (theirs && *theirs == mine) {
      state::SetJobLog b{spec.value("repo_id", 0ull), job_id, *theirs, full.size()};
      auto lst = node.submit(b);
      if (!lst.ok()) spdlog::warn("job {}: log record refused: {}", job_id, lst.message());
    } else {
      spdlog::warn("job {}: the node's copy of the log differs from ours: not recorded", job_id);
    }
  }
  return conclusion;
}

}  // namespace guts::runner
