// Git replication across a Guts network (issue 6; docs/network.md §3-4, docs/git.md
// "Replication"): separate guts-node processes (4 validators, full nodes) on loopback and the
// stock git client, which pushes through any node with the `guts` credential helper and the
// logins of `guts auth login`. What is pushed through one node is clonable from every other,
// byte-identical (same refs, same objects, `git fsck --full` clean); racing pushes to one ref
// through two nodes have exactly one winner everywhere; pushes finalize with one validator
// down, never complete with two down and complete once one returns; validators that were down
// or lost their data, and full nodes started late, catch up and serve everything; byzantine
// nodes (guts-node-byzantine: tampered packs, forged finalization certificates) are detected
// and blocked, and what they serve never reaches a client.
//
// Every wait polls a condition with a deadline; the cluster directory (node logs, the users'
// repositories) is kept when a test fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/http_client.h"
#include "core/thread_annotations.h"
#include "crypto/did.h"
#include "p2p/transport.h"
#include "replication/messages.h"
#include "tests/support/cluster_harness.h"
#include "tests/support/git_user.h"
#include "tests/support/live_fsck.h"

using namespace guts;
using namespace guts::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Wall time of the phases of a test, printed as they end (the report's figures).
class Phases {
 public:
  void operator()(const std::string& what) {
    auto now = Clock::now();
    std::cerr << "[replication] " << what << ": " << ms_since(last_) << " ms (total "
              << ms_since(start_) << " ms)\n";
    last_ = now;
  }

 private:
  Clock::time_point start_ = Clock::now(), last_ = start_;
};

std::string describe(const Refs& refs) {
  std::string s;
  for (const auto& [name, oid] : refs) s += "  " + oid + " " + name + "\n";
  return s.empty() ? "  (none)\n" : s;
}

void init_repo(const GitUser& u, const fs::path& dir) {
  must(u.git({"init", "-q", "-b", "main", dir.string()}), "git init");
}

// Commits `content` to `file` in the work tree `dir`; returns the new HEAD.
std::string commit(const GitUser& u, const fs::path& dir, const std::string& file,
                   const std::string& content, const std::string& message) {
  auto p = dir / file;
  fs::create_directories(p.parent_path());
  {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << content;
  }
  must(u.git({"add", file}, dir), "git add");
  must(u.git({"commit", "-q", "-m", message}, dir), "git commit");
  return must(u.git({"rev-parse", "HEAD"}, dir), "git rev-parse");
}

// Branches and tags of a local repository (work tree or bare).
Refs local_refs(const GitUser& u, const fs::path& dir) {
  auto out = must(
      u.git({"for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags"}, dir),
      "git for-each-ref");
  Refs refs;
  std::istringstream in(out);
  std::string name, oid;
  while (in >> name >> oid) refs[name] = oid;
  return refs;
}

// Every object reachable from the branches and tags, sorted: equal sets of ids are equal
// content (ids are hashes of the bytes).
std::vector<std::string> reachable_objects(const GitUser& u, const fs::path& dir) {
  auto out = must(u.git({"rev-list", "--objects", "--branches", "--tags"}, dir), "git rev-list");
  std::set<std::string> ids;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (line.size() >= 40) ids.insert(line.substr(0, 40));
  return {ids.begin(), ids.end()};
}

// Polls `git ls-remote` on every node in `which` until each advertises exactly `expected`.
::testing::AssertionResult wait_refs(Cluster& net, const GitUser& u, const std::vector<int>& which,
                                     const std::string& repo, const Refs& expected,
                                     std::chrono::milliseconds deadline) {
  std::string last;
  bool ok = wait_until(
      [&] {
        for (int i : which) {
          std::string err;
          auto refs = ls_remote(u, u.remote(net.node(i).url(), repo), &err);
          if (!refs || *refs != expected) {
            last = "node " + std::to_string(i) + " (" + net.node(i).url() + ") " +
                   (refs ? "advertises\n" + describe(*refs) : "ls-remote failed: " + err);
            return false;
          }
        }
        return true;
      },
      deadline, 200ms);
  if (ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "refs of " << repo << " not replicated within " << deadline.count() << " ms; expected\n"
         << describe(expected) << "last seen: " << last;
}

// Mirror-clones `repo` from a node and checks it against the repository that was pushed:
// the same branches and tags, the same reachable objects, and `git fsck --full` clean.
void verify_clone(const GitUser& u, const std::string& url, const fs::path& dest,
                  const fs::path& source) {
  SCOPED_TRACE("clone of " + url + " into " + dest.string());
  auto r = u.git({"clone", "--mirror", "-q", url, dest.string()});
  ASSERT_TRUE(r.ok()) << r.both();
  auto expected = local_refs(u, source);
  EXPECT_EQ(local_refs(u, dest), expected) << "expected\n" << describe(expected);
  auto fsck = u.git({"fsck", "--full", "--strict"}, dest);
  EXPECT_TRUE(fsck.ok()) << fsck.both();
  EXPECT_EQ(fsck.err.find("missing"), std::string::npos) << fsck.err;
  EXPECT_EQ(fsck.err.find("error"), std::string::npos) << fsck.err;
  EXPECT_EQ(reachable_objects(u, dest), reachable_objects(u, source));
}

// The highest height among `which`.
uint64_t top_height(Cluster& net, const std::vector<int>& which) {
  uint64_t h = 0;
  for (int i : which)
    if (auto s = net.try_status(i)) h = std::max(h, (*s)["height"].get<uint64_t>());
  return h;
}

// One login per node, one after the other: a login submits the user's own transactions with
// the nonce the node reports, so each node first catches up with the previous login.
void login_on(Cluster& net, const GitUser& u, const std::vector<int>& nodes) {
  uint64_t h = 0;
  for (int i : nodes) {
    if (!net.wait_reached({i}, h, 60s))
      throw std::runtime_error("node " + std::to_string(i) + " did not reach height " +
                               std::to_string(h));
    u.login(net.node(i).url());
    h = std::max(h, net.height(i));
  }
}

// Waits until node `i` is at least at the height of node `j` (e.g. it applied the creation of a
// repository made through j).
void catch_up(Cluster& net, int i, int j) {
  auto h = net.height(j);
  if (!net.wait_reached({i}, h, 60s))
    throw std::runtime_error("node " + std::to_string(i) + " did not reach height " +
                             std::to_string(h) + " of node " + std::to_string(j));
}

// A new local repository with a small history: `commits` commits on main (a file per commit
// and one file changed each time), a branch, a lightweight and an annotated tag.
void make_history(const GitUser& u, const fs::path& dir, const std::string& tag, int commits) {
  init_repo(u, dir);
  for (int c = 0; c < commits; ++c) {
    commit(u, dir, "src/file" + std::to_string(c) + ".txt",
           tag + " file " + std::to_string(c) + "\n" + std::string(200 + 37 * c, 'a' + c % 26),
           tag + ": commit " + std::to_string(c));
    commit(u, dir, "CHANGELOG", tag + " version " + std::to_string(c) + "\n",
           tag + ": changelog " + std::to_string(c));
  }
  must(u.git({"checkout", "-q", "-b", "feature"}, dir), "git checkout -b");
  commit(u, dir, "feature.txt", tag + " feature\n", tag + ": feature");
  must(u.git({"checkout", "-q", "main"}, dir), "git checkout");
  must(u.git({"tag", "light-" + tag}, dir), "git tag");
  must(u.git({"tag", "-a", "v1-" + tag, "-m", "release of " + tag, "feature"}, dir), "git tag -a");
}

// One push of every branch and tag (one UpdateRefs transaction).
CmdResult push_all(const GitUser& u, const fs::path& dir, const std::string& url,
                   std::chrono::seconds timeout = 90s) {
  return u.git({"push", url, "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"}, dir, timeout);
}

std::string get(const std::string& url, const std::string& path) {
  cli::HttpClient c(url);
  c.set_timeout(5s);
  auto r = c.get(path);
  if (r.status != 200) throw std::runtime_error("GET " + path + ": " + std::to_string(r.status));
  return r.body;
}

// A counter of GET /metrics (0 when absent).
uint64_t metric(const NodeProcess& n, const std::string& name) {
  std::istringstream in(get(n.url(), "/metrics"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + " ", 0) == 0) return std::stoull(line.substr(name.size() + 1));
  return 0;
}

// The dids GET /api/guts/peers lists as connected.
std::set<std::string> peer_dids(const NodeProcess& n) {
  std::set<std::string> out;
  // Named: a range-for over a member of a temporary would dangle.
  auto j = json::parse(get(n.url(), "/api/guts/peers"));
  for (const auto& p : j["peers"]) out.insert(p["did"].get<std::string>());
  return out;
}

// A git command on its own thread (a push that must not complete yet). Joined by the
// destructor, which must run after the nodes are killed (git then fails fast) when a test ends
// early: the fixture below destroys the cluster first.
class Background {
 public:
  explicit Background(std::function<CmdResult()> f)
      : thread_([this, f = std::move(f)] {
          result_ = f();
          done_ = true;
        }) {}
  ~Background() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_; }
  const CmdResult& result() {
    if (thread_.joinable()) thread_.join();
    return result_;
  }

 private:
  CmdResult result_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Owns the cluster so that it outlives the test body: when the body throws (a node that does
// not start, a git command that fails), gtest records the failure first and the cluster keeps
// its directory (node logs) for the report. A pending push (Background) is joined after the
// nodes are killed.
class Replication : public ::testing::Test {
 protected:
  Cluster& cluster() {
    net_ = std::make_unique<Cluster>(ClusterOptions{.validators = 4});
    return *net_;
  }
  void TearDown() override { net_.reset(); }

  std::optional<Background> pending_;
  std::unique_ptr<Cluster> net_;
};

}  // namespace

// 1. Pushed through validator 0, clonable from validator 2 and from a full node with the same
//    refs and objects; pushed through the full node, clonable from a validator.
TEST_F(Replication, PushThroughOneNodeCloneFromAnyNode) {
  Phases phase;
  Cluster& net = cluster();
  int full = net.add_full_node();
  net.start_all();
  const auto everyone = net.all();
  GitUser alice(net.dir() / "users", "alice");
  login_on(net, alice, {0, full});
  alice.create_repo(net.node(0).url(), "one");
  phase("cluster up, logins, repository created");

  auto work = net.dir() / "work" / "one";
  make_history(alice, work, "one", 4);
  auto r = push_all(alice, work, alice.remote(net.node(0).url(), "one"));
  ASSERT_TRUE(r.ok()) << r.both() << net.logs();
  auto expected = local_refs(alice, work);
  ASSERT_EQ(expected.size(), 4u) << describe(expected);
  phase("push through validator 0");

  ASSERT_TRUE(wait_refs(net, alice, everyone, "one", expected, 60s)) << net.logs();
  phase("refs on every node");
  verify_clone(alice, alice.remote(net.node(2).url(), "one"), net.dir() / "clones" / "one-v2",
               work);
  verify_clone(alice, alice.remote(net.node(full).url(), "one"), net.dir() / "clones" / "one-full",
               work);
  phase("clones from validator 2 and the full node");

  // Through the full node: forwarded to the validators, finalized, replicated.
  commit(alice, work, "from-full.txt", "pushed through the full node\n", "via full node");
  must(alice.git({"checkout", "-q", "feature"}, work), "git checkout");
  commit(alice, work, "feature2.txt", "more feature\n", "feature, via full node");
  must(alice.git({"checkout", "-q", "main"}, work), "git checkout");
  must(alice.git({"tag", "-a", "v2-one", "-m", "second release"}, work), "git tag -a");
  r = push_all(alice, work, alice.remote(net.node(full).url(), "one"));
  ASSERT_TRUE(r.ok()) << r.both() << net.logs();
  expected = local_refs(alice, work);
  phase("push through the full node");
  ASSERT_TRUE(wait_refs(net, alice, everyone, "one", expected, 60s)) << net.logs();
  verify_clone(alice, alice.remote(net.node(1).url(), "one"), net.dir() / "clones" / "one-v1",
               work);
  verify_clone(alice, alice.remote(net.node(3).url(), "one"), net.dir() / "clones" / "one-v3",
               work);
  ASSERT_TRUE(net.wait_converged(everyone, top_height(net, everyone), 30s)) << net.logs();
  phase("clones from validators 1 and 3, converged");
}

// 2. Two pushes to one branch, both fast-forwards of the same base, through two nodes at the
//    same time: exactly one succeeds, the other is rejected, every node ends on the winner.
TEST_F(Replication, ConcurrentPushesThroughTwoNodesOneWinnerEverywhere) {
  Phases phase;
  Cluster& net = cluster();
  int full = net.add_full_node();
  net.start_all();
  const auto everyone = net.all();
  GitUser alice(net.dir() / "users", "alice");
  login_on(net, alice, {1, full});
  alice.create_repo(net.node(1).url(), "race");
  auto base = net.dir() / "work" / "base";
  init_repo(alice, base);
  commit(alice, base, "README.md", "# race\n", "base");
  auto r = alice.git({"push", alice.remote(net.node(1).url(), "race"), "main"}, base, 90s);
  ASSERT_TRUE(r.ok()) << r.both() << net.logs();
  ASSERT_TRUE(wait_refs(net, alice, everyone, "race", local_refs(alice, base), 60s)) << net.logs();
  phase("cluster up, base pushed and replicated");

  const std::vector<int> through{1, full};
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto n = std::to_string(round);
    auto x = net.dir() / "work" / ("x" + n), y = net.dir() / "work" / ("y" + n);
    must(alice.git({"clone", "-q", base.string(), x.string()}), "git clone");
    must(alice.git({"clone", "-q", base.string(), y.string()}), "git clone");
    auto cx = commit(alice, x, "x.txt", "x " + n + "\n", "x " + n);
    auto cy = commit(alice, y, "y.txt", "y " + n + "\n", "y " + n);
    // Alternate which node each side uses.
    auto url_x = alice.remote(net.node(through[round % 2]).url(), "race");
    auto url_y = alice.remote(net.node(through[(round + 1) % 2]).url(), "race");
    CmdResult rx, ry;
    auto t0 = Clock::now();
    {
      std::thread tx([&] { rx = alice.git({"push", url_x, "main"}, x, 90s); });
      std::thread ty([&] { ry = alice.git({"push", url_y, "main"}, y, 90s); });
      tx.join();
      ty.join();
    }
    std::cerr << "[replication] round " << round << ": both pushes answered in " << ms_since(t0)
              << " ms\n";
    ASSERT_NE(rx.ok(), ry.ok()) << "x: " << rx.both() << "\ny: " << ry.both() << net.logs();
    const CmdResult& loser = rx.ok() ? ry : rx;
    EXPECT_NE(loser.code, -2) << "the losing push timed out";
    {
      auto at = loser.err.find("! [");
      std::cerr << "[replication] round " << round << ": loser through "
                << (rx.ok() ? url_y : url_x) << ": "
                << (at == std::string::npos ? loser.err
                                            : loser.err.substr(at, loser.err.find('\n', at) - at))
                << "\n";
    }
    // Either the CAS in state refused it (stale info) or git saw the winner first.
    EXPECT_TRUE(loser.err.find("[remote rejected]") != std::string::npos ||
                loser.err.find("[rejected]") != std::string::npos)
        << loser.err;
    auto winner = rx.ok() ? cx : cy;
    Refs want{{"refs/heads/main", winner}};
    ASSERT_TRUE(wait_refs(net, alice, everyone, "race", want, 60s)) << net.logs();
    // The next round starts from the winner.
    must(alice.git({"fetch", "-q", rx.ok() ? x.string() : y.string(), "main"}, base), "fetch");
    must(alice.git({"merge", "-q", "--ff-only", "FETCH_HEAD"}, base), "merge");
    phase("round " + n);
  }
  ASSERT_TRUE(net.wait_converged(everyone, top_height(net, everyone), 30s)) << net.logs();
  verify_clone(alice, alice.remote(net.node(full).url(), "race"), net.dir() / "clones" / "race",
               base);
}

// 3. One validator killed: pushes still finalize. Two killed: a push does not complete and no
//    node moves the ref. One back: the pending push completes, the ref is visible everywhere.
TEST_F(Replication, PushesSurviveOneFaultWaitWithTwoAndCompleteWhenOneReturns) {
  Phases phase;
  Cluster& net = cluster();
  auto& pending = pending_;
  int full = net.add_full_node();
  net.start_all();
  GitUser alice(net.dir() / "users", "alice");
  login_on(net, alice, {0, 1});
  alice.create_repo(net.node(0).url(), "faults");
  auto work = net.dir() / "work" / "faults";
  init_repo(alice, work);
  commit(alice, work, "README.md", "# faults\n", "base");
  auto r = push_all(alice, work, alice.remote(net.node(0).url(), "faults"));
  ASSERT_TRUE(r.ok()) << r.both() << net.logs();
  phase("cluster up, base pushed");

  // One validator down.
  net.node(3).kill9();
  const std::vector<int> up{0, 1, 2, full};
  for (int k = 0; k < 3; ++k) {
    int via = k % 2;
    // The node pushed through serves what was pushed before (a push completes once applied on
    // the node it went through; the others follow): git computes the old value from its
    // advertisement.
    ASSERT_TRUE(wait_refs(net, alice, {via}, "faults", local_refs(alice, work), 30s)) << net.logs();
    commit(alice, work, "one-down.txt", "push " + std::to_string(k) + "\n",
           "one validator down " + std::to_string(k));
    auto t0 = Clock::now();
    r = push_all(alice, work, alice.remote(net.node(via).url(), "faults"));
    ASSERT_TRUE(r.ok()) << "push " << k << " through node " << via << ": " << r.both()
                        << net.logs();
    std::cerr << "[replication] push with one validator down: " << ms_since(t0) << " ms\n";
  }
  auto before = local_refs(alice, work);
  ASSERT_TRUE(wait_refs(net, alice, up, "faults", before, 60s)) << net.logs();
  phase("three pushes with validator 3 killed");

  // Two down: no quorum.
  net.node(2).kill9();
  const std::vector<int> alive{0, 1, full};
  ASSERT_TRUE(net.wait_converged(alive, top_height(net, alive), 30s)) << net.logs();
  uint64_t stuck_height = top_height(net, alive);
  auto stuck = commit(alice, work, "two-down.txt", "pending\n", "two validators down");
  auto url = alice.remote(net.node(0).url(), "faults");
  auto t_pending = Clock::now();
  // A copy of the user: the thread may outlive this scope's objects when the test ends early.
  pending.emplace([alice, work, url] { return push_all(alice, work, url, 180s); });
  // Several leader timeouts (0.5 s each, plus certification and retry timeouts): the push stays
  // pending, no node moves the ref, nothing is finalized. Polled over a bounded window: any
  // of these happening ends the wait (and fails the test).
  std::string moved;
  wait_until(
      [&] {
        if (pending->done()) moved = "the push completed with two validators down";
        for (int i : alive) {
          auto refs = ls_remote(alice, alice.remote(net.node(i).url(), "faults"));
          if (refs && *refs != before) moved = "node " + std::to_string(i) + " moved the ref";
        }
        if (top_height(net, alive) != stuck_height) moved = "a block was finalized";
        return !moved.empty();
      },
      6s, 200ms);
  EXPECT_EQ(moved, "") << (pending->done() ? pending->result().both() : "");
  EXPECT_FALSE(pending->done()) << pending->result().both();
  phase("two validators down: push pending, nothing moved");

  // Validator 2 returns: the pending push completes.
  net.start(2);
  ASSERT_TRUE(wait_until([&] { return pending->done(); }, 90s))
      << "the pending push did not complete after validator 2 returned\n"
      << net.logs();
  auto pr = pending->result();
  std::cerr << "[replication] pending push answered " << ms_since(t_pending) << " ms after it "
            << "started (exit " << pr.code << ")\n";
  EXPECT_TRUE(pr.ok()) << "the pending push failed: " << pr.both();
  if (!pr.ok()) {
    // Retried (e.g. the node's 2-minute wait ran out): it must go through now.
    r = push_all(alice, work, url);
    ASSERT_TRUE(r.ok()) << r.both() << net.logs();
  }
  auto after = local_refs(alice, work);
  ASSERT_EQ(after.at("refs/heads/main"), stuck);
  const std::vector<int> three{0, 1, 2, full};
  ASSERT_TRUE(wait_refs(net, alice, three, "faults", after, 60s)) << net.logs();
  phase("validator 2 back: pending push completed and replicated");

  // And the last one catches up too.
  net.start(3);
  ASSERT_TRUE(wait_refs(net, alice, net.all(), "faults", after, 60s)) << net.logs();
  ASSERT_TRUE(net.wait_converged(net.all(), top_height(net, net.all()), 60s)) << net.logs();
  verify_clone(alice, alice.remote(net.node(3).url(), "faults"), net.dir() / "clones" / "faults",
               work);
  phase("validator 3 back and caught up");
}

// 4. A validator stopped during 50 pushes (10 branches x 5 commits, through the three others),
//    restarted: same height and state root as the others, and it serves every push.
TEST_F(Replication, StoppedValidatorCatchesUpOnFiftyPushes) {
  Phases phase;
  Cluster& net = cluster();
  net.start_all();
  GitUser alice(net.dir() / "users", "alice");
  login_on(net, alice, {0, 1, 2});
  alice.create_repo(net.node(0).url(), "many");
  auto work = net.dir() / "work" / "many";
  init_repo(alice, work);
  auto base = commit(alice, work, "README.md", "# many\n", "base");
  auto r = alice.git({"push", alice.remote(net.node(0).url(), "many"), "main"}, work, 90s);
  ASSERT_TRUE(r.ok()) << r.both() << net.logs();
  ASSERT_TRUE(wait_refs(net, alice, {0, 1, 2, 3}, "many", local_refs(alice, work), 60s))
      << net.logs();

  // 50 commits, 5 on each of 10 branches, made at once with fast-import.
  constexpr int kBranches = 10, kPerBranch = 5;
  std::string script;
  for (int b = 0; b < kBranches; ++b)
    for (int k = 0; k < kPerBranch; ++k) {
      int mark = b * kPerBranch + k + 1;
      std::string msg = "branch " + std::to_string(b) + " commit " + std::to_string(k) + "\n";
      std::string content = "b" + std::to_string(b) + " v" + std::to_string(k) + "\n";
      script += "commit refs/heads/b" + std::to_string(b) + "\nmark :" + std::to_string(mark) +
                "\ncommitter Alice <alice@example.com> " + std::to_string(1700000000 + mark) +
                " +0000\ndata " + std::to_string(msg.size()) + "\n" + msg;
      script += k == 0 ? "from " + base + "\n" : "from :" + std::to_string(mark - 1) + "\n";
      script += "M 100644 inline b" + std::to_string(b) + "/file.txt\ndata " +
                std::to_string(content.size()) + "\n" + content + "\n";
    }
  auto marks = net.dir() / "work" / "marks";
  must(alice.git({"fast-import", "--quiet", "--export-marks=" + marks.string()}, work, 60s, script),
       "git fast-import");
  std::map<int, std::string> sha;
  {
    std::istringstream in(read_file(marks));
    std::string m, s;
    while (in >> m >> s) sha[std::stoi(m.substr(1))] = s;
  }
  ASSERT_EQ(sha.size(), static_cast<size_t>(kBranches * kPerBranch));
  phase("cluster up, base pushed, 50 commits made");

  net.node(3).stop();
  auto t0 = Clock::now();
  long long slowest = 0;
  Refs current{{"refs/heads/main", base}};
  for (int k = 0; k < kPerBranch; ++k)
    for (int b = 0; b < kBranches; ++b) {
      int via = b % 3;  // one node per branch
      // Before pushing through a node, it serves every earlier push (they went through other
      // nodes; a node still fetching their objects answers 503 "still being replicated").
      ASSERT_TRUE(wait_refs(net, alice, {via}, "many", current, 30s)) << net.logs();
      auto t = Clock::now();
      auto branch = "refs/heads/b" + std::to_string(b);
      auto oid = sha[b * kPerBranch + k + 1];
      r = alice.git({"push", "-q", alice.remote(net.node(via).url(), "many"), oid + ":" + branch},
                    work, 90s);
      ASSERT_TRUE(r.ok()) << "push " << k << " of branch " << b << " through node " << via << ": "
                          << r.both() << net.logs();
      slowest = std::max(slowest, ms_since(t));
      current[branch] = oid;
    }
  std::cerr << "[replication] 50 pushes in " << ms_since(t0) << " ms (slowest " << slowest
            << " ms)\n";
  auto expected = local_refs(alice, work);
  ASSERT_EQ(expected, current);
  ASSERT_TRUE(wait_refs(net, alice, {0, 1, 2}, "many", expected, 60s)) << net.logs();
  phase("50 pushes with validator 3 stopped");

  net.start(3);
  std::string root;
  ASSERT_TRUE(net.wait_converged({0, 1, 2, 3}, top_height(net, {0, 1, 2}), 60s, &root))
      << net.logs();
  phase("validator 3 caught up (height and state root)");
  ASSERT_TRUE(wait_refs(net, alice, {3}, "many", expected, 60s)) << net.logs();
  verify_clone(alice, alice.remote(net.node(3).url(), "many"), net.dir() / "clones" / "many", work);
  phase("validator 3 serves every push");
}

// 5. A full node started from scratch once a history exists (three repositories, several
//    pushes through two validators) syncs all of it.
TEST_F(Replication, LateFullNodeSyncsWholeHistory) {
  Phases phase;
  Cluster& net = cluster();
  net.start_all();
  GitUser alice(net.dir() / "users", "alice");
  login_on(net, alice, {0, 1});
  const std::vector<std::string> repos{"alpha", "beta", "gamma"};
  for (size_t i = 0; i < repos.size(); ++i) {
    int via = static_cast<int>(i % 2);
    catch_up(net, via, 0);
    catch_up(net, via, 1);
    alice.create_repo(net.node(via).url(), repos[i]);
    auto work = net.dir() / "work" / repos[i];
    make_history(alice, work, repos[i], 2 + static_cast<int>(i));
    auto r = push_all(alice, work, alice.remote(net.node(via).url(), repos[i]));
    ASSERT_TRUE(r.ok()) << r.both() << net.logs();
    commit(alice, work, "later.txt", "second push\n", "second push");
    r = push_all(alice, work, alice.remote(net.node(via).url(), repos[i]));
    ASSERT_TRUE(r.ok()) << r.both() << net.logs();
  }
  const std::vector<int> validators{0, 1, 2, 3};
  ASSERT_TRUE(net.wait_converged(validators, top_height(net, validators), 30s)) << net.logs();
  uint64_t history = top_height(net, validators);
  phase("history of three repositories");

  int full = net.add_full_node({}, 2);
  net.start(full);
  std::string root;
  ASSERT_TRUE(net.wait_converged(net.all(), history, 60s, &root)) << net.logs();
  phase("full node synced (height " + std::to_string(history) + ", root " + root + ")");
  for (const auto& repo : repos) {
    auto work = net.dir() / "work" / repo;
    ASSERT_TRUE(wait_refs(net, alice, {full}, repo, local_refs(alice, work), 60s)) << net.logs();
    verify_clone(alice, alice.remote(net.node(full).url(), repo),
                 net.dir() / "clones" / (repo + "-full"), work);
  }
  phase("full node serves every repository");
}

// 6. Byzantine peers. Validator 0 runs guts-node-byzantine with GUTS_BYZANTINE=tamper-objects:
//    it serves tampered packs. A byzantine full node with GUTS_BYZANTINE=forge-head answers
//    "get head" with forged finalization certificates. An honest full node that bootstraps from
//    the forger and fetches objects from validator 0 (the first validator of the genesis is its
//    first candidate: ObjectSync::candidates) blocks both, still follows the honest validators,
//    and serves clones identical to what was pushed.
TEST_F(Replication, ByzantinePeersAreBlockedAndNeverReachClients) {
  Phases phase;
  Cluster& net = cluster();
  net.node(0).program() = "guts-node-byzantine";
  net.node(0).env() = {{"GUTS_BYZANTINE", "tamper-objects"}};
  int forger = net.add_full_node({}, 1);
  net.node(forger).program() = "guts-node-byzantine";
  net.node(forger).env() = {{"GUTS_BYZANTINE", "forge-head"}};
  net.start_all();
  std::string forger_did = net.did(forger);
  int honest = net.add_full_node({"--bootstrap", forger_did + "@" + net.p2p_addr(forger)}, 1);
  net.start(honest);
  std::string tamperer_did = net.did(0);
  phase("cluster up: byzantine validator 0, forging full node, honest full node");

  // The forger's answer to "get head" is a certificate that does not verify: blocked.
  auto honest_log_has = [&](const std::string& s) {
    return net.node(honest).log().find(s) != std::string::npos;
  };
  ASSERT_TRUE(wait_until(
      [&] {
        return honest_log_has(forger_did +
                              " sent a finalization certificate that does not verify: blocked");
      },
      30s))
      << "the honest full node did not block the forging node\n"
      << net.logs();
  phase("forger blocked");

  // Objects: the honest full node must be connected to validator 0 when it fetches, so that
  // validator 0 is asked first.
  std::set<std::string> seen;
  ASSERT_TRUE(wait_until(
      [&] {
        seen = peer_dids(net.node(honest));
        return seen.count(tamperer_did) > 0;
      },
      30s))
      << "the honest full node never connected to validator 0 (" << tamperer_did
      << "); its peers: " << ::testing::PrintToString(seen) << "\n"
      << net.logs();
  GitUser alice(net.dir() / "users", "alice");
  login_on(net, alice, {1});
  const std::vector<std::string> repos{"tamper1", "tamper2", "tamper3"};
  std::vector<uint64_t> ids;
  for (const auto& repo : repos) {
    ids.push_back(alice.create_repo(net.node(1).url(), repo));
    auto work = net.dir() / "work" / repo;
    make_history(alice, work, repo, 3);
    auto r = push_all(alice, work, alice.remote(net.node(1).url(), repo));
    ASSERT_TRUE(r.ok()) << r.both() << net.logs();
  }
  phase("two repositories pushed through validator 1");

  ASSERT_TRUE(wait_until(
      [&] {
        return honest_log_has("replication: blocking peer " + tamperer_did) &&
               honest_log_has("bad pack");
      },
      60s))
      << "the honest full node did not block validator 0 for a tampered pack\n"
      << net.logs();
  phase("tampering validator blocked");

  const std::vector<int> honest_nodes{1, 2, 3, honest};
  ASSERT_TRUE(net.wait_converged(honest_nodes, top_height(net, {1, 2, 3}), 60s)) << net.logs();
  for (const auto& repo : repos) {
    auto work = net.dir() / "work" / repo;
    ASSERT_TRUE(wait_refs(net, alice, {honest}, repo, local_refs(alice, work), 60s)) << net.logs();
    verify_clone(alice, alice.remote(net.node(honest).url(), repo),
                 net.dir() / "clones" / (repo + "-honest"), work);
  }
  EXPECT_GE(metric(net.node(honest), "guts_p2p_peers_blocked_total"), 2u);
  auto peers = peer_dids(net.node(honest));
  EXPECT_EQ(peers.count(tamperer_did), 0u) << "validator 0 still connected";
  EXPECT_EQ(peers.count(forger_did), 0u) << "the forger still connected";
  // The honest node never stopped following (a forged head does not reach the ledger) and
  // nothing tampered was kept: its bare repositories are fsck-clean too.
  EXPECT_FALSE(net.node(honest).exited()) << net.logs();
  for (auto id : ids) {
    auto bare = net.node(honest).data_dir() / "repos" / (std::to_string(id) + ".git");
    auto fsck = fsck_live([&] {
      return alice.git({"--git-dir", bare.string(), "fsck", "--full", "--strict"});
    });
    EXPECT_TRUE(fsck.ok()) << bare << ": " << fsck.both();
  }
  phase("honest full node converged and serves identical clones");
}

// 7. A validator whose data directory is wiped (all but node.key; the genesis lives in the
//    cluster directory) resyncs from its peers and serves every repository.
TEST_F(Replication, WipedValidatorResyncsAndServes) {
  Phases phase;
  Cluster& net = cluster();
  net.start_all();
  GitUser alice(net.dir() / "users", "alice");
  login_on(net, alice, {0});
  const std::vector<std::string> repos{"kept1", "kept2"};
  for (const auto& repo : repos) {
    alice.create_repo(net.node(0).url(), repo);
    auto work = net.dir() / "work" / repo;
    make_history(alice, work, repo, 2);
    auto r = push_all(alice, work, alice.remote(net.node(0).url(), repo));
    ASSERT_TRUE(r.ok()) << r.both() << net.logs();
  }
  const auto everyone = net.all();
  ASSERT_TRUE(net.wait_converged(everyone, top_height(net, everyone), 30s)) << net.logs();
  for (const auto& repo : repos)
    ASSERT_TRUE(wait_refs(net, alice, {2}, repo, local_refs(alice, net.dir() / "work" / repo), 60s))
        << net.logs();
  phase("cluster up, two repositories pushed and replicated");

  net.node(2).stop();
  auto data = net.node(2).data_dir();
  size_t removed = 0;
  for (const auto& e : fs::directory_iterator(data)) {
    auto name = e.path().filename().string();
    if (name == "node.key" || name == "node.log") continue;  // the identity; the test's log
    fs::remove_all(e.path());
    ++removed;
  }
  ASSERT_GT(removed, 0u);
  ASSERT_TRUE(fs::exists(data / "node.key"));
  // More history while it is away.
  auto work = net.dir() / "work" / repos[0];
  commit(alice, work, "while-wiped.txt", "pushed while validator 2 was wiped\n", "while wiped");
  auto r = push_all(alice, work, alice.remote(net.node(0).url(), repos[0]));
  ASSERT_TRUE(r.ok()) << r.both() << net.logs();
  phase("validator 2 stopped and wiped, one more push");

  net.start(2);
  std::string root;
  ASSERT_TRUE(net.wait_converged(everyone, top_height(net, {0, 1, 3}), 60s, &root)) << net.logs();
  phase("validator 2 resynced (root " + root + ")");
  for (const auto& repo : repos) {
    auto w = net.dir() / "work" / repo;
    ASSERT_TRUE(wait_refs(net, alice, {2}, repo, local_refs(alice, w), 60s)) << net.logs();
    verify_clone(alice, alice.remote(net.node(2).url(), repo),
                 net.dir() / "clones" / (repo + "-wiped"), w);
  }
  phase("validator 2 serves every repository");
}

// Private repositories (issue 14 point 6; docs/git.md "Private repositories"): their
// objects reach the validators and the full node the repository's seeds name, never another
// full node, and a peer that completes the Noise handshake with its own key and asks anyway
// gets exactly the answer to an unknown repository — no objects, no names in inventories.
// Making a public repository private stops serving it to such peers.
TEST_F(Replication, PrivateRepositoriesReachOnlyValidatorsAndSeeds) {
  Phases phase;
  Cluster& net = cluster();
  int seed = net.add_full_node();
  int other = net.add_full_node();
  net.start_all();
  const std::vector<int> validators{0, 1, 2, 3};
  GitUser alice(net.dir() / "users", "alice");
  // A private repository answers git only with credentials: a login on every node read.
  login_on(net, alice, {0, 1, 2, 3, seed});
  auto r = alice.guts(net.node(0).url(), {"repo", "create", "secret", "--private", "--json"});
  ASSERT_TRUE(r.ok()) << r.both();
  uint64_t secret = json::parse(r.out)["id"].get<uint64_t>();
  r = alice.guts(net.node(0).url(), {"repo", "seeds", "add", "alice/secret", net.did(seed)});
  ASSERT_TRUE(r.ok()) << r.both() << net.logs();
  r = alice.guts(net.node(0).url(), {"repo", "seeds", "show", "alice/secret", "--json"});
  ASSERT_TRUE(r.ok()) << r.both();
  EXPECT_EQ(json::parse(r.out)["seeds"], json::array({net.did(seed)}));
  uint64_t open = alice.create_repo(net.node(0).url(), "open");
  auto work = net.dir() / "work" / "secret";
  make_history(alice, work, "secret", 2);
  ASSERT_TRUE(push_all(alice, work, alice.remote(net.node(0).url(), "secret")).ok()) << net.logs();
  auto open_work = net.dir() / "work" / "open";
  make_history(alice, open_work, "open", 2);
  ASSERT_TRUE(push_all(alice, open_work, alice.remote(net.node(0).url(), "open")).ok())
      << net.logs();
  phase("private repository with one seed, public repository, both pushed");

  // Validators and the seed hold it; the seed serves it to the stock git through its own API.
  ASSERT_TRUE(wait_refs(net, alice, validators, "secret", local_refs(alice, work), 60s))
      << net.logs();
  ASSERT_TRUE(wait_refs(net, alice, {seed}, "secret", local_refs(alice, work), 60s)) << net.logs();
  verify_clone(alice, alice.remote(net.node(seed).url(), "secret"),
               net.dir() / "clones" / "secret-seed", work);
  // The other full node follows the chain (it has the public repository) but never the
  // private one's objects.
  ASSERT_TRUE(net.wait_reached({other}, net.height(0), 60s)) << net.logs();
  ASSERT_TRUE(wait_until(
      [&] {
        return fs::exists(net.node(other).data_dir() / "repos" / (std::to_string(open) + ".git"));
      },
      60s))
      << net.logs();
  EXPECT_FALSE(
      fs::exists(net.node(other).data_dir() / "repos" / (std::to_string(secret) + ".git")));
  phase("validators and the seed hold it, the other full node does not");

  // A peer that asks anyway: its own key, a complete Noise handshake with validator 1.
  auto addr = net.p2p_addr(1);
  auto colon = addr.rfind(':');
  // Every channel a node may use (discovery and the rest): an unknown one would block the node.
  p2p::TransportConfig tc;
  for (uint64_t ch = 0; ch < 64; ++ch)
    if (std::none_of(tc.channels.begin(), tc.channels.end(),
                     [&](const p2p::ChannelConfig& c) { return c.id == ch; }))
      tc.channels.push_back(p2p::ChannelConfig{.id = ch});
  p2p::Transport stranger(
      p2p::LocalIdentity::create(crypto::SigningKey::generate(), net.chain_id()), tc);
  Mutex mu;
  std::map<uint64_t, std::string> not_found;  // request id -> reason
  std::set<uint64_t> chunks;                  // request ids answered with pack data
  std::set<uint64_t> named;                   // repositories named in inventories
  bool hosts_all = false;
  stranger.on_message([&](const crypto::PublicKey&, uint64_t ch, Bytes payload) {
    if (ch != p2p::channel::kGit) return;
    auto m = replication::wire::decode(payload);
    MutexLock l(mu);
    if (auto* nf = std::get_if<replication::wire::NotFound>(&m))
      not_found[nf->request_id] = nf->reason;
    if (auto* c = std::get_if<replication::wire::PackChunk>(&m)) chunks.insert(c->request_id);
    if (auto* inv = std::get_if<replication::wire::Inventory>(&m)) {
      hosts_all = hosts_all || inv->hosts_all;
      named.insert(inv->repos.begin(), inv->repos.end());
    }
  });
  stranger.start();
  auto v1 = *crypto::parse_did(net.did(1));
  ASSERT_TRUE(wait_until(
      [&] {
        stranger.dial(v1, addr.substr(0, colon),
                      static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
        return stranger.connected(v1);
      },
      30s));
  auto ask = [&](uint64_t request, uint64_t repo, const std::string& tip) {
    replication::wire::Want w{request, repo, {replication::wire::from_hex(tip)}, {}};
    EXPECT_TRUE(stranger.send(v1, p2p::channel::kGit, replication::wire::encode(w)));
  };
  auto answered = [&](uint64_t request) {
    return wait_until(
        [&] {
          MutexLock l(mu);
          return not_found.count(request) > 0 || chunks.count(request) > 0;
        },
        30s);
  };
  auto main_of = [&](const fs::path& dir) { return local_refs(alice, dir).at("refs/heads/main"); };
  uint64_t refusals = metric(net.node(1), "guts_replication_private_refusals_total");
  ask(1, secret, main_of(work));
  ask(2, 999999, main_of(work));  // a repository that does not exist
  ASSERT_TRUE(answered(1));
  ASSERT_TRUE(answered(2));
  ask(3, open, main_of(open_work));
  ASSERT_TRUE(answered(3));
  {
    MutexLock l(mu);
    EXPECT_EQ(chunks.count(1), 0u) << "private objects served to a stranger";
    EXPECT_EQ(not_found[1], not_found[2]) << "the refusal differs from an unknown repository's";
    EXPECT_EQ(chunks.count(3), 1u) << "the public repository is served to anyone";
    EXPECT_EQ(named.count(secret), 0u) << "an inventory named the private repository";
  }
  EXPECT_EQ(metric(net.node(1), "guts_replication_private_refusals_total"), refusals + 1);
  phase("a stranger asking for the private repository gets \"not hosted\"");

  // Public made private: no longer served to the stranger.
  cli::HttpClient api(net.node(0).url());
  {
    std::ifstream f(alice.home() / "guts" / "config.json");
    auto cfg = json::parse(f);
    api.set_token(cfg["logins"][net.node(0).url()]["token"].get<std::string>());
  }
  auto patch = api.request("PATCH", "/api/v3/repos/alice/open", R"({"private": true})");
  ASSERT_EQ(patch.status, 200) << patch.body;
  ASSERT_TRUE(net.wait_reached({1}, net.height(0), 60s)) << net.logs();
  ask(4, open, main_of(open_work));
  ASSERT_TRUE(answered(4));
  {
    MutexLock l(mu);
    EXPECT_EQ(chunks.count(4), 0u) << "a repository made private is still served to a stranger";
    EXPECT_EQ(not_found[4], not_found[2]);
  }
  // The other full node drops it (not a seed), validators keep it.
  EXPECT_TRUE(wait_until(
      [&] {
        return !fs::exists(net.node(other).data_dir() / "repos" / (std::to_string(open) + ".git"));
      },
      60s))
      << net.logs();
  stranger.stop();
  phase("public repository made private: no longer served to the stranger");
}
