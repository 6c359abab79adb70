// SHA-256 of many 65-byte messages, two at a time with the x86 SHA extensions (hash.h).
//
// One message's compression is a chain of 32 dependent sha256rnds2 instructions: the CPU waits
// on each result. Two independent messages' chains interleaved keep it busy: 45 ns a message
// against 78–80 ns for OpenSSL's (which uses the same instructions, one message at a time) on
// the development machine (`ledger_bench --benchmark_filter=TreeNodeHash`, docs/benchmarks.md).
// The schedule is the standard one for these
// instructions (Intel's "New Instructions Supporting the Secure Hash Algorithm on Intel
// Architecture Processors", 2013): the state held as ABEF / CDGH, four rounds per step.
#include <cstring>
#include <stdexcept>
#include <utility>

#include "crypto/hash.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace guts::crypto {

namespace {

void one_by_one(std::span<const Block65> in, std::span<Digest> out) {
  for (size_t i = 0; i < in.size(); ++i) out[i] = sha256(ByteView(in[i]));
}

#if defined(__x86_64__)

#define GUTS_SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

alignas(16) constexpr uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// N messages' states and message schedules, advanced together. The loops over the lanes are
// unrolled by pragma: at -O2 GCC keeps them as loops, and the lanes' instructions then do not
// interleave (66 ns a message instead of 45 in the same benchmark).
template <int N>
struct Lanes {
  __m128i abef[N], cdgh[N];
  __m128i w[N][4];  // the last four groups of four schedule words
};

// Rounds 4·I to 4·I+3 of every lane; `block[j]` is lane j's 64-byte block (read for I < 4).
template <int I, int N>
GUTS_SHA_TARGET inline __attribute__((always_inline)) void step(Lanes<N>& s,
                                                                const uint8_t* const* block) {
  const __m128i big_endian = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(&kRound[4 * I]));
#pragma GCC unroll 4
  for (int j = 0; j < N; ++j) {
    __m128i(&w)[4] = s.w[j];
    if constexpr (I < 4)
      w[I] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block[j] + 16 * I)),
                              big_endian);
    __m128i m = _mm_add_epi32(w[I % 4], k);
    s.cdgh[j] = _mm_sha256rnds2_epu32(s.cdgh[j], s.abef[j], m);
    if constexpr (I >= 3 && I <= 14) {  // the next group's words
      __m128i t = _mm_alignr_epi8(w[I % 4], w[(I + 3) % 4], 4);
      w[(I + 1) % 4] = _mm_sha256msg2_epu32(_mm_add_epi32(w[(I + 1) % 4], t), w[I % 4]);
    }
    m = _mm_shuffle_epi32(m, 0x0E);
    s.abef[j] = _mm_sha256rnds2_epu32(s.abef[j], s.cdgh[j], m);
    if constexpr (I >= 1 && I <= 12)  // half of the group three steps on
      w[(I + 3) % 4] = _mm_sha256msg1_epu32(w[(I + 3) % 4], w[I % 4]);
  }
}

template <int N, int... I>
GUTS_SHA_TARGET inline __attribute__((always_inline)) void compress(
    Lanes<N>& s, const uint8_t* const* block, std::integer_sequence<int, I...>) {
  __m128i abef[N], cdgh[N];
#pragma GCC unroll 4
  for (int j = 0; j < N; ++j) {
    abef[j] = s.abef[j];
    cdgh[j] = s.cdgh[j];
  }
  (step<I, N>(s, block), ...);
#pragma GCC unroll 4
  for (int j = 0; j < N; ++j) {
    s.abef[j] = _mm_add_epi32(s.abef[j], abef[j]);
    s.cdgh[j] = _mm_add_epi32(s.cdgh[j], cdgh[j]);
  }
}

// N messages of 65 bytes: two blocks each, the second the last byte and the padding.
template <int N>
GUTS_SHA_TARGET void hash_lanes(const Block65* in, Digest* out) {
  Lanes<N> s;
  alignas(16) uint8_t last[N][64];
  const uint8_t *first_blocks[N], *last_blocks[N];
#pragma GCC unroll 4
  for (int j = 0; j < N; ++j) {
    s.abef[j] = _mm_set_epi32(0x6a09e667, int(0xbb67ae85), 0x510e527f, int(0x9b05688c));
    s.cdgh[j] = _mm_set_epi32(0x3c6ef372, int(0xa54ff53a), 0x1f83d9ab, 0x5be0cd19);
    std::memset(last[j], 0, sizeof last[j]);
    last[j][0] = in[j][64];
    last[j][1] = 0x80;
    last[j][62] = 0x02;  // the length, 520 bits, big-endian
    last[j][63] = 0x08;
    first_blocks[j] = in[j].data();
    last_blocks[j] = last[j];
  }
  compress<N>(s, first_blocks, std::make_integer_sequence<int, 16>());
  compress<N>(s, last_blocks, std::make_integer_sequence<int, 16>());
  const __m128i big_endian = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
#pragma GCC unroll 4
  for (int j = 0; j < N; ++j) {
    __m128i feba = _mm_shuffle_epi32(s.abef[j], 0x1B);
    __m128i dchg = _mm_shuffle_epi32(s.cdgh[j], 0xB1);
    __m128i dcba = _mm_blend_epi16(feba, dchg, 0xF0);
    __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[j].data()), _mm_shuffle_epi8(dcba, big_endian));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[j].data() + 16),
                     _mm_shuffle_epi8(hgfe, big_endian));
  }
}

void in_pairs(std::span<const Block65> in, std::span<Digest> out) {
  size_t i = 0;
  for (; i + 2 <= in.size(); i += 2) hash_lanes<2>(&in[i], &out[i]);
  if (i < in.size()) hash_lanes<1>(&in[i], &out[i]);
}

bool has_sha_extensions() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool ssse3 = c & (1u << 9), sse41 = c & (1u << 19);
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return ssse3 && sse41 && (b & (1u << 29));
}

#endif

}  // namespace

bool sha256_65_uses_cpu_extensions() {
#if defined(__x86_64__)
  static const bool yes = has_sha_extensions();
  return yes;
#else
  return false;
#endif
}

void sha256_65(std::span<const Block65> in, std::span<Digest> out, bool cpu_extensions) {
  if (out.size() < in.size()) throw std::invalid_argument("sha256_65: fewer outputs than inputs");
#if defined(__x86_64__)
  if (cpu_extensions && sha256_65_uses_cpu_extensions()) return in_pairs(in, out);
#endif
  one_by_one(in, out);
}

}  // namespace guts::crypto
