// guts-sim-campaign: the consensus-only simulator's campaign (src/sim/campaign.h).
//   guts-sim-campaign [--seeds N] [--seed S | --first S] [--jobs J] [--progress SEC] [-v]
// runs N randomized scenarios (default 100) from seed S (default 1), stops at the first failing
// seed and prints the command that replays it (--seed S -v).
#include <cstdio>
#include <string>

#include "consensus/sim/campaign.h"
#include "sim/campaign.h"

int main(int argc, char** argv) {
  guts::sim::CampaignOptions co;
  co.seeds = 100;
  if (!guts::sim::parse_campaign_args(argc, argv, co, nullptr)) {
    std::fprintf(stderr,
                 "usage: %s [--seeds N] [--seed S | --first S] [--jobs J] [--progress SEC] [-v]\n",
                 argv[0]);
    return 2;
  }
  co.repro = argv[0];
  co.totals = {"simulated views"};
  return guts::sim::run_campaign(co, [](uint64_t seed, bool verbose) {
    auto r = guts::consensus::sim::run_campaign_seed(seed, verbose);
    guts::sim::SeedReport rep;
    rep.ok = r.ok;
    rep.failure = r.failure;
    rep.description = r.description;
    char line[160];
    std::snprintf(line, sizeof line, "view=%llu finalized=%llu hash=%016llx",
                  static_cast<unsigned long long>(r.final_view),
                  static_cast<unsigned long long>(r.finalized),
                  static_cast<unsigned long long>(r.trace_hash));
    rep.summary = line;
    rep.totals = {r.final_view};
    return rep;
  });
}
