// The campaign loop both simulators share (guts-sim-campaign for consensus alone, guts-sim for
// whole nodes): seeds first..first+seeds-1, on worker processes when jobs > 1, progress and
// seeds/s, and at the first failing seed the one command that replays it. A seed that kills its
// worker process (an assertion) is a failing seed too; an exception fails its seed in any mode.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace guts::sim {

struct SeedReport {
  bool ok = true;
  std::string failure;           // the first violation, or the liveness failure
  std::string description;       // the scenario the seed generated
  std::string summary;           // one line of figures (printed with -v and for a failure)
  std::vector<uint64_t> totals;  // summed over the campaign, named by CampaignOptions::totals
};

struct CampaignOptions {
  uint64_t first = 1;
  uint64_t seeds = 1;
  // Worker processes (a seed that kills its process is then reported as failing); 0: the
  // seeds run in this process, with -v traces.
  unsigned jobs = 0;
  bool verbose = false;
  double progress_every_s = 0;  // print a progress line this often (0: never)
  std::string repro;            // the command that replays one seed: "<repro> --seed S -v"
  std::vector<std::string> totals;
};

// Parses the shared flags into `o`: --seeds N, --seed S (or --first S), --jobs J, --progress
// SECONDS, -v. Any other argument goes to `extra` (which may take the next one through `i`);
// returns false at an argument neither knows.
bool parse_campaign_args(int argc, char** argv, CampaignOptions& o,
                         const std::function<bool(const std::string& arg, int& i)>& extra);

// Runs the campaign; returns the process exit code (0: every seed passed, 1: a failure).
int run_campaign(const CampaignOptions& o,
                 const std::function<SeedReport(uint64_t seed, bool verbose)>& run);

}  // namespace guts::sim
