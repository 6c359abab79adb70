// The network model both deterministic simulators share: per-direction links with latency,
// jitter and loss, and partitions (the links between groups removed).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "sim/rng.h"

namespace guts::sim {

// One direction of a simulated link, in virtual milliseconds.
struct Link {
  uint64_t latency = 50;  // mean one-way delay
  uint64_t jitter = 0;    // standard deviation
  double success = 1.0;   // delivery probability
};

// The delay of one message on `link` (at least 1 ms): latency plus normal jitter.
uint64_t sample_delay(const Link& link, Rng& rng);

// The directed links a partition into these groups removes among n nodes: every pair in
// different groups, and every pair with a node in no group.
std::vector<std::pair<uint32_t, uint32_t>> cut_links(
    uint32_t n, const std::vector<std::vector<uint32_t>>& groups);

}  // namespace guts::sim
