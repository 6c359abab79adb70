// guts-runner's pure parts: the bubblewrap argv, secret masking, the log bound, labels, and
// process timeouts that kill the whole process group.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "runner/cgroup.h"
#include "runner/config.h"
#include "runner/log_streamer.h"
#include "runner/sandbox.h"

namespace guts::runner {
namespace {

size_t index_of(const std::vector<std::string>& a, const std::string& v, size_t from = 0) {
  auto it = std::find(a.begin() + static_cast<std::ptrdiff_t>(from), a.end(), v);
  return static_cast<size_t>(it - a.begin());
}

TEST(Sandbox, ArgvIsolatesEverythingButTheWorkspace) {
  SandboxSpec s;
  s.workspace = "/r/work/7";
  s.hide = "/r";
  s.workdir = "/r/work/7/sub";
  s.script_dir = "/r2/steps/7";
  auto a = bwrap_argv(s);
  ASSERT_GE(a.size(), 10u);
  EXPECT_EQ(a[0], "bwrap");
  EXPECT_EQ(std::vector<std::string>(a.begin() + 1, a.begin() + 4),
            (std::vector<std::string>{"--ro-bind", "/", "/"}));
  // The runner's directory is hidden before the workspace is bound inside it.
  size_t hide = index_of(a, "/r"), bind = index_of(a, "--bind");
  EXPECT_EQ(a[hide - 1], "--tmpfs");
  EXPECT_LT(hide, bind);
  EXPECT_EQ(a[bind + 1], "/r/work/7");
  EXPECT_EQ(a[bind + 2], "/r/work/7");
  for (const char* opt : {"--unshare-all", "--die-with-parent", "--new-session"})
    EXPECT_LT(index_of(a, opt), a.size()) << opt;
  EXPECT_EQ(index_of(a, "--share-net"), a.size());  // no network by default
  EXPECT_EQ(a[index_of(a, "--chdir") + 1], "/r/work/7/sub");
  // Neither environment nor script on the command line: the script is a file bound read-only.
  EXPECT_EQ(index_of(a, "--setenv"), a.size());
  EXPECT_EQ(a[index_of(a, "/r2/steps/7") - 1], "--ro-bind");
  EXPECT_EQ(a[index_of(a, "/r2/steps/7") + 1], kStepDir);
  EXPECT_EQ(a.back(), std::string(kStepDir) + "/step.sh");
  EXPECT_EQ(a[a.size() - 2], "pipefail");
  s.network = true;
  EXPECT_LT(index_of(bwrap_argv(s), "--share-net"), bwrap_argv(s).size());
}

TEST(Masker, MasksEveryOccurrenceLongestFirstAndEachLine) {
  Masker m;
  m.add("abc");
  m.add("abcdef");
  m.add("line1\nline2\n");
  EXPECT_EQ(m.mask("x abcdef y abc abcabc"), "x *** y *** ******");
  EXPECT_EQ(m.mask("see line2 here"), "see *** here");
  EXPECT_EQ(m.mask("nothing"), "nothing");
  Masker empty;
  empty.add("");
  EXPECT_EQ(empty.mask("text"), "text");
}

TEST(LogBound, AdmitsUntilTheLimitThenOneNotice) {
  LogBound b(100);
  EXPECT_EQ(b.admit("hello"), "hello\n");
  std::string big(80, 'x');
  auto notice = b.admit(big);
  EXPECT_NE(notice.find("size limit"), std::string::npos);
  EXPECT_EQ(b.admit("more"), "");
  EXPECT_LE(b.used(), 6u + notice.size());
}

TEST(LogTimestamp, IsUtcIso8601WithMilliseconds) {
  EXPECT_EQ(log_timestamp(1700000000123), "2023-11-14T22:13:20.123Z ");
}

TEST(Config, SplitLabels) {
  EXPECT_EQ(split_labels("a, b,,c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(split_labels("").empty());
}

TEST(RunProcess, CollectsLinesAndExitCode) {
  std::vector<std::string> lines;
  std::map<std::string, std::string> env{{"PATH", "/usr/bin:/bin"}, {"WORD", "three"}};
  auto r =
      run_process({"sh", "-c", "echo one; echo two >&2; printf $WORD; exit 3"}, &env, Limits{},
                  std::chrono::seconds(30), [&](std::string_view l) { lines.emplace_back(l); });
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "three"}));
}

TEST(RunProcess, TimeoutKillsTheWholeProcessGroup) {
  auto t0 = std::chrono::steady_clock::now();
  // A background child keeps the pipe open: only killing the group ends it.
  auto r = run_process({"sh", "-c", "sleep 60 & sleep 60"}, nullptr, Limits{},
                       std::chrono::milliseconds(300), [](std::string_view) {});
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
}

TEST(RunProcess, FileSizeLimitApplies) {
  Limits l;
  l.file_bytes = 4096;
  auto r = run_process({"sh", "-c",
                        "head -c 100000 /dev/zero > /dev/null; "
                        "head -c 100000 /dev/zero > \"${TMPDIR:-/tmp}/guts-fsize-$$\"; "
                        "s=$?; rm -f \"${TMPDIR:-/tmp}/guts-fsize-$$\"; exit $s"},
                       nullptr, l, std::chrono::seconds(30), [](std::string_view) {});
  EXPECT_NE(r.exit_code, 0);  // SIGXFSZ / EFBIG past 4 KiB
}

// Step cgroups (runner/cgroup.h): detection and the files written, on fake hierarchies.
class CgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/guts-cgroup-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void put(const std::string& rel, const std::string& text) {
    auto p = std::filesystem::path(root_) / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string get(const std::string& rel) {
    std::ifstream in(std::filesystem::path(root_) / rel);
    std::string s;
    std::getline(in, s);
    return s;
  }
  std::string root_;
};

TEST_F(CgroupTree, V2EnablesControllersAndWritesLimits) {
  put("cgroup.controllers", "cpuset cpu io memory pids\n");
  put("cgroup.subtree_control", "");
  std::string why;
  auto c = Cgroups::detect(root_, &why);
  ASSERT_EQ(c.kind(), Cgroups::Kind::kV2) << why;
  EXPECT_EQ(get("cgroup.subtree_control"), "+memory +pids");
  {
    auto g = c.create("step-1", {64ull << 20, 100}, &why);
    ASSERT_TRUE(g) << why;
    EXPECT_EQ(get("step-1/memory.max"), std::to_string(64ull << 20));
    EXPECT_EQ(get("step-1/pids.max"), "100");
    EXPECT_EQ(g->join_fds().size(), 1u);
    EXPECT_FALSE(g->oom_killed());
    put("step-1/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
    EXPECT_TRUE(g->oom_killed());
  }
}

TEST_F(CgroupTree, V2OnAHybridHostUnderUnified) {
  put("unified/cgroup.controllers", "memory pids\n");
  put("unified/cgroup.subtree_control", "memory pids\n");
  std::string why;
  EXPECT_EQ(Cgroups::detect(root_, &why).kind(), Cgroups::Kind::kV2) << why;
}

TEST_F(CgroupTree, V1MemoryAndPidsHierarchies) {
  put("memory/memory.limit_in_bytes", "9223372036854771712\n");
  put("pids/pids.max", "max\n");
  std::string why;
  auto c = Cgroups::detect(root_, &why);
  ASSERT_EQ(c.kind(), Cgroups::Kind::kV1) << why;
  auto g = c.create("step-2", {32ull << 20, 64}, &why);
  ASSERT_TRUE(g) << why;
  EXPECT_EQ(get("memory/step-2/memory.limit_in_bytes"), std::to_string(32ull << 20));
  EXPECT_EQ(get("pids/step-2/pids.max"), "64");
  EXPECT_EQ(g->join_fds().size(), 2u);
  put("memory/step-2/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  EXPECT_TRUE(g->oom_killed());
  // Groups of a runner that is gone (pid 999999999 cannot exist) are removed when empty; those
  // of a live one (this process) stay.
  std::filesystem::create_directories(std::filesystem::path(root_) /
                                      "pids/guts-runner-999999999-7-1");
  std::filesystem::create_directories(std::filesystem::path(root_) /
                                      ("pids/guts-runner-" + std::to_string(::getpid()) + "-7-1"));
  EXPECT_EQ(c.remove_stale(), 1u);
  EXPECT_FALSE(
      std::filesystem::exists(std::filesystem::path(root_) / "pids/guts-runner-999999999-7-1"));
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(root_) /
                                      ("pids/guts-runner-" + std::to_string(::getpid()) + "-7-1")));
}

TEST_F(CgroupTree, NothingUsableSaysWhy) {
  put("cgroup.controllers", "cpu io\n");  // v2 without memory and pids
  std::string why;
  EXPECT_EQ(Cgroups::detect(root_, &why).kind(), Cgroups::Kind::kNone);
  EXPECT_NE(why.find("memory and pids"), std::string::npos) << why;
}

// On this host's real hierarchies: with cgroups, a step that allocates past its memory limit is
// killed by the kernel and the runner can tell; without, detection says why (and steps keep
// their rlimits, tested above).
TEST(CgroupHost, MemoryLimitKillsTheStepWhereAvailable) {
  std::string why;
  auto c = Cgroups::detect("/sys/fs/cgroup", &why);
  if (c.kind() == Cgroups::Kind::kNone) {
    EXPECT_FALSE(why.empty());
    std::cerr << "[cgroup] not available here: " << why << "\n";
    return;
  }
  auto g = c.create("guts-runner-test-" + std::to_string(::getpid()), {32ull << 20, 64}, &why);
  ASSERT_TRUE(g) << why;
  Limits limits;
  std::vector<std::string> lines;
  auto r = run_process(
      {"bash", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived ${#x}"}, nullptr,
      limits, std::chrono::seconds(60), [&](std::string_view l) { lines.emplace_back(l); },
      g->join_fds());
  EXPECT_NE(r.exit_code, 0);
  for (const auto& l : lines) EXPECT_EQ(l.find("survived"), std::string::npos) << l;
  EXPECT_TRUE(g->oom_killed()) << c.kind_name();
  std::cerr << "[cgroup] " << c.kind_name() << ": a 200 MB step under 32 MiB was killed\n";
}

}  // namespace
}  // namespace guts::runner
