#include "git/maintenance.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "core/assert.h"
#include "core/status.h"
#include "core/time.h"
#include "git/process.h"
#include "git/repo_store.h"

namespace guts::git {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

bool is_hex2(const std::string& s) {
  return s.size() == 2 && std::isxdigit(static_cast<unsigned char>(s[0])) &&
         std::isxdigit(static_cast<unsigned char>(s[1]));
}

uint64_t read_be(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// The pack index names ("pack-<hash>.idx") a multi-pack-index covers: its PNAM chunk
// (Documentation/gitformat-pack.txt). Empty on any malformation (then every pack counts as
// outside it, and the next repack rewrites it).
std::set<std::string> midx_pack_names(const fs::path& midx) {
  std::set<std::string> names;
  std::ifstream f(midx, std::ios::binary);
  unsigned char hdr[12];
  if (!f.read(reinterpret_cast<char*>(hdr), sizeof hdr) || std::memcmp(hdr, "MIDX", 4) != 0)
    return names;
  int chunks = hdr[6];
  uint64_t packs = read_be(hdr + 8, 4);
  std::vector<unsigned char> table(static_cast<size_t>(chunks + 1) * 12);
  if (!f.read(reinterpret_cast<char*>(table.data()), static_cast<std::streamsize>(table.size())))
    return names;
  for (int i = 0; i < chunks; ++i) {
    const unsigned char* e = table.data() + i * 12;
    if (std::memcmp(e, "PNAM", 4) != 0) continue;
    uint64_t off = read_be(e + 4, 8), end = read_be(e + 16, 8);
    if (end < off || end - off > (64u << 20)) return names;
    std::string buf(end - off, '\0');
    f.seekg(static_cast<std::streamoff>(off));
    if (!f.read(buf.data(), static_cast<std::streamsize>(buf.size()))) return names;
    size_t pos = 0;
    while (pos < buf.size() && names.size() < packs) {
      auto nul = buf.find('\0', pos);
      if (nul == std::string::npos || nul == pos) break;
      names.insert(buf.substr(pos, nul - pos));
      pos = nul + 1;
    }
  }
  return names;
}

}  // namespace

RepoMaintenanceStats Maintenance::measure(const fs::path& repo_dir) {
  RepoMaintenanceStats s;
  fs::path objects = repo_dir / "objects";
  fs::path pack = objects / "pack";
  std::error_code ec;
  std::set<std::string> pack_bases, keeps;
  fs::file_time_type newest = fs::file_time_type::min(), midx_time = newest;
  for (fs::directory_iterator it(pack, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    auto ext = it->path().extension().string();
    auto stem = it->path().stem().string();
    if (name == "multi-pack-index") {
      s.has_midx = true;
      std::error_code te;
      midx_time = fs::last_write_time(it->path(), te);
      newest = std::max(newest, midx_time);
    } else if (ext == ".bitmap") {
      s.has_bitmap = true;
    } else if (ext == ".pack" && name.rfind("pack-", 0) == 0) {
      pack_bases.insert(stem);
      std::error_code te;
      newest = std::max(newest, fs::last_write_time(it->path(), te));
    } else if (ext == ".keep") {
      keeps.insert(stem);
    }
  }
  std::set<std::string> covered;
  if (s.has_midx) covered = midx_pack_names(pack / "multi-pack-index");
  for (const auto& b : pack_bases) {
    if (keeps.count(b)) {
      ++s.kept_packs;
      continue;
    }
    ++s.packs;
    if (!covered.count(b + ".idx")) ++s.packs_since_midx;
  }
  for (fs::directory_iterator it(objects, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.rfind("incoming-", 0) == 0) {
      ++s.quarantines;
      continue;
    }
    if (!is_hex2(name)) continue;
    std::error_code de;
    size_t n = 0;
    for (fs::directory_iterator o(it->path(), de), oe; !de && o != oe; o.increment(de))
      if (o->path().filename().string().rfind("tmp_", 0) != 0) ++n;
    if (n == 0) continue;
    s.loose_objects += n;
    std::error_code te;
    newest = std::max(newest, fs::last_write_time(it->path(), te));
  }
  fs::path info = objects / "info";
  std::error_code e1, e2;
  fs::file_time_type graph_time = fs::file_time_type::min();
  if (fs::exists(info / "commit-graphs" / "commit-graph-chain", e1)) {
    s.has_commit_graph = true;
    graph_time = fs::last_write_time(info / "commit-graphs" / "commit-graph-chain", e1);
  } else if (fs::exists(info / "commit-graph", e2)) {
    s.has_commit_graph = true;
    graph_time = fs::last_write_time(info / "commit-graph", e2);
  }
  s.commit_graph_stale = s.has_commit_graph && newest > graph_time;
  return s;
}

Maintenance::Maintenance(RepoStore& store, MaintenanceOptions options)
    : store_(store), options_(std::move(options)), policy_(options_.policy) {}

Maintenance::~Maintenance() {
  stop();
}

void Maintenance::start() {
  GUTS_ASSERT(!started_, "Maintenance::start called twice");
  started_ = true;
  // A node killed with SIGKILL must not leave a repack running that the restarted node's
  // own would race: the kernel kills the child when its spawning (worker) thread dies.
  if (find_in_path("setpriv")) wrapper_ = {"setpriv", "--pdeathsig", "KILL"};
  if (options_.low_priority) {
    if (find_in_path("nice")) wrapper_.insert(wrapper_.end(), {"nice", "-n", "19"});
    // -t: run anyway where the idle I/O class may not be set (some containers).
    if (find_in_path("ionice")) wrapper_.insert(wrapper_.end(), {"ionice", "-c", "3", "-t"});
  }
  {
    MutexLock l(mu_);
    next_scan_ = Clock::now() + std::min(options_.first_scan_delay, options_.interval);
  }
  for (int i = 0; i < std::max(1, options_.concurrency); ++i)
    threads_.emplace_back([this] { worker(); });
}

void Maintenance::stop() {
  {
    MutexLock l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Maintenance::notify_changed(std::string_view key) {
  {
    MutexLock l(mu_);
    dirty_.insert(std::string(key));
    auto& c = repos_[std::string(key)];
    c.key = std::string(key);
    ++c.history.changes_since_repack;
  }
  cv_.notify_one();
}

void Maintenance::scan_now() {
  {
    MutexLock l(mu_);
    next_scan_ = Clock::now();
  }
  cv_.notify_all();
}

MaintenanceStats Maintenance::stats() const {
  MutexLock l(mu_);
  return stats_;
}

void Maintenance::worker() {
  const milliseconds recheck =
      std::clamp(options_.interval / 10, milliseconds(100), milliseconds(std::chrono::seconds(60)));
  MutexLock l(mu_);
  while (!stopping_) {
    auto now = Clock::now();
    // 1. Measure what changed, or everything once per interval (one worker at a time).
    bool full = now >= next_scan_;
    if ((full || !dirty_.empty()) && !scanning_) {
      scanning_ = true;
      std::vector<std::string> keys(dirty_.begin(), dirty_.end());
      dirty_.clear();
      if (full) {
        next_scan_ = now + options_.interval;
        ++stats_.scans;
      }
      l.unlock();
      std::vector<std::pair<std::string, std::optional<RepoMaintenanceStats>>> measured;
      try {
        if (full) keys = store_.list();
        for (const auto& k : keys) {
          if (stopping_) break;
          std::optional<RepoMaintenanceStats> m;
          if (store_.exists(k)) m = measure(store_.path_for(k));
          measured.emplace_back(k, m);
        }
      } catch (const std::exception& e) {
        spdlog::warn("maintenance: scanning repositories: {}", e.what());
      }
      l.lock();
      scanning_ = false;
      if (full) {
        std::set<std::string> present(keys.begin(), keys.end());
        for (auto it = repos_.begin(); it != repos_.end();)
          it = (!present.count(it->first) && !it->second.history.running) ? repos_.erase(it)
                                                                          : std::next(it);
      }
      for (auto& [k, m] : measured) {
        if (!m) {
          if (auto it = repos_.find(k); it != repos_.end() && !it->second.history.running)
            repos_.erase(it);
          continue;
        }
        auto& c = repos_[k];
        c.key = k;
        c.stats = *m;
      }
      continue;
    }

    // 2. Decide (the load callable runs without the lock).
    l.unlock();
    double load = options_.load ? options_.load() : 0.0;
    l.lock();
    if (stopping_) break;
    now = Clock::now();
    std::vector<MaintenanceCandidate> candidates;
    candidates.reserve(repos_.size());
    for (const auto& [k, c] : repos_) candidates.push_back(c);
    load = effective_load(load, now);
    auto choice = policy_.next(candidates, load, now);
    stats_.paused = policy_.paused(load);
    if (!choice) {
      auto wake = std::min(next_scan_, now + (stats_.paused ? milliseconds(1000) : recheck));
      if (dirty_.empty() || scanning_) l.wait_until(cv_, wake);
      continue;
    }

    // 3. Run it.
    auto& cand = repos_[choice->key];
    cand.history.running = true;
    ++stats_.running;
    l.unlock();
    spdlog::info("maintenance: repository {}: {} ({})", choice->key, task_name(choice->task),
                 choice->reason);
    auto started = Clock::now();
    int64_t started_unix = unix_millis();
    std::string error;
    std::optional<RepoMaintenanceStats> after;
    try {
      auto lock = store_.try_lock_maintenance(choice->key);
      if (!lock) {
        error = "another maintenance job holds the repository";
      } else if (!store_.exists(choice->key)) {
        error = "repository gone";
      } else {
        auto dir = store_.path_for(choice->key);
        // Only maintenance writes these; under our lock a leftover is a killed git's.
        std::error_code ec;
        for (const auto& p : {dir / "objects/pack/multi-pack-index.lock",
                              dir / "objects/info/commit-graphs/commit-graph-chain.lock",
                              dir / "objects/info/commit-graph.lock"})
          fs::remove(p, ec);
        error = run_task(dir, policy_.git_args(choice->task));
        // A push whose refs moved between the repack's pack listing and its ref snapshot makes
        // the bitmap "not have full closure"; nothing is lost (the midx or the packs are left
        // as they were). Once at once, the race being narrow.
        if (error.find("full closure") != std::string::npos && !stopping_) {
          spdlog::info("maintenance: repository {}: refs moved during the repack, again",
                       choice->key);
          error = run_task(dir, policy_.git_args(choice->task));
        }
        if (error.empty() && choice->task == MaintenanceTask::kCommitGraph) {
          // With nothing new, `--split` leaves the chain as it was: mark it current, so that it
          // is not seen behind the packs the repack rewrote.
          for (const auto& p : {dir / "objects/info/commit-graphs/commit-graph-chain",
                                dir / "objects/info/commit-graph"})
            if (fs::exists(p, ec)) fs::last_write_time(p, fs::file_time_type::clock::now(), ec);
        }
        after = measure(dir);
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    auto ended = Clock::now();
    uint64_t ms =
        static_cast<uint64_t>(std::chrono::duration_cast<milliseconds>(ended - started).count());
    if (error.empty())
      spdlog::info("maintenance: repository {}: {} done in {} ms", choice->key,
                   task_name(choice->task), ms);
    else if (!stopping_)
      spdlog::warn("maintenance: repository {}: {} failed after {} ms: {}", choice->key,
                   task_name(choice->task), ms, error);
    l.lock();
    --stats_.running;
    auto& c = repos_[choice->key];
    c.key = choice->key;
    c.history.running = false;
    c.history.last_run[static_cast<int>(choice->task)] = ended;
    if (after) c.stats = *after;
    if (error.empty()) {
      c.history.consecutive_failures = 0;
      if (choice->task == MaintenanceTask::kRepack) c.history.changes_since_repack = 0;
    } else {
      c.history.last_failure = ended;
      ++c.history.consecutive_failures;
    }
    if (stopping_ && !error.empty()) break;  // interrupted by stop(): not a failure
    ++stats_.tasks_run;
    auto& t = stats_.by_task[std::string(task_name(choice->task))];
    ++t.runs;
    t.total_ms += ms;
    t.max_ms = std::max(t.max_ms, ms);
    if (!error.empty()) {
      ++stats_.failures;
      ++t.failures;
    }
    auto& r = stats_.by_repo[choice->key];
    r.last_task = std::string(task_name(choice->task));
    r.last_run_unix_ms = started_unix;
    r.last_duration_ms = ms;
    r.last_error = error;
    r.measured = c.stats;
  }
}

double Maintenance::effective_load(double load, Time now) {
  if (!policy_.paused(load)) {
    paused_since_.reset();
    return load;
  }
  if (!paused_since_) paused_since_ = now;
  // Starvation guard: a node that is never idle still gets maintained, at nice 19.
  return now - *paused_since_ >= options_.max_pause ? 0.0 : load;
}

std::string Maintenance::run_task(const fs::path& dir, const std::vector<std::string>& args) {
  std::vector<std::string> git_args{
      "-c", "pack.threads=" + std::to_string(std::max(1, options_.pack_threads))};
  git_args.insert(git_args.end(), args.begin(), args.end());
  auto po = git_process_options(git_args, dir, {}, milliseconds(0));
  po.argv.insert(po.argv.begin(), wrapper_.begin(), wrapper_.end());
  po.capture_stdin = false;
  po.capture_stdout = false;
  po.capture_stderr = true;
  Process p = Process::spawn(po);
  std::string err;
  bool stopped = false;  // SIGSTOP sent for load
  bool ending = false;   // SIGTERM sent (stop or timeout)
  bool timed_out = false;
  milliseconds active{0};
  auto last = Clock::now();
  Clock::time_point kill_at{};
  char buf[4096];
  for (;;) {
    pollfd pfd{p.stderr_fd(), POLLIN, 0};
    int r = ::poll(&pfd, 1, 250);
    if (r > 0) {
      ssize_t n = ::read(p.stderr_fd(), buf, sizeof buf);
      if (n == 0) break;  // git closed stderr: exiting
      if (n > 0 && err.size() < 16384) err.append(buf, static_cast<size_t>(n));
      if (n < 0 && errno != EINTR && errno != EAGAIN) break;
    } else if (r < 0 && errno != EINTR) {
      break;
    }
    auto now = Clock::now();
    if (!stopped) active += std::chrono::duration_cast<milliseconds>(now - last);
    last = now;
    if (!ending && (stopping_ || active > options_.task_timeout)) {
      timed_out = !stopping_;
      ending = true;
      kill_at = now + std::chrono::seconds(10);
      p.kill(SIGTERM);  // git removes its lock files on SIGTERM
      if (stopped) p.kill(SIGCONT);
      stopped = false;
    } else if (ending && now >= kill_at) {
      p.kill(SIGKILL);
      if (stopped) p.kill(SIGCONT);
      kill_at = now + std::chrono::hours(1);
    } else if (!ending && options_.load) {
      double load = options_.load();
      bool busy = false;
      {
        MutexLock l(mu_);
        busy = policy_.paused(effective_load(load, now));
        if (busy) stats_.paused = true;
      }
      if (busy && !stopped) {
        p.kill(SIGSTOP);
        stopped = true;
      } else if (!busy && stopped) {
        p.kill(SIGCONT);
        stopped = false;
      }
    }
  }
  if (stopped) p.kill(SIGCONT);
  ExitStatus st = p.wait();
  if (st.success() && !timed_out) return "";
  std::string why = timed_out ? "timed out" : st.describe();
  while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
  return err.empty() ? why : why + ": " + err;
}

}  // namespace guts::git
