// One randomized whole-node simulation per seed: random cluster size, link quality and
// byzantine validator, a chaos phase (partitions, lossy links, crashes at random steps and
// mid-write, torn journals, lost RocksDB batches, restarts, cluster-wide crashes) while clients
// push, then a heal phase after which every honest node must reach the agreed height and hold
// every object its refs need. Shared by tests/sim and the guts-sim binary.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/sim/cluster.h"

namespace guts::runtime::sim {

struct SeedResult {
  bool ok = true;
  std::string description;  // the scenario the seed generated
  std::string failure;      // first violation, or the liveness failure
  uint64_t trace_hash = 0;
  uint64_t height = 0;
  Stats stats;
};

// verbose: print the nodes' state after each scripted step (to stderr). ledger_core: drive the
// ledger through ledger::Core (as the node does) rather than the simulator's direct glue.
SeedResult run_seed(uint64_t seed, bool verbose = false, bool ledger_core = true);

}  // namespace guts::runtime::sim
