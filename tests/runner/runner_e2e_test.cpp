// guts-runner end to end (docs/ci.md "Runners"): workflows pushed with the stock git to a real
// guts-node run on a real guts-runner in the bubblewrap sandbox; statuses through REST; a
// failing step, a write outside the workspace, a network connection and a look into the
// runner's directory all fail; matrix and `needs` ordering; a secret masked in the stored log;
// a runner killed with SIGKILL mid-job leaves no sandbox process and no conclusion (the
// takeover after the heartbeat deadline is tested on the state: ci_state_test).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>

#include "ci/zip.h"
#include "cli/http_client.h"
#include "core/time.h"
#include "crypto/did.h"
#include "crypto/hash.h"
#include "crypto/keyfile.h"
#include "git/process.h"
#include "state/token_request.h"
#include "state/tx.h"
#include "tests/e2e/e2e_fixture.h"
#include "tests/e2e/webhook_receiver.h"

namespace guts::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

// guts-runner run as a child in its own process group; output to <dir>/runner.log.
class RunnerProcess {
 public:
  RunnerProcess(fs::path dir) : dir_(std::move(dir)) {}
  ~RunnerProcess() { stop(); }
  void start() {
    auto bin = (bin_dir() / "guts-runner").string();
    auto log = (dir_.parent_path() / (dir_.filename().string() + ".log")).string();
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execl(bin.c_str(), bin.c_str(), "run", "--dir", dir_.c_str(), "--poll-ms", "100",
            "--heartbeat-seconds", "5", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  void kill9() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    bool gone = wait_until([&] { return waitpid(pid_, nullptr, WNOHANG) == pid_; },
                           std::chrono::seconds(60));
    if (!gone) kill9();
    pid_ = -1;
  }
  std::string log() const {
    return read_file(dir_.parent_path() / (dir_.filename().string() + ".log"));
  }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
};

class RunnerE2E : public GitE2E {
 protected:
  // A registration token (kind 53) signed by alice's own key; returns its seed (hex).
  std::string registration_token(uint64_t repo_id) {
    auto alice_key = crypto::load_key_file(alice_->home() / "guts" / "identity.key");
    cli::HttpClient c(node_->url());
    auto status = json::parse(c.get("/api/guts/status").body);
    auto did = crypto::did_from_key(alice_key.public_key());
    auto id = json::parse(c.get("/api/guts/identities/" + did).body);
    auto token = crypto::SigningKey::generate();
    state::Transaction tx;
    tx.chain_id = status["chain_id"].get<std::string>();
    tx.author = tx.signer = alice_key.public_key();
    tx.nonce = id["next_nonce"].get<uint64_t>();
    tx.timestamp_ms = unix_millis();
    tx.body = state::CreateRunnerToken{repo_id, token.public_key(), unix_millis() + 3600 * 1000};
    tx.sign(alice_key);
    auto r = c.post("/api/guts/transactions", json{{"tx", hex_encode(tx.encode())}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return hex_encode(token.seed());
  }

  fs::path register_runner(const std::string& repo, uint64_t repo_id, const std::string& name) {
    auto d = dir(name);
    auto r =
        run({(bin_dir() / "guts-runner").string(), "register", "--node", node_->url(), "--repo",
             repo, "--repo-id", std::to_string(repo_id), "--token", registration_token(repo_id),
             "--name", name, "--labels", "guts,linux", "--dir", d.string()});
    EXPECT_TRUE(r.ok()) << r.both();
    struct stat st {};
    EXPECT_EQ(::stat((d / "identity.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    return d;
  }

  json combined_status(const std::string& repo, const std::string& sha) {
    std::string out;
    alice_->api("GET", "/api/v3/repos/" + repo + "/commits/" + sha + "/status", "", &out);
    return json::parse(out, nullptr, false);
  }

  // Waits until `contexts` statuses exist and none is pending; returns context -> state.
  std::map<std::string, std::string> wait_statuses(const std::string& repo, const std::string& sha,
                                                   size_t contexts) {
    std::map<std::string, std::string> states;
    wait_until(
        [&] {
          states.clear();
          auto j = combined_status(repo, sha);
          if (!j.is_object() || !j.contains("statuses")) return false;
          for (const auto& s : j["statuses"])
            states[s["context"].get<std::string>()] = s["state"].get<std::string>();
          if (states.size() < contexts) return false;
          for (const auto& [c, st] : states)
            if (st == "pending") return false;
          return true;
        },
        std::chrono::seconds(180), std::chrono::milliseconds(200));
    return states;
  }

  // Commits everything in the local repository `a` and pushes main to alice/<repo> (added as
  // origin); returns the pushed commit.
  std::string commit_and_push(const fs::path& a, const std::string& repo) {
    for (std::vector<std::string> args :
         {std::vector<std::string>{"add", "-A"},
          {"commit", "-q", "-m", "workflows"},
          {"remote", "add", "origin", alice_->remote("alice", repo)},
          {"push", "-q", "origin", "main"}}) {
      auto r = alice_->git(args, a);
      if (!r.ok()) throw std::runtime_error("git " + args[0] + ": " + r.both());
    }
    return rev_parse(*alice_, a, "HEAD");
  }

  std::string job_log(const std::string& repo, uint64_t id, bool follow = false) {
    std::string out;
    int st = alice_->api("GET",
                         "/api/v3/repos/" + repo + "/actions/jobs/" + std::to_string(id) + "/logs" +
                             (follow ? "?follow=1" : ""),
                         "", &out);
    return st == 200 ? out : "";
  }
};

// The first and last timestamps of a log ("2026-...Z " prefixes sort as text).
std::pair<std::string, std::string> time_span(const std::string& log) {
  std::string first, last;
  size_t start = 0;
  while (start < log.size()) {
    auto nl = log.find('\n', start);
    if (nl == std::string::npos) nl = log.size();
    auto sp = log.find(' ', start);
    if (sp != std::string::npos && sp < nl) {
      auto ts = log.substr(start, sp - start);
      if (first.empty()) first = ts;
      last = ts;
    }
    start = nl + 1;
  }
  return {first, last};
}

TEST_F(RunnerE2E, PushedWorkflowsRunSandboxedGreenAndRedWithMaskedSecrets) {
  uint64_t repo_id = create_repo(*alice_, "app");
  auto runner_dir = register_runner("alice/app", repo_id, "runner1");
  auto secret = alice_->guts({"secret", "set", "alice/app", "TOKEN", "--body", "s3cr3t-v4lue"});
  ASSERT_TRUE(secret.ok()) << secret.both();
  auto listed = alice_->guts({"secret", "list", "alice/app"});
  EXPECT_THAT(listed.out, HasSubstr("TOKEN"));
  EXPECT_THAT(listed.out, Not(HasSubstr("s3cr3t")));

  // A listener the sandboxed job must not reach.
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(lfd, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  RunnerProcess runner(runner_dir);
  runner.start();

  auto a = local_repo(*alice_, "a");
  write_file(a / ".guts/workflows/ci.yml", R"(name: CI
on: push
jobs:
  build:
    runs-on: guts
    strategy:
      matrix:
        n: [1, 2]
    steps:
      - name: compile
        run: echo "build ${{ matrix.n }} at $GITHUB_SHA" && test -f README.md
  test:
    needs: build
    runs-on: [guts, linux]
    env:
      TOKEN: ${{ secrets.TOKEN }}
    steps:
      - name: secret
        run: echo "token is $TOKEN"
      - name: workspace
        working-directory: sub
        run: echo written > out.txt && cat out.txt && echo "home $HOME"
)");
  write_file(a / "sub/.keep", "");
  write_file(a / ".guts/workflows/bad.yml", R"(name: Bad
on:
  push:
    branches: [main]
jobs:
  fail:
    runs-on: guts
    steps:
      - run: echo before && exit 3
      - run: echo never
  write:
    runs-on: guts
    steps:
      - run: echo x > /usr/guts-escape-test
  net:
    runs-on: guts
    steps:
      - run: exec 3<>/dev/tcp/127.0.0.1/)" + port +
                                                R"(
  peek:
    runs-on: guts
    steps:
      - run: cat )" + (runner_dir / "identity.key").string() +
                                                R"(
)");
  ASSERT_TRUE(alice_->git({"add", "-A"}, a).ok());
  ASSERT_TRUE(alice_->git({"commit", "-q", "-m", "workflows"}, a).ok());
  std::string sha = rev_parse(*alice_, a, "HEAD");
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "app")}, a).ok());
  auto pushed = alice_->git({"push", "-q", "origin", "main"}, a);
  ASSERT_TRUE(pushed.ok()) << pushed.both();
  const uint64_t pushed_ms = unix_millis();

  auto states = wait_statuses("alice/app", sha, 7);
  EXPECT_EQ(states["CI / build (1)"], "success") << runner.log();
  EXPECT_EQ(states["CI / build (2)"], "success");
  EXPECT_EQ(states["CI / test"], "success");
  EXPECT_EQ(states["Bad / fail"], "failure");
  EXPECT_EQ(states["Bad / write"], "failure");
  EXPECT_EQ(states["Bad / net"], "failure");
  EXPECT_EQ(states["Bad / peek"], "failure");
  EXPECT_EQ(combined_status("alice/app", sha)["state"], "failure");

  // The logs: found by content among the run's jobs.
  std::map<std::string, std::string> logs;
  for (uint64_t id = 1; id <= 7; ++id) {
    auto text = job_log("alice/app", id);
    for (const char* marker : {"build 1 at", "build 2 at", "token is", "before", "guts-escape",
                               "/dev/tcp", "identity.key"})
      if (text.find(marker) != std::string::npos && !logs.count(marker)) logs[marker] = text;
  }
  ASSERT_EQ(logs.size(), 7u) << runner.log();
  // Figure (docs/ci.md): from the end of `git push` to the first job's first log line.
  std::string first;
  for (const auto& [m, text] : logs) {
    auto f = time_span(text).first;
    if (first.empty() || f < first) first = f;
  }
  if (first.size() == 24) {  // 2026-01-02T03:04:05.678Z
    if (auto t = parse_iso8601(first.substr(0, 19) + "Z")) {
      int64_t start = static_cast<int64_t>(*t) + std::stoi(first.substr(20, 3));
      std::cout << "push to first job start: " << start - static_cast<int64_t>(pushed_ms)
                << " ms\n";
    }
  }
  EXPECT_THAT(logs["token is"], HasSubstr("token is ***"));
  EXPECT_THAT(logs["token is"], Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(logs["token is"], HasSubstr("written"));
  EXPECT_THAT(logs["token is"], HasSubstr("home /tmp/home"));
  EXPECT_THAT(logs["build 1 at"], HasSubstr("build 1 at " + sha));
  EXPECT_THAT(logs["before"], HasSubstr("exit code 3"));
  EXPECT_THAT(logs["before"], Not(HasSubstr("Z never\n")));
  EXPECT_THAT(logs["guts-escape"], HasSubstr("Read-only file system"));
  EXPECT_FALSE(fs::exists("/usr/guts-escape-test"));
  EXPECT_THAT(logs["identity.key"], HasSubstr("No such file"));
  // needs: the test job started after both build jobs ended.
  auto test_span = time_span(logs["token is"]);
  EXPECT_GE(test_span.first, time_span(logs["build 1 at"]).second);
  EXPECT_GE(test_span.first, time_span(logs["build 2 at"]).second);
  // Nobody connected to the listener.
  EXPECT_LT(accept(lfd, nullptr, nullptr), 0);
  close(lfd);
  // follow=1 on a completed job answers the whole log and ends.
  EXPECT_THAT(job_log("alice/app", 1, true), HasSubstr("Job completed"));
  runner.stop();
}

// A job's log over the WebSocket (api/job_log_live.h): numbered lines arrive while the job
// runs (the first seconds before its end), grouped by step, then an end message with the
// conclusion; a client resuming after line N gets the rest and nothing twice; the polling page
// agrees; an unknown job is 404.
TEST_F(RunnerE2E, LiveLogStreamsOverWebSocketAndResumes) {
  uint64_t repo_id = create_repo(*alice_, "live");
  auto runner_dir = register_runner("alice/live", repo_id, "runner-live");
  RunnerProcess runner(runner_dir);
  runner.start();
  auto a = local_repo(*alice_, "live");
  write_file(a / ".guts/workflows/live.yml", R"(name: Live
on: push
jobs:
  tick:
    runs-on: guts
    steps:
      - name: Tick
        run: for i in 1 2 3 4 5 6; do echo "tick $i"; sleep 1; done
)");
  commit_and_push(a, "live");

  const std::string actions = "/api/v3/repos/alice/live/actions";
  uint64_t job_id = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        std::string out;
        alice_->api("GET", actions + "/runs", "", &out);
        auto j = json::parse(out, nullptr, false);
        if (!j.is_object() || j["workflow_runs"].empty()) return false;
        auto run = std::to_string(j["workflow_runs"][0]["id"].get<uint64_t>());
        alice_->api("GET", actions + "/runs/" + run + "/jobs", "", &out);
        auto jobs = json::parse(out, nullptr, false);
        if (!jobs.is_object() || jobs["jobs"].empty()) return false;
        job_id = jobs["jobs"][0]["id"].get<uint64_t>();
        return jobs["jobs"][0]["status"] != "completed";
      },
      std::chrono::seconds(60), std::chrono::milliseconds(50)))
      << runner.log();
  const std::string live = actions + "/jobs/" + std::to_string(job_id) + "/logs/live";
  const std::string ws = "ws://" + node_->url().substr(std::string("http://").size()) + live;

  struct Message {
    int64_t ms = 0;  // arrival, wall clock (ms since the epoch)
    json j;
  };
  auto tail = [&](const std::string& url) {
    auto p = guts::git::Process::spawn(
        {.argv = {"python3", GUTS_WS_TAIL, url, "180"}, .capture_stdin = false});
    std::vector<Message> got;
    while (auto line = p.read_stdout_line()) {
      auto tab = line->find('\t');
      if (tab == std::string::npos) continue;
      got.push_back({std::stoll(line->substr(0, tab)), json::parse(line->substr(tab + 1))});
    }
    std::string err;
    auto status = p.pump({}, {}, guts::git::sink_to(err));
    EXPECT_TRUE(status.success()) << err;
    return got;
  };

  auto got = tail(ws);
  ASSERT_GE(got.size(), 8u) << runner.log();
  const auto& end = got.back().j;
  EXPECT_EQ(end["type"], "end");
  EXPECT_EQ(end["conclusion"], "success");
  int64_t first_tick = -1, last_tick = -1;
  std::vector<double> latency;  // the line's runner timestamp -> its arrival here (same clock)
  std::string tick_group;
  for (size_t i = 0; i + 1 < got.size(); ++i) {
    const auto& m = got[i].j;
    ASSERT_EQ(m["type"], "line");
    EXPECT_EQ(m["line"].get<uint64_t>(), i + 1) << "numbered from 1, no gap, no repeat";
    const auto text = m["text"].get<std::string>();
    if (text == "tick 1") {
      first_tick = got[i].ms;
      tick_group = m["group"].get<std::string>();
      EXPECT_FALSE(m["time"].get<std::string>().empty());
    }
    if (text == "tick 6") last_tick = got[i].ms;
    const auto t = m["time"].get<std::string>();
    if (text.starts_with("tick ") && t.size() > 20 && t[19] == '.') {
      auto whole = parse_iso8601(t.substr(0, 19) + "Z");
      if (whole)
        latency.push_back(static_cast<double>(got[i].ms) - static_cast<double>(*whole) -
                          std::stod("0" + t.substr(19, t.size() - 20)) * 1000);
    }
  }
  // A figure (docs/ci.md "Figures"), printed, not asserted: from the step's write (the
  // runner's timestamp) to this WebSocket client.
  if (!latency.empty()) {
    std::sort(latency.begin(), latency.end());
    std::cerr << "[live-log] write -> WebSocket client: median " << latency[latency.size() / 2]
              << " ms, max " << latency.back() << " ms over " << latency.size() << " lines\n";
  }
  EXPECT_EQ(end["lines"].get<uint64_t>(), got.size() - 1);
  ASSERT_GE(first_tick, 0) << "no 'tick 1' line";
  ASSERT_GE(last_tick, 0) << "no 'tick 6' line";
  EXPECT_NE(tick_group.find("Tick"), std::string::npos) << "the step's group: " << tick_group;
  // Live, not a dump at the end: the first tick arrived seconds before the last one.
  EXPECT_GE(last_tick - first_tick, 3000) << first_tick << " " << last_tick;

  // Resume after line 3: lines 4.. and the end, nothing twice.
  auto rest = tail(ws + "?line=3");
  ASSERT_EQ(rest.size(), got.size() - 3);
  EXPECT_EQ(rest.front().j["line"], 4);
  EXPECT_EQ(rest.back().j["type"], "end");

  // The polling page without the upgrade.
  std::string out;
  ASSERT_EQ(alice_->api("GET", live + "?line=2", "", &out), 200);
  auto page = json::parse(out);
  EXPECT_EQ(page["complete"], true);
  EXPECT_EQ(page["lines"].size(), got.size() - 3);
  EXPECT_EQ(page["lines"][0]["line"], 3);
  EXPECT_EQ(alice_->api("GET", actions + "/jobs/999999/logs/live", "", &out), 404);
  EXPECT_EQ(alice_->api("GET", live + "?line=x", "", &out), 422);
}

TEST_F(RunnerE2E, RunnerKilledMidJobLeavesNoSandboxAndNoConclusion) {
  uint64_t repo_id = create_repo(*alice_, "slow");
  auto runner_dir = register_runner("alice/slow", repo_id, "runner2");
  RunnerProcess runner(runner_dir);
  runner.start();
  auto a = local_repo(*alice_, "s");
  const std::string marker = "guts-kill-marker-" + std::to_string(getpid());
  write_file(a / ".guts/workflows/slow.yml", R"(on: push
jobs:
  slow:
    runs-on: guts
    steps:
      - run: echo started; sleep 300 # )" + marker +
                                                 R"(
)");
  std::string sha = commit_and_push(a, "slow");
  // The step runs: its first line reached the node.
  ASSERT_TRUE(
      wait_until([&] { return job_log("alice/slow", 1).find("started") != std::string::npos; },
                 std::chrono::seconds(120), std::chrono::milliseconds(100)))
      << runner.log();
  // The step's processes: their environment names the job's workspace (the script itself is a
  // file, not on a command line).
  const std::string workspace = "GITHUB_WORKSPACE=" + (runner_dir / "work").string();
  auto sandboxed = [&] {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
      if (read_file(e.path() / "environ").find(workspace) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(sandboxed());
  runner.kill9();
  // The sandbox dies with its parent (bwrap --die-with-parent).
  EXPECT_TRUE(wait_until([&] { return !sandboxed(); }, std::chrono::seconds(30)));
  // No conclusion: the job stays in progress until its heartbeat is stale; the next claim then
  // takes it over and only that runner's result counts (CiState.StaleHeartbeatRequeuesByBlockTime).
  auto j = combined_status("alice/slow", sha);
  ASSERT_EQ(j["statuses"].size(), 1u) << j.dump();
  EXPECT_EQ(j["statuses"][0]["state"], "pending");
}

// Artifacts (docs/ci.md "Artifacts") and dispatch inputs: a step writes files and uploads them
// with `guts-artifact` inside the sandbox; the artifact is listed in GitHub's shape, its zip
// downloads through REST (its digest is the zip's SHA-256) and `guts run download` unpacks the
// same bytes; `guts workflow run -f` carries an input into `${{ inputs.* }}` and
// `github.event.inputs.*`; DELETE removes an artifact.
TEST_F(RunnerE2E, ArtifactsUploadedInTheSandboxDownloadWithCliAndRest) {
  uint64_t repo_id = create_repo(*alice_, "art");
  auto runner_dir = register_runner("alice/art", repo_id, "runner3");
  RunnerProcess runner(runner_dir);
  runner.start();
  auto a = local_repo(*alice_, "art");
  write_file(a / ".guts/workflows/art.yml", R"(name: Art
on: [push, workflow_dispatch]
jobs:
  build:
    runs-on: guts
    steps:
      - run: |
          mkdir -p dist/sub
          printf 'hello %s/%s\n' "${{ inputs.who }}" "${{ github.event.inputs.who }}" > dist/a.txt
          seq 1 2000 > dist/sub/b.txt
          chmod +x dist/sub/b.txt
      - run: guts-artifact upload --retention-days 5 dist-${{ github.event_name }} dist
      - run: guts-artifact upload bad ../outside || echo refused-as-expected
)");
  std::string sha = commit_and_push(a, "art");
  auto states = wait_statuses("alice/art", sha, 1);
  EXPECT_EQ(states["Art / build"], "success") << runner.log();

  auto dispatched = alice_->guts({"workflow", "run", "alice/art", "art.yml", "-f", "who=world"});
  ASSERT_TRUE(dispatched.ok()) << dispatched.both();
  const std::string actions = "/api/v3/repos/alice/art/actions";
  json run;
  ASSERT_TRUE(wait_until(
      [&] {
        std::string out;
        alice_->api("GET", actions + "/runs?event=workflow_dispatch", "", &out);
        auto j = json::parse(out, nullptr, false);
        if (!j.is_object() || j["workflow_runs"].empty()) return false;
        run = j["workflow_runs"][0];
        return run["status"] == "completed";
      },
      std::chrono::seconds(180), std::chrono::milliseconds(200)))
      << runner.log();
  EXPECT_EQ(run["conclusion"], "success") << runner.log();
  EXPECT_EQ(run["inputs"]["who"], "world");
  const std::string run_id = std::to_string(run["id"].get<uint64_t>());

  // Listings: both runs' artifacts; the dispatch run's one, in GitHub's shape.
  std::string out;
  ASSERT_EQ(alice_->api("GET", actions + "/artifacts", "", &out), 200);
  auto all = json::parse(out);
  EXPECT_EQ(all["total_count"], 2) << out;
  ASSERT_EQ(alice_->api("GET", actions + "/runs/" + run_id + "/artifacts", "", &out), 200);
  auto listed = json::parse(out);
  ASSERT_EQ(listed["total_count"], 1) << out;
  auto art = listed["artifacts"][0];
  EXPECT_EQ(art["name"], "dist-workflow_dispatch");
  EXPECT_EQ(art["expired"], false);
  EXPECT_EQ(art["workflow_run"]["head_sha"], sha);
  auto created = parse_iso8601(art["created_at"].get<std::string>());
  auto expires = parse_iso8601(art["expires_at"].get<std::string>());
  ASSERT_TRUE(created && expires);
  EXPECT_NEAR(static_cast<double>(*expires - *created), 5 * 86400.0 * 1000, 2000.0);

  // The zip through REST: its digest, its entries.
  cli::HttpClient c(node_->url());
  c.set_token(alice_->token());
  auto zip = c.get(actions + "/artifacts/" + std::to_string(art["id"].get<uint64_t>()) + "/zip");
  ASSERT_EQ(zip.status, 200) << zip.body;
  EXPECT_EQ(zip.header("content-type"), "application/zip");
  EXPECT_EQ(art["size_in_bytes"], zip.body.size());
  EXPECT_EQ(art["digest"], "sha256:" + hex_encode(crypto::sha256(zip.body)));
  auto entries = ci::read_zip(zip.body);
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  std::map<std::string, std::string> files;
  for (const auto& e : entries.value()) files[e.name] = e.data;
  std::string seq;
  for (int i = 1; i <= 2000; ++i) seq += std::to_string(i) + "\n";
  EXPECT_EQ(files.size(), 2u);
  EXPECT_EQ(files["dist/a.txt"], "hello world/world\n");
  EXPECT_EQ(files["dist/sub/b.txt"], seq);

  // The CLI unpacks the same bytes.
  auto into = dir("download");
  auto dl = alice_->guts({"run", "download", "alice/art", run_id, "-D", into.string()});
  ASSERT_TRUE(dl.ok()) << dl.both();
  EXPECT_EQ(read_file(into / "dist-workflow_dispatch/dist/a.txt"), files["dist/a.txt"]);
  EXPECT_EQ(read_file(into / "dist-workflow_dispatch/dist/sub/b.txt"), seq);
  struct stat st {};
  ASSERT_EQ(::stat((into / "dist-workflow_dispatch/dist/sub/b.txt").c_str(), &st), 0);
  EXPECT_NE(st.st_mode & 0100, 0u);  // executable bit kept
  EXPECT_FALSE(fs::exists(into / "bad"));
  // The push run's artifact: the input is empty there.
  auto dl2 =
      alice_->guts({"run", "download", "alice/art", "1", "-D", into.string(), "-n", "dist-push"});
  ASSERT_TRUE(dl2.ok()) << dl2.both();
  EXPECT_EQ(read_file(into / "dist-push/dist/a.txt"), "hello /\n");

  // DELETE (write permission): gone from listings and downloads.
  const std::string one = actions + "/artifacts/" + std::to_string(art["id"].get<uint64_t>());
  EXPECT_EQ(alice_->api("DELETE", one), 204);
  EXPECT_EQ(alice_->api("GET", one), 404);
  ASSERT_EQ(alice_->api("GET", actions + "/artifacts", "", &out), 200);
  EXPECT_EQ(json::parse(out)["total_count"], 1) << out;
  runner.stop();
}

// Private repositories (docs/ci.md "Private repositories"): the runner's checkout carries a
// job-scoped credential (X-Guts-Runner-Job) that the auth middleware accepts only from the
// runner holding an in-progress job of that repository; an anonymous fetch, another key, and
// the same runner once the job completed are refused.
TEST_F(RunnerE2E, PrivateRepositoryChecksOutWithAJobScopedCredential) {
  uint64_t repo_id = create_repo(*alice_, "hidden", true);
  auto runner_dir = register_runner("alice/hidden", repo_id, "runner4");
  RunnerProcess runner(runner_dir);
  runner.start();
  auto a = local_repo(*alice_, "hidden");
  write_file(a / ".guts/workflows/ci.yml", R"(name: CI
on: push
jobs:
  build:
    runs-on: guts
    steps:
      - run: test -f README.md && test -f .guts/workflows/ci.yml && echo checked-out
)");
  std::string sha = commit_and_push(a, "hidden");
  auto states = wait_statuses("alice/hidden", sha, 1);
  EXPECT_EQ(states["CI / build"], "success") << runner.log();
  runner.stop();

  std::string out;
  ASSERT_EQ(alice_->api("GET", "/api/v3/repos/alice/hidden/actions/runs?per_page=1", "", &out),
            200);
  uint64_t run_id = json::parse(out)["workflow_runs"][0]["id"].get<uint64_t>();
  ASSERT_EQ(
      alice_->api("GET",
                  "/api/v3/repos/alice/hidden/actions/runs/" + std::to_string(run_id) + "/jobs", "",
                  &out),
      200);
  uint64_t job = json::parse(out)["jobs"][0]["id"].get<uint64_t>();
  // The credential, as the runner makes it, for a given key.
  cli::HttpClient c(node_->url());
  auto status = json::parse(c.get("/api/guts/status").body);
  auto node_key = crypto::parse_did(status["node_did"].get<std::string>());
  ASSERT_TRUE(node_key);
  auto header = [&](const crypto::SigningKey& k) {
    uint64_t ts = unix_millis();
    auto payload =
        api::runner_request_payload(status["chain_id"].get<std::string>(), *node_key,
                                    k.public_key(), ts, "GIT", "/jobs/" + std::to_string(job));
    return crypto::did_from_key(k.public_key()) + " " + std::to_string(job) + " " +
           std::to_string(ts) + " " + hex_encode(k.sign(api::kRunnerRequestDomain, payload));
  };
  const std::string refs = "/alice/hidden.git/info/refs?service=git-upload-pack";
  EXPECT_EQ(c.get(refs).status, 401);  // anonymous
  c.set_header("X-Guts-Runner-Job", header(crypto::SigningKey::generate()));
  EXPECT_EQ(c.get(refs).status, 401);  // not the job's runner
  c.set_header("X-Guts-Runner-Job", header(crypto::load_key_file(runner_dir / "identity.key")));
  EXPECT_EQ(c.get(refs).status, 401);  // the job's runner, but the job is completed
}

// The run of `event` at `sha` in `repo` (GitHub's workflow run shape), or null.
json run_at(const User& u, const std::string& repo, const std::string& event,
            const std::string& sha) {
  std::string out;
  if (u.api("GET", "/api/v3/repos/" + repo + "/actions/runs?event=" + event + "&head_sha=" + sha,
            "", &out) != 200)
    return nullptr;
  auto j = json::parse(out, nullptr, false);
  if (!j.is_object() || j["workflow_runs"].empty()) return nullptr;
  return j["workflow_runs"][0];
}

// Pull requests run their checks (docs/ci.md "Where runs come from"): opening one and pushing
// to its head start `pull_request` runs at the head, whose statuses gate the merge; a fork's
// pull request by someone without write permission runs too, checked out from the fork and
// without the repository's secrets; merging runs the `push` workflows at the merge commit.
TEST_F(RunnerE2E, PullRequestsRunOnOpenAndPushForksWithoutSecretsAndMergesRunOnPush) {
  uint64_t repo_id = create_repo(*alice_, "proj");
  auto runner_dir = register_runner("alice/proj", repo_id, "runner5");
  auto secret = alice_->guts({"secret", "set", "alice/proj", "TOKEN", "--body", "pr-s3cr3t"});
  ASSERT_TRUE(secret.ok()) << secret.both();
  RunnerProcess runner(runner_dir);
  runner.start();

  auto a = local_repo(*alice_, "proj");
  write_file(a / ".guts/workflows/ci.yml", R"(name: CI
on:
  push:
    branches: [main]
  pull_request:
    branches: [main]
jobs:
  check:
    runs-on: guts
    env:
      TOKEN: ${{ secrets.TOKEN }}
    steps:
      - run: echo "event=${{ github.event_name }} ref=${{ github.ref }} token=[$TOKEN]" && ls
)");
  const std::string main_sha = commit_and_push(a, "proj");
  EXPECT_EQ(wait_statuses("alice/proj", main_sha, 1)["CI / check"], "success") << runner.log();

  // A branch pushed alone runs nothing (the workflow's push filter is main); its pull request
  // runs at the head.
  ASSERT_TRUE(alice_->git({"checkout", "-q", "-b", "feature"}, a).ok());
  commit_file(*alice_, a, "feature.txt", "one\n", "feature");
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "feature"}, a).ok());
  const std::string head1 = rev_parse(*alice_, a, "HEAD");
  std::string out;
  ASSERT_EQ(alice_->api("POST", "/api/v3/repos/alice/proj/pulls",
                        R"({"title":"Feature","head":"feature","base":"main"})", &out),
            201)
      << out;
  EXPECT_EQ(wait_statuses("alice/proj", head1, 1)["CI / check"], "success") << runner.log();
  auto run1 = run_at(*alice_, "alice/proj", "pull_request", head1);
  ASSERT_TRUE(run1.is_object());
  EXPECT_EQ(run1["head_branch"], "feature");
  EXPECT_EQ(run1["pull_requests"][0]["number"], 1);
  EXPECT_TRUE(run_at(*alice_, "alice/proj", "push", head1).is_null());

  // A push to the head runs again at the new head.
  commit_file(*alice_, a, "feature.txt", "two\n", "feature, again");
  ASSERT_TRUE(alice_->git({"push", "-q", "origin", "feature"}, a).ok());
  const std::string head2 = rev_parse(*alice_, a, "HEAD");
  EXPECT_EQ(wait_statuses("alice/proj", head2, 1)["CI / check"], "success") << runner.log();
  auto run2 = run_at(*alice_, "alice/proj", "pull_request", head2);
  ASSERT_TRUE(run2.is_object());
  uint64_t run2_id = run2["id"].get<uint64_t>();

  // Bob (read permission only) forks, pushes a branch to his fork and opens a pull request.
  User bob = make_user("bob");
  ASSERT_EQ(bob.api("POST", "/api/v3/repos/alice/proj/forks", "{}", &out), 202) << out;
  auto b = dir("bob-proj");
  ASSERT_TRUE(wait_until(
      [&] {
        return bob.git({"clone", "-q", bob.remote("bob", "proj"), b.string()}).ok();
      },
      std::chrono::seconds(60), std::chrono::milliseconds(200)));
  ASSERT_TRUE(bob.git({"checkout", "-q", "-b", "fix"}, b).ok());
  commit_file(bob, b, "fix.txt", "fixed\n", "a fix from a fork");
  ASSERT_TRUE(bob.git({"push", "-q", "origin", "fix"}, b).ok());
  const std::string fork_head = rev_parse(bob, b, "HEAD");
  ASSERT_EQ(bob.api("POST", "/api/v3/repos/alice/proj/pulls",
                    R"({"title":"Fix","head":"bob:fix","base":"main"})", &out),
            201)
      << out;
  EXPECT_EQ(wait_statuses("alice/proj", fork_head, 1)["CI / check"], "success") << runner.log();
  auto run3 = run_at(*alice_, "alice/proj", "pull_request", fork_head);
  ASSERT_TRUE(run3.is_object());
  EXPECT_EQ(run3["actor"]["login"], "bob");
  EXPECT_EQ(run3["pull_requests"][0]["number"], 2);

  // The logs: alice's pull request got the secret (masked), bob's fork none; bob's checkout
  // has his commit (from the fork).
  auto log_of = [&](uint64_t run_id) {
    std::string jobs;
    alice_->api("GET", "/api/v3/repos/alice/proj/actions/runs/" + std::to_string(run_id) + "/jobs",
                "", &jobs);
    auto j = json::parse(jobs, nullptr, false);
    if (!j.is_object() || j["jobs"].empty()) return std::string();
    return job_log("alice/proj", j["jobs"][0]["id"].get<uint64_t>());
  };
  auto own = log_of(run2_id), forked = log_of(run3["id"].get<uint64_t>());
  EXPECT_THAT(own, HasSubstr("event=pull_request ref=refs/heads/main token=[***]"));
  EXPECT_THAT(own, Not(HasSubstr("pr-s3cr3t")));
  EXPECT_THAT(forked, HasSubstr("event=pull_request ref=refs/heads/main token=[]"));
  EXPECT_THAT(forked, HasSubstr("fix.txt"));

  // Merging pull request 1 runs the push workflow at the merge commit on main.
  ASSERT_EQ(alice_->api("PUT", "/api/v3/repos/alice/proj/pulls/1/merge",
                        R"({"merge_method":"merge"})", &out),
            200)
      << out;
  const std::string merge_sha = json::parse(out)["sha"].get<std::string>();
  EXPECT_EQ(wait_statuses("alice/proj", merge_sha, 1)["CI / check"], "success") << runner.log();
  EXPECT_TRUE(run_at(*alice_, "alice/proj", "push", merge_sha).is_object());
  runner.stop();
}

// `on: schedule` (docs/ci.md "Scheduled runs"): a push to the default branch registers the
// schedule; when its minute comes a node starts the run at the default branch's tip, once per
// minute. (Removal by a later push, the time window and one run per minute across nodes are
// state rules: tests/ci/ci_state_test.cpp, CiSchedule.*.)
TEST_F(RunnerE2E, ScheduledWorkflowRunsAtTheDefaultBranchTip) {
  uint64_t repo_id = create_repo(*alice_, "cron");
  auto runner_dir = register_runner("alice/cron", repo_id, "runner6");
  RunnerProcess runner(runner_dir);
  runner.start();
  auto a = local_repo(*alice_, "cron");
  write_file(a / ".guts/workflows/nightly.yml", R"(name: Nightly
on:
  schedule:
    - cron: '* * * * *'
jobs:
  tick:
    runs-on: guts
    steps:
      - run: echo "event=${{ github.event_name }}"
)");
  const std::string sha = commit_and_push(a, "cron");
  // No push run (the workflow has no push trigger); within about a minute, a scheduled one.
  EXPECT_EQ(wait_statuses("alice/cron", sha, 1)["Nightly / tick"], "success") << runner.log();
  auto r = run_at(*alice_, "alice/cron", "schedule", sha);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["head_branch"], "main");
  EXPECT_EQ(r["actor"]["login"], "alice");
  EXPECT_TRUE(run_at(*alice_, "alice/cron", "push", sha).is_null());
  std::string out;
  ASSERT_EQ(alice_->api("GET", "/api/v3/repos/alice/cron/actions/runs?event=schedule", "", &out),
            200);
  // One run per minute at most: never more runs than minutes since the push (+1).
  auto runs = json::parse(out)["workflow_runs"];
  std::set<std::string> minutes;
  for (const auto& x : runs) minutes.insert(x["created_at"].get<std::string>().substr(0, 16));
  EXPECT_LE(runs.size(), minutes.size() + 1) << out;
  runner.stop();
}

// Agreeing runners (docs/ci.md "Agreeing runners"): with agreeing_runners 2 each job runs on
// two runners in turn, and its status turns green only once both reported success.
TEST_F(RunnerE2E, TwoAgreeingRunnersRunEachJobBeforeItIsGreen) {
  uint64_t repo_id = create_repo(*alice_, "twice");
  auto d1 = register_runner("alice/twice", repo_id, "runner7");
  auto d2 = register_runner("alice/twice", repo_id, "runner8");
  const std::string policy = "/api/guts/repos/alice/twice/actions/policy";
  std::string out;
  EXPECT_EQ(alice_->api("PUT", policy, R"({"trusted_runners":[],"agreeing_runners":9})", &out),
            422);
  ASSERT_EQ(alice_->api("PUT", policy, R"({"trusted_runners":[],"agreeing_runners":2})", &out), 200)
      << out;
  EXPECT_EQ(json::parse(out)["agreeing_runners"], 2);
  auto shown = alice_->guts({"runner-policy", "show", "alice/twice"});
  EXPECT_THAT(shown.out, HasSubstr("Each job needs 2 trusted runners")) << shown.both();

  RunnerProcess r1(d1);
  r1.start();
  auto a = local_repo(*alice_, "twice");
  write_file(a / ".guts/workflows/ci.yml", R"(name: CI
on: push
jobs:
  build:
    runs-on: guts
    steps:
      - run: echo reproducible
)");
  const std::string sha = commit_and_push(a, "twice");
  auto results = [&] {
    std::string runs;
    if (alice_->api("GET", "/api/v3/repos/alice/twice/actions/runs?per_page=1", "", &runs) != 200)
      return json::array();
    auto r = json::parse(runs, nullptr, false);
    if (!r.is_object() || r["workflow_runs"].empty()) return json::array();
    std::string jobs;
    alice_->api("GET",
                "/api/v3/repos/alice/twice/actions/runs/" +
                    std::to_string(r["workflow_runs"][0]["id"].get<uint64_t>()) + "/jobs",
                "", &jobs);
    auto j = json::parse(jobs, nullptr, false);
    return j.is_object() && !j["jobs"].empty() ? j["jobs"][0]["guts_results"] : json::array();
  };
  // One runner alone: its result is recorded, and the job waits for another (pending).
  ASSERT_TRUE(wait_until([&] { return results().size() == 1; }, std::chrono::seconds(120),
                         std::chrono::milliseconds(200)))
      << r1.log();
  auto st = combined_status("alice/twice", sha);
  EXPECT_EQ(st["statuses"][0]["state"], "pending") << st.dump();
  EXPECT_THAT(st["statuses"][0]["description"].get<std::string>(),
              HasSubstr("waiting for agreeing runners"));
  // The second runner agrees: green.
  RunnerProcess r2(d2);
  r2.start();
  EXPECT_EQ(wait_statuses("alice/twice", sha, 1)["CI / build"], "success") << r2.log();
  auto done = results();
  ASSERT_EQ(done.size(), 2u) << done.dump();
  EXPECT_NE(done[0]["runner_name"], done[1]["runner_name"]);
  for (const auto& x : done) {
    EXPECT_EQ(x["conclusion"], "success");
    EXPECT_EQ(x["trusted"], true);
  }
  r1.stop();
  r2.stop();
}

// A runner killed (SIGKILL) mid-job: once its last heartbeat is older than the state's deadline
// (kJobHeartbeatDeadlineMs, 2 minutes of block time) another runner's claim takes the job over
// and completes it; the job has exactly one conclusion, the second runner's. Slow by design
// (the deadline is a consensus constant, not shortened for tests).
TEST_F(RunnerE2E, JobOfAKilledRunnerIsTakenOverAndCompletedByAnother) {
  uint64_t repo_id = create_repo(*alice_, "takeover");
  auto dir_a = register_runner("alice/takeover", repo_id, "runner-a");
  auto dir_b = register_runner("alice/takeover", repo_id, "runner-b");
  RunnerProcess a_runner(dir_a);
  a_runner.start();
  auto a = local_repo(*alice_, "takeover");
  write_file(a / ".guts/workflows/t.yml", R"(name: T
on: push
jobs:
  work:
    runs-on: guts
    steps:
      - run: echo "started on $HOSTNAME"; sleep 15; echo finished
)");
  std::string sha = commit_and_push(a, "takeover");
  std::string out;
  uint64_t job = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        if (alice_->api("GET", "/api/v3/repos/alice/takeover/actions/runs?per_page=1", "", &out) !=
            200)
          return false;
        auto runs = json::parse(out, nullptr, false);
        if (!runs.is_object() || runs["workflow_runs"].empty()) return false;
        alice_->api("GET",
                    "/api/v3/repos/alice/takeover/actions/runs/" +
                        std::to_string(runs["workflow_runs"][0]["id"].get<uint64_t>()) + "/jobs",
                    "", &out);
        auto jobs = json::parse(out, nullptr, false);
        if (!jobs.is_object() || jobs["jobs"].empty()) return false;
        job = jobs["jobs"][0]["id"].get<uint64_t>();
        return job_log("alice/takeover", job).find("started") != std::string::npos;
      },
      std::chrono::seconds(120), std::chrono::milliseconds(100)))
      << a_runner.log();
  a_runner.kill9();
  RunnerProcess b_runner(dir_b);
  b_runner.start();
  // The deadline passes (block time), runner-b claims and completes: one conclusion, its own.
  auto states = wait_statuses("alice/takeover", sha, 1);
  EXPECT_EQ(states["T / work"], "success") << b_runner.log();
  ASSERT_EQ(alice_->api("GET", "/api/v3/repos/alice/takeover/actions/jobs/" + std::to_string(job),
                        "", &out),
            200);
  auto j = json::parse(out);
  EXPECT_EQ(j["conclusion"], "success");
  EXPECT_EQ(j["runner_name"], "runner-b") << out;
  EXPECT_THAT(job_log("alice/takeover", job), HasSubstr("finished"));
  b_runner.stop();
}

// workflow_run webhooks (docs/webhooks.md): a run on a real runner reaches a real receiver as
// requested, in_progress and completed, each signed, with GitHub's workflow_run and workflow
// objects; a re-run through REST delivers the three again.
class RunnerWebhookE2E : public RunnerE2E {
 protected:
  std::vector<std::string> node_args() const override {
    return {"--webhook-allow-private", "--webhook-retry-base-ms", "200"};
  }
};

TEST_F(RunnerWebhookE2E, WorkflowRunEventsRequestedInProgressCompleted) {
  uint64_t repo_id = create_repo(*alice_, "hooked");
  WebhookReceiver receiver(root_->path() / "receiver", "wr-secret");
  json hook = {
      {"name", "web"},
      {"active", true},
      {"events", {"workflow_run"}},
      {"config", {{"url", receiver.url()}, {"content_type", "json"}, {"secret", "wr-secret"}}}};
  std::string out;
  ASSERT_EQ(alice_->api("POST", "/api/v3/repos/alice/hooked/hooks", hook.dump(), &out), 201) << out;
  auto runner_dir = register_runner("alice/hooked", repo_id, "runner-wr");
  RunnerProcess runner(runner_dir);
  runner.start();

  auto a = local_repo(*alice_, "wr");
  write_file(a / ".guts/workflows/ci.yml", R"(name: CI
on: push
jobs:
  one:
    runs-on: guts
    steps:
      - run: echo one
  two:
    runs-on: guts
    needs: one
    steps:
      - run: exit 1
)");
  std::string sha = commit_and_push(a, "hooked");

  auto actions_of = [&] {
    std::vector<std::string> v;
    for (const auto& r : receiver.of("workflow_run"))
      v.push_back(r["payload"]["action"].get<std::string>());
    return v;
  };
  ASSERT_TRUE(receiver.wait_ok("workflow_run", 3, std::chrono::seconds(180))) << runner.log();
  EXPECT_EQ(actions_of(), (std::vector<std::string>{"requested", "in_progress", "completed"}));
  auto events = receiver.of("workflow_run");
  uint64_t run_id = 0;
  for (const auto& r : events) {
    EXPECT_TRUE(r["signature_ok"].get<bool>());
    const auto& p = r["payload"];
    EXPECT_EQ(p["workflow_run"]["head_sha"], sha);
    EXPECT_EQ(p["workflow_run"]["name"], "CI");
    EXPECT_EQ(p["workflow_run"]["event"], "push");
    EXPECT_EQ(p["workflow"]["path"], ".guts/workflows/ci.yml");
    EXPECT_EQ(p["repository"]["full_name"], "alice/hooked");
    EXPECT_TRUE(p["sender"].is_object());
    if (run_id == 0) run_id = p["workflow_run"]["id"].get<uint64_t>();
    EXPECT_EQ(p["workflow_run"]["id"].get<uint64_t>(), run_id);
  }
  const auto& done = events.back()["payload"]["workflow_run"];
  EXPECT_EQ(done["status"], "completed");
  EXPECT_EQ(done["conclusion"], "failure");

  // A re-run: the three again, for the second attempt.
  ASSERT_EQ(
      alice_->api("POST",
                  "/api/v3/repos/alice/hooked/actions/runs/" + std::to_string(run_id) + "/rerun",
                  "", &out),
      201)
      << out;
  ASSERT_TRUE(receiver.wait_ok("workflow_run", 6, std::chrono::seconds(180))) << runner.log();
  EXPECT_EQ(actions_of(), (std::vector<std::string>{"requested", "in_progress", "completed",
                                                    "requested", "in_progress", "completed"}));
  EXPECT_EQ(receiver.of("workflow_run").back()["payload"]["workflow_run"]["run_attempt"], 2);
}

}  // namespace
}  // namespace guts::e2e
