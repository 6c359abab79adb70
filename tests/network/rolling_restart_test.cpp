// Upgrades (issue 16; docs/operator.md "Upgrades"): a rolling restart of a 4-validator network of
// guts-node processes, one validator at a time (SIGTERM, start, wait until it caught up), while a
// writer keeps pushing with the stock git client and opening issues through the nodes that are
// up. Every acknowledged write ends on every node (same refs, same issues, one height and state
// root). The last validator comes back as from an older build: its database carries the
// previous storage version, and the start migrates it once, keeping its data. A single node
// refuses a data directory of a newer storage version, changing nothing.
//
// Every wait polls a condition with a deadline; the cluster directory (node logs) is kept when a
// test fails.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/http_client.h"
#include "core/version.h"
#include "state/kv.h"
#include "storage/db.h"
#include "storage/migrations.h"
#include "tests/support/cluster_harness.h"
#include "tests/support/git_user.h"

using namespace guts;
using namespace guts::testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// The titles of every issue of a repository (GET, anonymous: the repository is public).
std::optional<std::set<std::string>> issue_titles(const std::string& url, const std::string& repo) {
  try {
    cli::HttpClient c(url);
    c.set_timeout(5s);
    auto r = c.get("/api/v3/repos/" + repo + "/issues?state=all&per_page=100");
    if (r.status != 200) return std::nullopt;
    std::set<std::string> out;
    for (const auto& i : json::parse(r.body)) out.insert(i["title"].get<std::string>());
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// The highest height among `which`.
uint64_t top_height(Cluster& net, const std::vector<int>& which) {
  uint64_t h = 0;
  for (int i : which)
    if (auto s = net.try_status(i)) h = std::max(h, (*s)["height"].get<uint64_t>());
  return h;
}

// Rewrites the storage version record of a stopped node's database, as an older (or newer)
// build would have left it: version 0 is a database from before versioning (no record).
void set_storage_version(const fs::path& data_dir, uint32_t v) {
  auto db = storage::Db::open(data_dir / "db", state::Schema::families());
  storage::Batch b;
  if (v == 0) {
    b.del(storage::Cf{0}, storage::kStorageVersionKey);
    b.del(storage::Cf{0}, storage::kWrittenByKey);
  } else {
    b.put(storage::Cf{0}, storage::kStorageVersionKey, storage::be64(v));
    b.put(storage::Cf{0}, storage::kWrittenByKey, "99.0.0");
  }
  db->write(b, true);
}

// Writes through the nodes that are up, one at a time, round robin: a push of a new branch
// (the stock git client), then an issue (the CLI). What the node acknowledged is recorded;
// a write that failed (its node was stopping, or still fetching objects) may or may not have
// happened, and is not counted.
class Writer {
 public:
  Writer(Cluster& net, const GitUser& u, fs::path work, std::string repo)
      : u_(u), work_(std::move(work)), repo_(std::move(repo)) {
    for (int i = 0; i < net.size(); ++i) urls_[i] = net.node(i).url();
  }
  ~Writer() { stop(); }

  void start() {
    thread_ = std::thread([this] { loop(); });
  }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  void set_down(int i) {
    std::lock_guard l(mu_);
    urls_.erase(i);
  }
  void set_up(int i, std::string url) {
    std::lock_guard l(mu_);
    urls_[i] = std::move(url);
  }
  size_t acknowledged() const { return acked_.load(); }
  // Waits until `n` more writes than `since` were acknowledged.
  bool wait_acknowledged(size_t since, size_t n, std::chrono::milliseconds deadline) const {
    return wait_until([&] { return acked_.load() >= since + n; }, deadline, 50ms);
  }
  Refs branches() const {
    std::lock_guard l(mu_);
    return branches_;
  }
  std::set<std::string> issues() const {
    std::lock_guard l(mu_);
    return issues_;
  }
  std::string report() const {
    std::lock_guard l(mu_);
    return std::to_string(branches_.size()) + " pushes and " + std::to_string(issues_.size()) +
           " issues acknowledged, " + std::to_string(failed_) +
           " writes failed; last failure: " + last_failure_;
  }

 private:
  void loop() {
    for (int n = 0; !stopping_; ++n) {
      std::optional<std::pair<int, std::string>> via;
      {
        std::lock_guard l(mu_);
        if (!urls_.empty()) {
          auto it = urls_.begin();
          std::advance(it, n % urls_.size());
          via.emplace(it->first, it->second);
        }
      }
      if (!via) {
        std::this_thread::sleep_for(20ms);  // every node down: nothing to write through
        continue;
      }
      auto name = "w" + std::to_string(n);
      bool ok = false;
      std::string what;
      try {
        ok = write(n, name, via->first, via->second, &what);
      } catch (const std::exception& e) {
        what = name + ": " + e.what();
      }
      if (ok) {
        ++acked_;
      } else {
        std::lock_guard l(mu_);
        ++failed_;
        last_failure_ = what;
      }
    }
  }

  // The node's height (0 when it does not answer).
  static uint64_t height_of(const std::string& url) {
    try {
      cli::HttpClient c(url);
      c.set_timeout(5s);
      auto r = c.get("/api/guts/status");
      return r.status == 200 ? json::parse(r.body)["height"].get<uint64_t>() : 0;
    } catch (const std::exception&) {
      return 0;
    }
  }

  bool write(int n, const std::string& name, int node, const std::string& url, std::string* what) {
    // The node signs the author's transactions with the next nonce it knows of: first it
    // applies the block of the previous write (made through another node).
    if (!wait_until([&] { return height_of(url) >= last_height_; }, 10s, 50ms)) {
      *what =
          "node " + std::to_string(node) + " stayed below height " + std::to_string(last_height_);
      return false;
    }
    bool ok = false;
    if (n % 2 == 0) {
      // A commit on top of main, pushed as its own branch.
      auto file = work_ / (name + ".txt");
      std::ofstream(file) << name << " through node " << node << "\n";
      must(u_.git({"add", file.filename().string()}, work_), "git add");
      must(u_.git({"commit", "-q", "-m", name}, work_), "git commit");
      auto oid = must(u_.git({"rev-parse", "HEAD"}, work_), "git rev-parse");
      must(u_.git({"reset", "-q", "--hard", "HEAD~1"}, work_), "git reset");
      auto r =
          u_.git({"push", "-q", u_.remote(url, repo_), oid + ":refs/heads/" + name}, work_, 60s);
      ok = r.ok();
      *what = "push " + name + " through node " + std::to_string(node) + ": " + r.both();
      if (ok) {
        std::lock_guard l(mu_);
        branches_["refs/heads/" + name] = oid;
      }
    } else {
      auto r = u_.guts(url, {"issue", "create", "-R", u_repo(), "-t", name, "--json"});
      ok = r.ok();
      *what = "issue " + name + " through node " + std::to_string(node) + ": " + r.both();
      if (ok) {
        std::lock_guard l(mu_);
        issues_.insert(name);
      }
    }
    if (ok) last_height_ = std::max(last_height_, height_of(url));
    return ok;
  }
  std::string u_repo() const { return "alice/" + repo_; }

  const GitUser& u_;
  fs::path work_;
  std::string repo_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> acked_{0};
  mutable std::mutex mu_;
  std::map<int, std::string> urls_;  // the nodes up, by index
  Refs branches_;
  std::set<std::string> issues_;
  size_t failed_ = 0;
  std::string last_failure_;
  uint64_t last_height_ = 0;  // writer thread only
  std::thread thread_;
};

// Owns the cluster and the writer: the writer stops (its git fails fast once the nodes are
// killed) before the cluster keeps its directory for the report.
class RollingRestart : public ::testing::Test {
 protected:
  void TearDown() override {
    if (writer_) writer_->stop();
    writer_.reset();
    net_.reset();
  }
  std::unique_ptr<Cluster> net_;
  std::unique_ptr<Writer> writer_;
};

}  // namespace

TEST_F(RollingRestart, FourValidatorsOneAtATimeWhileWritingNothingLost) {
  auto t0 = Clock::now();
  net_ = std::make_unique<Cluster>(ClusterOptions{.validators = 4});
  Cluster& net = *net_;
  net.start_all();
  const auto everyone = net.all();
  GitUser alice(net.dir() / "users", "alice");
  // One login per node, each after the node applied the previous one (the nonces follow).
  uint64_t h = 0;
  for (int i : everyone) {
    ASSERT_TRUE(net.wait_reached({i}, h, 60s)) << net.logs();
    alice.login(net.node(i).url());
    h = std::max(h, net.height(i));
  }
  must(alice.guts(net.node(0).url(), {"repo", "create", "rolling"}), "guts repo create");
  auto work = net.dir() / "work";
  must(alice.git({"init", "-q", "-b", "main", work.string()}), "git init");
  std::ofstream(work / "README.md") << "# rolling\n";
  must(alice.git({"add", "README.md"}, work), "git add");
  must(alice.git({"commit", "-q", "-m", "base"}, work), "git commit");
  must(alice.git({"push", "-q", alice.remote(net.node(0).url(), "rolling"), "main"}, work, 60s),
       "git push");
  // Every node serves the base before the writer starts.
  ASSERT_TRUE(wait_until(
      [&] {
        for (int i : everyone) {
          auto refs = ls_remote(alice, alice.remote(net.node(i).url(), "rolling"));
          if (!refs || !refs->count("refs/heads/main")) return false;
        }
        return true;
      },
      60s, 200ms))
      << net.logs();
  std::cerr << "[rolling] cluster up, logins, base pushed: " << ms_since(t0) << " ms\n";

  writer_ = std::make_unique<Writer>(net, alice, work, "rolling");
  Writer& writer = *writer_;
  writer.start();
  ASSERT_TRUE(writer.wait_acknowledged(0, 2, 60s)) << writer.report() << net.logs();

  for (int i : everyone) {
    SCOPED_TRACE("restart of validator " + std::to_string(i));
    auto t = Clock::now();
    writer.set_down(i);
    net.node(i).stop();  // SIGTERM: a clean shutdown
    EXPECT_EQ(net.node(i).exit_status(), "exit 0");
    // Writes go on through the three others (a quorum of four): a push and an issue at least.
    ASSERT_TRUE(writer.wait_acknowledged(writer.acknowledged(), 2, 60s))
        << writer.report() << net.logs();
    const bool upgrade = i == everyone.back();
    if (upgrade) set_storage_version(net.node(i).data_dir(), version::kStorage - 1);
    net.start(i);
    auto st = net.status(i);
    if (upgrade) {
      // The start migrated the database from the previous storage version, once.
      EXPECT_EQ(st["storage"]["found"], version::kStorage - 1) << st.dump();
      EXPECT_EQ(st["storage"]["version"], version::kStorage) << st.dump();
      EXPECT_EQ(st["storage"]["migrations"].size(), 1u) << st.dump();
      EXPECT_NE(
          net.node(i).log().find("storage migration " + std::to_string(version::kStorage - 1) +
                                 " -> " + std::to_string(version::kStorage)),
          std::string::npos);
    } else {
      EXPECT_EQ(st["storage"]["found"], version::kStorage) << st.dump();
      EXPECT_TRUE(st["storage"]["migrations"].empty()) << st.dump();
    }
    EXPECT_EQ(st["versions"]["storage"], version::kStorage);
    EXPECT_EQ(st["versions"]["software"], std::string(version::software()));
    // Caught up: at the others' height, connected to all of them.
    std::vector<int> others;
    for (int j : everyone)
      if (j != i) others.push_back(j);
    ASSERT_TRUE(net.wait_reached({i}, top_height(net, others), 60s)) << net.logs();
    ASSERT_TRUE(wait_until(
        [&] {
          auto s = net.try_status(i);
          return s && (*s)["peers"].get<uint64_t>() >= others.size();
        },
        60s, 50ms))
        << net.logs();
    alice.login(net.node(i).url());  // its API listens on a new port
    writer.set_up(i, net.node(i).url());
    std::cerr << "[rolling] validator " << i << " restarted and caught up in " << ms_since(t)
              << " ms (" << writer.report() << ")\n";
  }
  // Writes through every node again, then stop writing.
  ASSERT_TRUE(writer.wait_acknowledged(writer.acknowledged(), 4, 60s))
      << writer.report() << net.logs();
  writer.stop();
  auto branches = writer.branches();
  auto issues = writer.issues();
  std::cerr << "[rolling] " << writer.report() << "\n";
  ASSERT_GE(branches.size(), 2u);
  ASSERT_GE(issues.size(), 2u);

  // One height and state root everywhere, then the same refs and issues on every node, holding
  // every acknowledged write (a failed write may have happened too: then it is everywhere).
  std::string root;
  ASSERT_TRUE(net.wait_converged(everyone, top_height(net, everyone), 60s, &root)) << net.logs();
  std::string last;
  bool same = wait_until(
      [&] {
        std::optional<Refs> first_refs;
        std::optional<std::set<std::string>> first_issues;
        for (int i : everyone) {
          auto refs = ls_remote(alice, alice.remote(net.node(i).url(), "rolling"));
          auto titles = issue_titles(net.node(i).url(), "alice/rolling");
          if (!refs || !titles) {
            last = "node " + std::to_string(i) + " did not answer";
            return false;
          }
          for (const auto& [name, oid] : branches)
            if (!refs->count(name) || refs->at(name) != oid) {
              last = "node " + std::to_string(i) + " lacks acknowledged " + name;
              return false;
            }
          for (const auto& t : issues)
            if (!titles->count(t)) {
              last = "node " + std::to_string(i) + " lacks acknowledged issue " + t;
              return false;
            }
          if (first_refs && (*refs != *first_refs || *titles != *first_issues)) {
            last = "node " + std::to_string(i) + " differs from node 0";
            return false;
          }
          first_refs = refs;
          first_issues = titles;
        }
        return true;
      },
      60s, 200ms);
  ASSERT_TRUE(same) << last << "\n" << net.logs();
  ASSERT_TRUE(net.converged(everyone, 0)) << net.logs();
  std::cerr << "[rolling] every node holds every acknowledged write: " << ms_since(t0)
            << " ms in all\n";
}

// A data directory written by a newer storage version: guts-node refuses to start with the
// versions in the message and changes nothing; the current version starts again as before.
TEST(Upgrade, NewerStorageVersionIsRefusedAndVersionFlags) {
  auto v = run({(bin_dir() / "guts-node").string(), "--version"});
  ASSERT_TRUE(v.ok()) << v.both();
  EXPECT_EQ(trim(v.out), version::describe("guts-node"));
  v = run({(bin_dir() / "guts").string(), "--version"});
  ASSERT_TRUE(v.ok()) << v.both();
  EXPECT_EQ(trim(v.out), version::describe("guts"));

  TempDir dir("upgrade");
  NodeProcess node(dir / "node");
  node.start();
  cli::HttpClient c(node.url());
  auto st = json::parse(c.get("/api/guts/status").body);
  EXPECT_EQ(st["storage"]["found"], version::kStorage);
  EXPECT_EQ(st["versions"]["p2p_protocol"]["max"], version::kP2pProtocolMax);
  uint64_t height = st["height"];
  node.stop();

  set_storage_version(node.data_dir(), version::kStorage + 1);
  std::map<std::string, std::string> before;
  for (const auto& e : fs::recursive_directory_iterator(node.data_dir() / "db"))
    if (e.is_regular_file()) before[e.path().string()] = read_file(e.path());
  try {
    node.start();
    FAIL() << "guts-node started on a newer data directory";
  } catch (const std::exception&) {
    // The harness reaped the node; its log holds the reason.
  }
  EXPECT_NE(
      node.log().find("was written by storage version " + std::to_string(version::kStorage + 1) +
                      " (guts 99.0.0), this "
                      "guts-node " +
                      std::string(version::software()) + " supports up to storage version " +
                      std::to_string(version::kStorage) + ": upgrade guts-node"),
      std::string::npos)
      << node.log();
  std::map<std::string, std::string> after;
  for (const auto& e : fs::recursive_directory_iterator(node.data_dir() / "db"))
    if (e.is_regular_file()) after[e.path().string()] = read_file(e.path());
  EXPECT_TRUE(before == after) << "the refused start changed the database";

  set_storage_version(node.data_dir(), version::kStorage);
  node.start();
  st = json::parse(cli::HttpClient(node.url()).get("/api/guts/status").body);
  EXPECT_GE(st["height"].get<uint64_t>(), height);
  node.stop();
}
