#include "sim/campaign.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>

namespace guts::sim {

namespace {

using Clock = std::chrono::steady_clock;
using ull = unsigned long long;

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

SeedReport run_guarded(const std::function<SeedReport(uint64_t, bool)>& run, uint64_t seed,
                       bool verbose) {
  try {
    return run(seed, verbose);
  } catch (const std::exception& e) {
    SeedReport r;
    r.ok = false;
    r.failure = std::string("exception: ") + e.what();
    return r;
  }
}

class Tally {
 public:
  explicit Tally(const CampaignOptions& o) : o_(o), totals_(o.totals.size(), 0) {}

  void passed(uint64_t seed, const SeedReport& r) {
    ++done_;
    for (size_t k = 0; k < totals_.size() && k < r.totals.size(); ++k) totals_[k] += r.totals[k];
    if (o_.verbose || o_.seeds == 1) print_seed(seed, r);
  }

  void failed(uint64_t seed, const SeedReport& r) const {
    print_seed(seed, r);
    std::printf("FAILING SEED %llu: %s\nreproduce: %s --seed %llu -v\n", ull(seed),
                r.failure.c_str(), o_.repro.c_str(), ull(seed));
    std::printf("(%llu seeds passed before it in %.1f s)\n", ull(done_), secs());
    std::fflush(stdout);
  }

  void progress() {
    if (o_.progress_every_s <= 0) return;
    auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_).count() < o_.progress_every_s) return;
    last_ = now;
    std::printf("... %llu of %llu seeds in %.0f s: %.2f seeds/s\n", ull(done_), ull(o_.seeds),
                secs(), rate());
    std::fflush(stdout);
  }

  void finish() const {
    std::ostringstream t;
    for (size_t k = 0; k < totals_.size(); ++k) {
      t << (k ? ", " : " (") << totals_[k] << " " << o_.totals[k];
    }
    if (!totals_.empty()) t << ")";
    std::printf("%llu seeds passed in %.1f s: %.2f seeds/s%s\n", ull(done_), secs(), rate(),
                t.str().c_str());
    std::fflush(stdout);
  }

 private:
  void print_seed(uint64_t seed, const SeedReport& r) const {
    std::printf("seed %llu: %s %s\n  %s\n", ull(seed), r.ok ? "ok" : "FAILED", r.summary.c_str(),
                r.description.c_str());
  }
  double secs() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  double rate() const { return secs() > 0 ? static_cast<double>(done_) / secs() : 0.0; }

  const CampaignOptions& o_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_ = start_;
  uint64_t done_ = 0;
  std::vector<uint64_t> totals_;
};

int run_here(const CampaignOptions& o, const std::function<SeedReport(uint64_t, bool)>& run) {
  Tally tally(o);
  for (uint64_t k = 0; k < o.seeds; ++k) {
    uint64_t seed = o.first + k;
    SeedReport r = run_guarded(run, seed, o.verbose);
    if (!r.ok) {
      tally.failed(seed, r);
      return 1;
    }
    tally.passed(seed, r);
    tally.progress();
  }
  tally.finish();
  return 0;
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t w = ::write(fd, s.data() + off, s.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ::_exit(3);
    off += static_cast<size_t>(w);
  }
}

// A worker runs seeds first + w, first + w + jobs, ... and reports each on its pipe:
// "S <seed>" when it starts one, then "R\t<seed>\t<ok>\t<totals>\t<failure>\t<description>\t
// <summary>" when it is done.
[[noreturn]] void worker(const CampaignOptions& o,
                         const std::function<SeedReport(uint64_t, bool)>& run, unsigned w, int fd) {
  for (uint64_t k = w; k < o.seeds; k += o.jobs) {
    uint64_t seed = o.first + k;
    write_all(fd, "S " + std::to_string(seed) + "\n");
    SeedReport r = run_guarded(run, seed, false);
    std::string totals;
    for (size_t i = 0; i < r.totals.size(); ++i) {
      totals += (i ? " " : "") + std::to_string(r.totals[i]);
    }
    write_all(fd, "R\t" + std::to_string(seed) + "\t" + (r.ok ? "1" : "0") + "\t" + totals + "\t" +
                      one_line(r.failure) + "\t" + one_line(r.description) + "\t" +
                      one_line(r.summary) + "\n");
  }
  ::_exit(0);
}

struct Worker {
  pid_t pid = -1;
  int fd = -1;
  std::string buf;
  uint64_t current = 0;  // the seed it runs (0: none)
};

void stop_all(std::vector<Worker>& ws) {
  for (auto& w : ws) {
    if (w.pid > 0) ::kill(w.pid, SIGKILL);
  }
  for (auto& w : ws) {
    if (w.pid > 0) ::waitpid(w.pid, nullptr, 0);
    if (w.fd >= 0) ::close(w.fd);
    w.pid = -1;
    w.fd = -1;
  }
}

int run_workers(const CampaignOptions& o, const std::function<SeedReport(uint64_t, bool)>& run) {
  Tally tally(o);
  std::fflush(stdout);
  std::fflush(stderr);
  std::vector<Worker> ws(o.jobs);
  for (unsigned w = 0; w < o.jobs; ++w) {
    int p[2];
    if (::pipe(p) != 0) {
      std::perror("pipe");
      stop_all(ws);
      return 2;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("fork");
      stop_all(ws);
      return 2;
    }
    if (pid == 0) {
      ::close(p[0]);
      for (unsigned v = 0; v < w; ++v) ::close(ws[v].fd);
      worker(o, run, w, p[1]);
    }
    ::close(p[1]);
    ws[w].pid = pid;
    ws[w].fd = p[0];
  }
  size_t open = ws.size();
  while (open > 0) {
    std::vector<pollfd> fds;
    for (auto& w : ws) {
      if (w.fd >= 0) fds.push_back({w.fd, POLLIN, 0});
    }
    int n = ::poll(fds.data(), fds.size(), 1000);
    if (n < 0 && errno != EINTR) {
      std::perror("poll");
      stop_all(ws);
      return 2;
    }
    for (auto& w : ws) {
      if (w.fd < 0) continue;
      bool ready = false;
      for (const auto& f : fds) ready = ready || (f.fd == w.fd && f.revents != 0);
      if (!ready) continue;
      char chunk[4096];
      ssize_t got = ::read(w.fd, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got > 0) {
        w.buf.append(chunk, static_cast<size_t>(got));
        size_t nl;
        while ((nl = w.buf.find('\n')) != std::string::npos) {
          std::string line = w.buf.substr(0, nl);
          w.buf.erase(0, nl + 1);
          if (line.rfind("S ", 0) == 0) {
            w.current = std::strtoull(line.c_str() + 2, nullptr, 10);
            continue;
          }
          auto f = split(line, '\t');
          if (f.size() < 7 || f[0] != "R") continue;
          uint64_t seed = std::strtoull(f[1].c_str(), nullptr, 10);
          SeedReport r;
          r.ok = f[2] == "1";
          for (const auto& v : split(f[3], ' ')) {
            if (!v.empty()) r.totals.push_back(std::strtoull(v.c_str(), nullptr, 10));
          }
          r.failure = f[4];
          r.description = f[5];
          r.summary = f[6];
          w.current = 0;
          if (!r.ok) {
            stop_all(ws);
            tally.failed(seed, r);
            return 1;
          }
          tally.passed(seed, r);
        }
        continue;
      }
      // End of the pipe: the worker is done, or died in the middle of a seed.
      ::close(w.fd);
      w.fd = -1;
      --open;
      int status = 0;
      ::waitpid(w.pid, &status, 0);
      w.pid = -1;
      bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!clean || w.current != 0) {
        SeedReport r;
        r.ok = false;
        r.failure = WIFSIGNALED(status)
                        ? "the worker process died of signal " + std::to_string(WTERMSIG(status))
                        : "the worker process exited with " + std::to_string(WEXITSTATUS(status));
        stop_all(ws);
        tally.failed(w.current, r);
        return 1;
      }
    }
    tally.progress();
  }
  tally.finish();
  return 0;
}

}  // namespace

bool parse_campaign_args(int argc, char** argv, CampaignOptions& o,
                         const std::function<bool(const std::string& arg, int& i)>& extra) {
  bool seeds_given = false, seed_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--seeds" && has_value) {
      o.seeds = std::strtoull(argv[++i], nullptr, 10);
      seeds_given = true;
    } else if ((a == "--seed" || a == "--first") && has_value) {
      o.first = std::strtoull(argv[++i], nullptr, 10);
      seed_given = seed_given || a == "--seed";
    } else if (a == "--jobs" && has_value) {
      o.jobs = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--progress" && has_value) {
      o.progress_every_s = std::strtod(argv[++i], nullptr);
    } else if (a == "-v" || a == "--verbose") {
      o.verbose = true;
    } else if (!extra || !extra(a, i)) {
      return false;
    }
  }
  if (seed_given && !seeds_given) o.seeds = 1;  // --seed S alone: the repro of one seed
  return true;
}

int run_campaign(const CampaignOptions& o,
                 const std::function<SeedReport(uint64_t seed, bool verbose)>& run) {
  if (o.jobs == 0 || o.seeds <= 1) return run_here(o, run);
  CampaignOptions quiet = o;
  quiet.verbose = false;  // workers' traces would interleave
  quiet.jobs = static_cast<unsigned>(std::min<uint64_t>(o.jobs, o.seeds));
  return run_workers(quiet, run);
}

}  // namespace guts::sim
