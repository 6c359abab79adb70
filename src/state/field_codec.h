// Encoders for the optional and list fields of transaction bodies and records
// (docs/protocol.md §3): one place, so every body encodes "absent" the same way.
//
// An optional field is a boolean presence flag followed by the value when present.
// A list is a varint count (bounded when decoding) followed by its items.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "crypto/ed25519.h"

namespace guts::state::field {

inline void put_opt_str(codec::Writer& w, const std::optional<std::string>& v) {
  w.boolean(v.has_value());
  if (v) w.str(*v);
}
inline std::optional<std::string> get_opt_str(codec::Reader& r, size_t max, const char* what) {
  if (!r.boolean()) return std::nullopt;
  return r.str(max, what);
}
inline void put_opt_u64(codec::Writer& w, const std::optional<uint64_t>& v) {
  w.boolean(v.has_value());
  if (v) w.varint(*v);
}
inline std::optional<uint64_t> get_opt_u64(codec::Reader& r) {
  if (!r.boolean()) return std::nullopt;
  return r.varint();
}
inline void put_opt_u8(codec::Writer& w, const std::optional<uint8_t>& v) {
  w.boolean(v.has_value());
  if (v) w.u8(*v);
}
inline std::optional<uint8_t> get_opt_u8(codec::Reader& r) {
  if (!r.boolean()) return std::nullopt;
  return r.u8();
}
inline void put_opt_bool(codec::Writer& w, const std::optional<bool>& v) {
  w.boolean(v.has_value());
  if (v) w.boolean(*v);
}
inline std::optional<bool> get_opt_bool(codec::Reader& r) {
  if (!r.boolean()) return std::nullopt;
  return r.boolean();
}
inline void put_opt_key(codec::Writer& w, const std::optional<crypto::PublicKey>& k) {
  w.boolean(k.has_value());
  if (k) w.fixed(*k);
}
inline std::optional<crypto::PublicKey> get_opt_key(codec::Reader& r) {
  if (!r.boolean()) return std::nullopt;
  return r.fixed<32>();
}

inline void put_strs(codec::Writer& w, const std::vector<std::string>& v) {
  w.varint(v.size());
  for (const auto& s : v) w.str(s);
}
inline std::vector<std::string> get_strs(codec::Reader& r, size_t max_items, size_t max_bytes,
                                         const char* what) {
  size_t n = r.count(max_items, what);
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(r.str(max_bytes, what));
  return out;
}
inline void put_keys(codec::Writer& w, const std::vector<crypto::PublicKey>& v) {
  w.varint(v.size());
  for (const auto& k : v) w.fixed(k);
}
inline std::vector<crypto::PublicKey> get_keys(codec::Reader& r, size_t max_items,
                                               const char* what) {
  size_t n = r.count(max_items, what);
  std::vector<crypto::PublicKey> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(r.fixed<32>());
  return out;
}
inline void put_u64s(codec::Writer& w, const std::vector<uint64_t>& v) {
  w.varint(v.size());
  for (auto x : v) w.varint(x);
}
inline std::vector<uint64_t> get_u64s(codec::Reader& r, size_t max_items, const char* what) {
  size_t n = r.count(max_items, what);
  std::vector<uint64_t> out(n);
  for (auto& x : out) x = r.varint();
  return out;
}

}  // namespace guts::state::field
