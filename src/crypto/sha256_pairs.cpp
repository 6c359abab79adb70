// SHA-256 of many messages at once, interleaved with the x86 SHA extensions (hash.h).
//
// One message's compression is a chain of 32 dependent sha256rnds2 instructions: the CPU waits
// on each result. Independent messages' chains interleaved keep it busy: for the tree's 65-byte
// nodes, 45 ns a message two at a time and 41 ns four at a time, against 78–80 ns for OpenSSL's
// (which uses the same instructions, one message at a time) on the development machine
// (`ledger_bench --benchmark_filter=TreeNodeHash`, docs/benchmarks.md). Messages of any length
// go the same way when they take the same number of blocks (sha256_many groups them so).
// The schedule is the standard one for these
// instructions (Intel's "New Instructions Supporting the Secure Hash Algorithm on Intel
// Architecture Processors", 2013): the state held as ABEF / CDGH, four rounds per step.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

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

void one_by_one(std::span<const ByteView> in, std::span<Digest> out) {
  for (size_t i = 0; i < in.size(); ++i) out[i] = sha256(in[i]);
}

// The 64-byte blocks of an n-byte message once padded (0x80, zeros, the 8-byte bit length).
size_t padded_blocks(size_t n) {
  return (n + 9 + 63) / 64;
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
// interleave (two lanes: 66 ns a message instead of 45 in the same benchmark).
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

// N messages (in[j], digest to *out[j]) of `blocks` padded blocks each: the whole blocks read in
// place, the last one or two (the rest of the message and the padding) from a copy.
template <int N>
GUTS_SHA_TARGET void hash_lanes(const ByteView* const* in, Digest* const* out, size_t blocks) {
  Lanes<N> s;
  alignas(16) uint8_t tail[N][128];
  size_t whole[N];
#pragma GCC unroll 4
  for (int j = 0; j < N; ++j) {
    s.abef[j] = _mm_set_epi32(0x6a09e667, int(0xbb67ae85), 0x510e527f, int(0x9b05688c));
    s.cdgh[j] = _mm_set_epi32(0x3c6ef372, int(0xa54ff53a), 0x1f83d9ab, 0x5be0cd19);
    const size_t n = in[j]->size();
    whole[j] = n / 64;
    const size_t rest = n % 64, end = (blocks - whole[j]) * 64;
    std::memset(tail[j], 0, end);
    if (rest) std::memcpy(tail[j], in[j]->data() + 64 * whole[j], rest);
    tail[j][rest] = 0x80;
    for (size_t k = 0; k < 8; ++k) tail[j][end - 1 - k] = uint8_t((uint64_t(n) * 8) >> (8 * k));
  }
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* block[N];
#pragma GCC unroll 4
    for (int j = 0; j < N; ++j)
      block[j] = b < whole[j] ? in[j]->data() + 64 * b : tail[j] + 64 * (b - whole[j]);
    compress<N>(s, block, std::make_integer_sequence<int, 16>());
  }
  const __m128i big_endian = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
#pragma GCC unroll 4
  for (int j = 0; j < N; ++j) {
    __m128i feba = _mm_shuffle_epi32(s.abef[j], 0x1B);
    __m128i dchg = _mm_shuffle_epi32(s.cdgh[j], 0xB1);
    __m128i dcba = _mm_blend_epi16(feba, dchg, 0xF0);
    __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[j]->data()),
                     _mm_shuffle_epi8(dcba, big_endian));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[j]->data() + 16),
                     _mm_shuffle_epi8(hgfe, big_endian));
  }
}

// Messages of `blocks` padded blocks each: four at a time, then two, then one.
void in_lanes(const ByteView* const* in, Digest* const* out, size_t n, size_t blocks) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) hash_lanes<4>(in + i, out + i, blocks);
  for (; i + 2 <= n; i += 2) hash_lanes<2>(in + i, out + i, blocks);
  if (i < n) hash_lanes<1>(in + i, out + i, blocks);
}

void in_lanes(std::span<const Block65> in, std::span<Digest> out) {
  constexpr size_t kChunk = 64;
  ByteView views[kChunk];
  const ByteView* in_at[kChunk];
  Digest* out_at[kChunk];
  for (size_t begin = 0; begin < in.size(); begin += kChunk) {
    const size_t n = std::min(kChunk, in.size() - begin);
    for (size_t i = 0; i < n; ++i) {
      views[i] = ByteView(in[begin + i]);
      in_at[i] = &views[i];
      out_at[i] = &out[begin + i];
    }
    in_lanes(in_at, out_at, n, padded_blocks(65));
  }
}

void in_lanes(std::span<const ByteView> in, std::span<Digest> out) {
  // By padded length (stable: each length's messages in their order), so lanes run in step.
  std::vector<std::pair<size_t, size_t>> order(in.size());  // (blocks, index)
  for (size_t i = 0; i < in.size(); ++i) order[i] = {padded_blocks(in[i].size()), i};
  // Mostly in order already: a batch's messages tend to be of one kind (a block's ref keys and
  // targets each take one block; its leaf values two), and the sort took a fifth of a batch.
  auto by_blocks = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (!std::is_sorted(order.begin(), order.end(), by_blocks))
    std::stable_sort(order.begin(), order.end(), by_blocks);
  std::vector<const ByteView*> in_at(in.size());
  std::vector<Digest*> out_at(in.size());
  for (size_t i = 0; i < order.size(); ++i) {
    in_at[i] = &in[order[i].second];
    out_at[i] = &out[order[i].second];
  }
  for (size_t begin = 0, end = 0; begin < order.size(); begin = end) {
    for (end = begin; end < order.size() && order[end].first == order[begin].first;) ++end;
    in_lanes(in_at.data() + begin, out_at.data() + begin, end - begin, order[begin].first);
  }
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
  if (cpu_extensions && sha256_65_uses_cpu_extensions()) return in_lanes(in, out);
#endif
  one_by_one(in, out);
}

void sha256_many(std::span<const ByteView> in, std::span<Digest> out, bool cpu_extensions) {
  if (out.size() < in.size()) throw std::invalid_argument("sha256_many: fewer outputs than inputs");
#if defined(__x86_64__)
  if (cpu_extensions && sha256_65_uses_cpu_extensions()) return in_lanes(in, out);
#endif
  one_by_one(in, out);
}

}  // namespace guts::crypto
