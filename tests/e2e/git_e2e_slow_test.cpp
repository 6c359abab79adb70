// Large pushes (label "slow"): a 200 MB push streams through the node with bounded memory.
#include <fstream>
#include <sstream>

#include "tests/e2e/e2e_fixture.h"

namespace guts::e2e {
namespace {

// Resident set size of a process in KiB (VmHWM: the peak).
long peak_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

TEST_F(GitE2E, Push200MB) {
  uint64_t id = create_repo(*alice_, "big");
  auto bare = bare_repo_dir(*node_, id);
  auto a = local_repo(*alice_, "a");
  // Incompressible data: two 100 MB files.
  auto r =
      run({"sh", "-c",
           "head -c 100000000 /dev/urandom > one.bin && head -c 100000000 /dev/urandom > two.bin"},
          {}, a);
  ASSERT_TRUE(r.ok()) << r.both();
  ASSERT_TRUE(alice_->git({"add", "."}, a).ok());
  ASSERT_TRUE(alice_->git({"commit", "-q", "-m", "200 MB"}, a).ok());
  ASSERT_TRUE(alice_->git({"remote", "add", "origin", alice_->remote("alice", "big")}, a).ok());
  auto t0 = std::chrono::steady_clock::now();
  r = alice_->git({"push", "origin", "main"}, a, {}, std::chrono::seconds(600));
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(bare_ref(bare, "refs/heads/main"), rev_parse(*alice_, a, "HEAD"));
  long rss = peak_rss_kib(node_->pid());
  std::cerr << "200 MB push: " << secs << " s, node peak RSS " << rss / 1024 << " MiB\n";
  EXPECT_LT(rss, 200 * 1024);
  auto c = dir("c");
  r = alice_->git({"clone", "-q", alice_->remote("alice", "big"), c.string()}, {}, {},
                  std::chrono::seconds(600));
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(fs::file_size(c / "two.bin"), 100000000u);
  r = alice_->git({"fsck"}, bare, {}, std::chrono::seconds(600));
  EXPECT_TRUE(r.ok()) << r.both();
}

}  // namespace
}  // namespace guts::e2e
