// guts-sim: the whole-node deterministic simulator's campaign.
//   guts-sim --seeds N [--first S]   runs seeds S..S+N-1, stops at the first failure, prints
//                                    seeds/s and the command that reproduces a failure
//   guts-sim --seed S [-v]           runs one seed (the repro), prints its trace hash
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "runtime/sim/scenario.h"

int main(int argc, char** argv) {
  uint64_t seeds = 1;
  uint64_t first = 1;
  bool verbose = false;
  bool core = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seeds" && i + 1 < argc) {
      seeds = std::strtoull(argv[++i], nullptr, 10);
    } else if ((a == "--seed" || a == "--first") && i + 1 < argc) {
      first = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--direct") {
      core = false;
    } else if (a == "-v" || a == "--verbose") {
      verbose = true;
    } else {
      std::fprintf(stderr, "usage: %s [--seeds N] [--seed S] [--direct] [-v]\n", argv[0]);
      return 2;
    }
  }
  auto start = std::chrono::steady_clock::now();
  uint64_t heights = 0, acks = 0, crashes = 0;
  for (uint64_t k = 0; k < seeds; ++k) {
    uint64_t seed = first + k;
    auto r = guts::runtime::sim::run_seed(seed, verbose, core);
    heights += r.height;
    acks += r.stats.acknowledged;
    crashes += r.stats.crashes;
    if (verbose || seeds == 1 || !r.ok) {
      std::printf(
          "seed %llu: %s height=%llu acked=%llu crashes=%llu lost-batches=%llu "
          "corrupt-objects=%llu forged-rejected=%llu events=%llu trace=%016llx\n  %s\n",
          static_cast<unsigned long long>(seed), r.ok ? "ok" : "FAILED",
          static_cast<unsigned long long>(r.height),
          static_cast<unsigned long long>(r.stats.acknowledged),
          static_cast<unsigned long long>(r.stats.crashes),
          static_cast<unsigned long long>(r.stats.lost_batches),
          static_cast<unsigned long long>(r.stats.corrupt_objects),
          static_cast<unsigned long long>(r.stats.forged_rejected),
          static_cast<unsigned long long>(r.stats.events),
          static_cast<unsigned long long>(r.trace_hash), r.description.c_str());
    }
    if (!r.ok) {
      std::printf("FAILING SEED %llu: %s\nreproduce: %s --seed %llu%s -v\n",
                  static_cast<unsigned long long>(seed), r.failure.c_str(), argv[0],
                  static_cast<unsigned long long>(seed), core ? "" : " --direct");
      return 1;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "%llu seeds passed in %.1f s: %.2f seeds/s (%llu blocks, %llu acknowledged "
      "transactions, %llu crashes)\n",
      static_cast<unsigned long long>(seeds), secs, secs > 0 ? seeds / secs : 0.0,
      static_cast<unsigned long long>(heights), static_cast<unsigned long long>(acks),
      static_cast<unsigned long long>(crashes));
  return 0;
}
