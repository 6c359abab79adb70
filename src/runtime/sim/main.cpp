// guts-sim: the whole-node deterministic simulator's campaign (docs/simulator.md).
//   guts-sim --seed S [-v]                 one seed (the repro): figures, trace hash, scenario
//   guts-sim --seeds N [--first S]         seeds S..S+N-1; stops at the first failure and prints
//            [--jobs J] [--progress SEC]   the command that reproduces it; seeds/s at the end
//   --direct   the simulator's own ledger glue instead of ledger::Core
//   --disk     RocksDB in files under /dev/shm instead of in memory (slower; same traces)
//   --reopen   in memory: reopen a crashed node's database at its restart (RocksDB recovery)
#include <cstdio>
#include <string>

#include "runtime/sim/scenario.h"
#include "sim/campaign.h"

int main(int argc, char** argv) {
  using guts::runtime::sim::RunOptions;
  RunOptions ro;
  guts::sim::CampaignOptions co;
  bool ok = guts::sim::parse_campaign_args(argc, argv, co, [&](const std::string& a, int&) {
    if (a == "--direct") {
      ro.ledger_core = false;
    } else if (a == "--disk") {
      ro.disk = true;
    } else if (a == "--reopen") {
      ro.reopen_db = true;
    } else {
      return false;
    }
    return true;
  });
  if (!ok) {
    std::fprintf(stderr,
                 "usage: %s [--seeds N] [--seed S | --first S] [--jobs J] [--progress SEC] "
                 "[--direct] [--disk] [--reopen] [-v]\n",
                 argv[0]);
    return 2;
  }
  co.repro = std::string(argv[0]);
  if (!ro.ledger_core) co.repro += " --direct";
  if (ro.disk) co.repro += " --disk";
  if (ro.reopen_db) co.repro += " --reopen";
  co.totals = {"blocks", "acknowledged transactions", "crashes"};
  return guts::sim::run_campaign(co, [&](uint64_t seed, bool verbose) {
    RunOptions o = ro;
    o.verbose = verbose;
    auto r = guts::runtime::sim::run_seed(seed, o);
    guts::sim::SeedReport rep;
    rep.ok = r.ok;
    rep.failure = r.failure;
    rep.description = r.description;
    char line[320];
    std::snprintf(line, sizeof line,
                  "height=%llu acked=%llu crashes=%llu lost-batches=%llu corrupt-objects=%llu "
                  "forged-rejected=%llu events=%llu trace=%016llx",
                  static_cast<unsigned long long>(r.height),
                  static_cast<unsigned long long>(r.stats.acknowledged),
                  static_cast<unsigned long long>(r.stats.crashes),
                  static_cast<unsigned long long>(r.stats.lost_batches),
                  static_cast<unsigned long long>(r.stats.corrupt_objects),
                  static_cast<unsigned long long>(r.stats.forged_rejected),
                  static_cast<unsigned long long>(r.stats.events),
                  static_cast<unsigned long long>(r.trace_hash));
    rep.summary = line;
    rep.totals = {r.height, r.stats.acknowledged, r.stats.crashes};
    return rep;
  });
}
