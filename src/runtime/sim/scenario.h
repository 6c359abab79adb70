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

struct RunOptions {
  bool verbose = false;     // print the nodes' state after each scripted step (to stderr)
  bool ledger_core = true;  // drive the ledger through ledger::Core, as the node does; false:
                            // the simulator's direct glue
  bool disk = false;        // RocksDB in files under /dev/shm rather than in memory
  bool reopen_db = false;   // in memory: close a crashed node's database, reopen it at restart
};

SeedResult run_seed(uint64_t seed, const RunOptions& options);
inline SeedResult run_seed(uint64_t seed, bool verbose = false, bool ledger_core = true) {
  RunOptions o;
  o.verbose = verbose;
  o.ledger_core = ledger_core;
  return run_seed(seed, o);
}

}  // namespace guts::runtime::sim
