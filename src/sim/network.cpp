#include "sim/network.h"

#include <cstddef>

namespace guts::sim {

uint64_t sample_delay(const Link& link, Rng& rng) {
  double d = static_cast<double>(link.latency) + static_cast<double>(link.jitter) * rng.normal();
  return d < 1.0 ? 1 : static_cast<uint64_t>(d);
}

std::vector<std::pair<uint32_t, uint32_t>> cut_links(
    uint32_t n, const std::vector<std::vector<uint32_t>>& groups) {
  std::vector<int> group(n, -1);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (uint32_t i : groups[g]) {
      if (i < n) group[i] = static_cast<int>(g);
    }
  }
  std::vector<std::pair<uint32_t, uint32_t>> cut;
  for (uint32_t a = 0; a < n; ++a) {
    for (uint32_t b = 0; b < n; ++b) {
      if (a != b && (group[a] != group[b] || group[a] < 0)) cut.emplace_back(a, b);
    }
  }
  return cut;
}

}  // namespace guts::sim
