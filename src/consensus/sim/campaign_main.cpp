// guts-sim-campaign --seeds N [--seed S]: runs N randomized simulator scenarios starting at seed
// S (default 1) and stops at the first failing seed, printing the command that replays it.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "consensus/sim/campaign.h"

int main(int argc, char** argv) {
  uint64_t seeds = 100;
  uint64_t first = 1;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seeds" && i + 1 < argc) {
      seeds = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--seed" && i + 1 < argc) {
      first = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "-v" || a == "--verbose") {
      verbose = true;
    } else {
      std::fprintf(stderr, "usage: %s --seeds N [--seed S] [-v]\n", argv[0]);
      return 2;
    }
  }
  auto start = std::chrono::steady_clock::now();
  uint64_t views = 0;
  for (uint64_t k = 0; k < seeds; ++k) {
    uint64_t seed = first + k;
    auto r = guts::consensus::sim::run_campaign_seed(seed, verbose);
    views += r.final_view;
    if (verbose || !r.ok) {
      std::printf("seed %llu: %s view=%llu finalized=%llu hash=%016llx\n  %s\n",
                  static_cast<unsigned long long>(seed), r.ok ? "ok" : "FAILED",
                  static_cast<unsigned long long>(r.final_view),
                  static_cast<unsigned long long>(r.finalized),
                  static_cast<unsigned long long>(r.trace_hash), r.description.c_str());
    }
    if (!r.ok) {
      std::printf("FIRST FAILING SEED %llu: %s\nreplay: %s --seeds 1 --seed %llu -v\n",
                  static_cast<unsigned long long>(seed), r.failure.c_str(), argv[0],
                  static_cast<unsigned long long>(seed));
      return 1;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%llu seeds passed in %.1f s (%.0f simulated views per wall second)\n",
              static_cast<unsigned long long>(seeds), secs, secs > 0 ? views / secs : 0.0);
  return 0;
}
