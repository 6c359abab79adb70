#include "sim/rng.h"

namespace guts::sim {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

uint64_t Rng::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t Rng::uniform(uint64_t n) {
  return n == 0 ? 0 : next() % n;
}
double Rng::unit() {
  return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
}
bool Rng::chance(double p) {
  return p >= 1.0 ? true : p <= 0.0 ? false : unit() < p;
}
double Rng::normal() {
  double s = 0;
  for (int i = 0; i < 12; ++i) s += unit();
  return s - 6.0;
}

}  // namespace guts::sim
