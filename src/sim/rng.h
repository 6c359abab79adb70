// The seeded randomness and link model both deterministic simulators share: a seed is a whole
// scenario, so every random choice comes from one Rng and is the same on every platform.
#pragma once

#include <cstdint>

namespace guts::sim {

// xoshiro256**, seeded through splitmix64.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  uint64_t uniform(uint64_t n);  // [0, n)
  bool chance(double p);
  double unit();    // [0, 1)
  double normal();  // approximately N(0,1) (Irwin–Hall, platform independent)

 private:
  uint64_t s_[4];
};

// One direction of a simulated link, in virtual milliseconds.
struct Link {
  uint64_t latency = 50;  // mean one-way delay
  uint64_t jitter = 0;    // standard deviation
  double success = 1.0;   // delivery probability
};

// The delay of one message on `link` (at least 1 ms): latency plus normal jitter.
uint64_t sample_delay(const Link& link, Rng& rng);

}  // namespace guts::sim
