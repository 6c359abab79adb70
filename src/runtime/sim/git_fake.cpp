#include "runtime/sim/git_fake.h"

#include <cstring>

namespace guts::runtime::sim {

namespace {
uint32_t rol(uint32_t x, int k) {
  return (x << k) | (x >> (32 - k));
}
int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}
bool parse_hex_oid(std::string_view s, Oid* out) {
  if (s.size() < 40) return false;
  for (size_t i = 0; i < 20; ++i) {
    int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);
    if (a < 0 || b < 0) return false;
    (*out)[i] = static_cast<uint8_t>(a << 4 | b);
  }
  return true;
}
}  // namespace

Oid sha1(ByteView data) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  Bytes m(data.begin(), data.end());
  uint64_t bits = static_cast<uint64_t>(data.size()) * 8;
  m.push_back(0x80);
  while (m.size() % 64 != 56) m.push_back(0);
  for (int i = 7; i >= 0; --i) m.push_back(static_cast<uint8_t>(bits >> (8 * i)));
  for (size_t off = 0; off < m.size(); off += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i) {
      w[i] = uint32_t{m[off + 4 * i]} << 24 | uint32_t{m[off + 4 * i + 1]} << 16 |
             uint32_t{m[off + 4 * i + 2]} << 8 | uint32_t{m[off + 4 * i + 3]};
    }
    for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDC;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6;
      }
      uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rol(b, 30);
      b = a;
      a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
  Oid out;
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 4; ++j) out[4 * i + j] = static_cast<uint8_t>(h[i] >> (24 - 8 * j));
  }
  return out;
}

Oid object_id(const std::string& type, ByteView content) {
  std::string head = type + " " + std::to_string(content.size());
  Bytes all(head.begin(), head.end());
  all.push_back(0);
  all.insert(all.end(), content.begin(), content.end());
  return sha1(all);
}

std::string oid_hex(const Oid& oid) {
  return hex_encode(ByteView(oid.data(), oid.size()));
}
Bytes oid_bytes(const Oid& oid) {
  return Bytes(oid.begin(), oid.end());
}
Oid oid_from_bytes(ByteView b) {
  Oid o{};
  if (b.size() == 20) std::memcpy(o.data(), b.data(), 20);
  return o;
}

const GitObject* GitStore::get(const Oid& oid) const {
  auto it = objects_.find(oid);
  return it == objects_.end() ? nullptr : &it->second;
}

Oid GitStore::put(GitObject obj) {
  Oid id = object_id(obj.type, obj.content);
  objects_.emplace(id, std::move(obj));
  return id;
}

std::vector<Oid> references(const GitObject& obj) {
  std::vector<Oid> out;
  std::string_view s(reinterpret_cast<const char*>(obj.content.data()), obj.content.size());
  if (obj.type == "commit") {
    while (!s.empty() && s.front() != '\n') {
      size_t nl = s.find('\n');
      std::string_view line = s.substr(0, nl);
      Oid o;
      if (line.rfind("tree ", 0) == 0 && parse_hex_oid(line.substr(5), &o)) out.push_back(o);
      if (line.rfind("parent ", 0) == 0 && parse_hex_oid(line.substr(7), &o)) out.push_back(o);
      if (nl == std::string_view::npos) break;
      s.remove_prefix(nl + 1);
    }
  } else if (obj.type == "tree") {
    // Entries: "<mode> <name>\0" + 20 raw bytes.
    size_t i = 0;
    while (i < obj.content.size()) {
      size_t z = i;
      while (z < obj.content.size() && obj.content[z] != 0) ++z;
      if (z + 21 > obj.content.size()) break;
      out.push_back(oid_from_bytes(ByteView(obj.content.data() + z + 1, 20)));
      i = z + 21;
    }
  }
  return out;
}

GitObject make_blob(std::string_view text) {
  return GitObject{"blob", Bytes(text.begin(), text.end())};
}

GitObject make_tree(const std::string& name, const Oid& blob) {
  std::string head = "100644 " + name;
  Bytes c(head.begin(), head.end());
  c.push_back(0);
  c.insert(c.end(), blob.begin(), blob.end());
  return GitObject{"tree", std::move(c)};
}

GitObject make_commit(const Oid& tree, const Oid* parent, std::string_view message) {
  std::string s = "tree " + oid_hex(tree) + "\n";
  if (parent) s += "parent " + oid_hex(*parent) + "\n";
  s += "author sim <sim@guts> 0 +0000\ncommitter sim <sim@guts> 0 +0000\n\n";
  s += message;
  s += "\n";
  return GitObject{"commit", Bytes(s.begin(), s.end())};
}

}  // namespace guts::runtime::sim
