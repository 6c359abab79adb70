// The seeded randomness both deterministic simulators share: a seed is a whole scenario, so
// every random choice comes from one Rng and is the same on every platform.
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

}  // namespace guts::sim
