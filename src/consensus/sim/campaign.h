// One randomized simulator run per seed: random size, link quality, an optional byzantine actor,
// a chaos phase (partitions, lossy links, crashes mid-write, restarts), then a heal phase that
// must finalize again. Shared by the unit-test campaign and the guts-sim-campaign binary.
#pragma once

#include <cstdint>
#include <string>

namespace guts::consensus::sim {

struct CampaignResult {
  bool ok = true;
  std::string description;  // the scenario the seed generated
  std::string failure;      // first violation, or the liveness failure
  uint64_t trace_hash = 0;
  uint64_t final_view = 0;
  uint64_t finalized = 0;
};

// verbose: print every node's state after each scripted step (to stderr).
CampaignResult run_campaign_seed(uint64_t seed, bool verbose = false);

}  // namespace guts::consensus::sim
