// SSH public keys: parsing (OpenSSH one-line form), bodies of kinds 60-61 and the record
// (state/ssh_keys.h). Pure functions: no libssh, so that every validator decides alike.
#include "state/ssh_keys.h"

#include <algorithm>
#include <array>

#include "crypto/hash.h"

namespace guts::state {

namespace {

constexpr std::string_view kB64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Strict base64 (RFC 4648 alphabet, '=' padding optional but only at the end).
std::optional<Bytes> b64_decode(std::string_view s) {
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  if (s.size() % 4 == 1) return std::nullopt;
  std::array<int8_t, 256> rev;
  rev.fill(-1);
  for (size_t i = 0; i < kB64.size(); ++i)
    rev[static_cast<uint8_t>(kB64[i])] = static_cast<int8_t>(i);
  Bytes out;
  out.reserve(s.size() * 3 / 4);
  uint32_t acc = 0;
  int n = 0;
  for (char c : s) {
    int v = rev[static_cast<uint8_t>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    if (++n == 4) {
      out.push_back(static_cast<uint8_t>(acc >> 16));
      out.push_back(static_cast<uint8_t>(acc >> 8));
      out.push_back(static_cast<uint8_t>(acc));
      acc = 0;
      n = 0;
    }
  }
  if (n == 2) {
    if (acc & 0xf) return std::nullopt;  // non-canonical trailing bits
    out.push_back(static_cast<uint8_t>(acc >> 4));
  } else if (n == 3) {
    if (acc & 0x3) return std::nullopt;
    out.push_back(static_cast<uint8_t>(acc >> 10));
    out.push_back(static_cast<uint8_t>(acc >> 2));
  }
  return out;
}

std::string b64_encode(ByteView b, bool pad) {
  std::string out;
  out.reserve((b.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= b.size(); i += 3) {
    uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8) | b[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kB64[(v >> s) & 63]);
  }
  size_t rest = b.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{b[i]} << 16;
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    if (pad) out += "==";
  } else if (rest == 2) {
    uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8);
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(kB64[(v >> 6) & 63]);
    if (pad) out += "=";
  }
  return out;
}

// SSH wire "string": uint32 big-endian length, then the bytes.
struct WireReader {
  ByteView data;
  size_t pos = 0;
  std::optional<ByteView> string() {
    if (data.size() - pos < 4) return std::nullopt;
    uint32_t n = (uint32_t{data[pos]} << 24) | (uint32_t{data[pos + 1]} << 16) |
                 (uint32_t{data[pos + 2]} << 8) | data[pos + 3];
    pos += 4;
    if (data.size() - pos < n) return std::nullopt;
    ByteView v = data.subspan(pos, n);
    pos += n;
    return v;
  }
  bool done() const { return pos == data.size(); }
};

std::string_view text_of(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Bits of a positive mpint (SSH wire form: big-endian two's complement, minimal length).
std::optional<uint32_t> mpint_bits(ByteView v) {
  if (v.empty() || (v[0] & 0x80)) return std::nullopt;                   // zero or negative
  if (v.size() > 1 && v[0] == 0 && !(v[1] & 0x80)) return std::nullopt;  // not minimal
  size_t i = 0;
  while (i < v.size() && v[i] == 0) ++i;
  if (i == v.size()) return std::nullopt;
  uint32_t bits = static_cast<uint32_t>((v.size() - i - 1) * 8);
  for (uint8_t top = v[i]; top; top >>= 1) ++bits;
  return bits;
}

bool fail(std::string* error, const char* why) {
  if (error) *error = why;
  return false;
}

// Checks the blob against its declared type; sets key.bits.
bool check_blob(SshPublicKey& key, std::string* error) {
  WireReader r{key.blob};
  auto type = r.string();
  if (!type || text_of(*type) != key.type)
    return fail(error, "key type does not match the encoded key");
  if (key.type == "ssh-ed25519") {
    auto pk = r.string();
    if (!pk || pk->size() != 32 || !r.done()) return fail(error, "malformed ssh-ed25519 key");
    key.bits = 256;
    return true;
  }
  if (key.type.rfind("ecdsa-sha2-", 0) == 0) {
    std::string_view curve = std::string_view(key.type).substr(11);
    size_t point = curve == "nistp256"   ? 65
                   : curve == "nistp384" ? 97
                   : curve == "nistp521" ? 133
                                         : 0;
    if (point == 0) return fail(error, "unsupported ECDSA curve");
    auto id = r.string();
    auto q = r.string();
    if (!id || text_of(*id) != curve || !q || q->size() != point || (*q)[0] != 0x04 || !r.done())
      return fail(error, "malformed ECDSA key");
    key.bits = curve == "nistp256" ? 256 : curve == "nistp384" ? 384 : 521;
    return true;
  }
  if (key.type == "ssh-rsa") {
    auto e = r.string();
    auto n = r.string();
    if (!e || !n || !r.done()) return fail(error, "malformed ssh-rsa key");
    auto ebits = mpint_bits(*e);
    auto nbits = mpint_bits(*n);
    if (!ebits || !nbits || *ebits > 64 || ((*e)[e->size() - 1] & 1) == 0)
      return fail(error, "malformed ssh-rsa key");
    if (*nbits < kMinRsaBits) return fail(error, "RSA keys must have at least 2048 bits");
    if (*nbits > kMaxRsaBits) return fail(error, "RSA keys may have at most 16384 bits");
    key.bits = *nbits;
    return true;
  }
  return fail(error,
              "unsupported key type (use ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa)");
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::string be64(uint64_t v) {
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i) k[static_cast<size_t>(i)] = static_cast<char>(v >> (56 - 8 * i));
  return k;
}

}  // namespace

std::optional<SshPublicKey> parse_ssh_public_key(std::string_view text, std::string* error) {
  auto bad = [&](const char* why) -> std::optional<SshPublicKey> {
    fail(error, why);
    return std::nullopt;
  };
  if (text.size() > kMaxSshKeyText) return bad("key too long");
  while (!text.empty() && (is_space(text.back()) || text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  if (text.empty()) return bad("key is empty");
  for (char c : text)
    if (c == '\n' || c == '\r' || c == '\0') return bad("key must be one line");
  auto sp = std::find_if(text.begin(), text.end(), is_space);
  SshPublicKey key;
  key.type = std::string(text.begin(), sp);
  std::string_view rest(sp, text.end());
  while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
  auto sp2 = std::find_if(rest.begin(), rest.end(), is_space);
  std::string_view b64(rest.begin(), sp2);
  std::string_view comment(sp2, rest.end());
  while (!comment.empty() && is_space(comment.front())) comment.remove_prefix(1);
  if (b64.empty()) return bad("key data is missing (expected \"<type> <base64> [comment]\")");
  if (b64.size() > kMaxSshKeyBlob * 4 / 3 + 4) return bad("key too long");
  auto blob = b64_decode(b64);
  if (!blob) return bad("key data is not valid base64");
  key.blob = std::move(*blob);
  key.comment = std::string(comment);
  if (!check_blob(key, error)) return std::nullopt;
  return key;
}

std::string SshPublicKey::canonical() const {
  return type + " " + b64_encode(blob, true);
}

std::string SshPublicKey::fingerprint() const {
  auto d = crypto::sha256(blob);
  return "SHA256:" + b64_encode(d, false);
}

std::optional<crypto::PublicKey> SshPublicKey::ed25519() const {
  if (type != "ssh-ed25519" || blob.size() != 4 + 11 + 4 + 32) return std::nullopt;
  crypto::PublicKey pk;
  std::copy(blob.end() - 32, blob.end(), pk.begin());
  return pk;
}

Bytes ssh_ed25519_blob(const crypto::PublicKey& key) {
  Bytes b = {0, 0, 0, 11};
  for (char c : std::string_view("ssh-ed25519")) b.push_back(static_cast<uint8_t>(c));
  b.insert(b.end(), {0, 0, 0, 32});
  b.insert(b.end(), key.begin(), key.end());
  return b;
}

void encode_ssh_key_body(codec::Writer& w, const AddSshKey& b) {
  w.str(b.title).str(b.key);
}
void encode_ssh_key_body(codec::Writer& w, const DeleteSshKey& b) {
  w.varint(b.key_id);
}
AddSshKey decode_add_ssh_key_body(codec::Reader& r) {
  AddSshKey b;
  b.title = r.str(kMaxSshKeyTitle, "title");
  b.key = r.str(kMaxSshKeyText, "key");
  return b;
}
DeleteSshKey decode_delete_ssh_key_body(codec::Reader& r) {
  return DeleteSshKey{r.varint()};
}

Bytes encode_ssh_key(const SshKey& k) {
  codec::Writer w;
  w.varint(k.id).fixed(k.user).str(k.title).str(k.key).varint(k.created_ms);
  return w.take();
}

SshKey decode_ssh_key(ByteView data) {
  codec::Reader r(data);
  SshKey k;
  k.id = r.varint();
  k.user = r.fixed<32>();
  k.title = r.str(kMaxSshKeyTitle, "title");
  k.key = r.str(kMaxSshKeyText, "key");
  k.created_ms = r.varint();
  r.finish();
  return k;
}

std::string ssh_key_record_key(uint64_t id) {
  return "Ki" + be64(id);
}
std::string ssh_key_user_prefix(const crypto::PublicKey& user) {
  return "Ku" + std::string(user.begin(), user.end());
}
std::string ssh_key_user_key(const crypto::PublicKey& user, uint64_t id) {
  return ssh_key_user_prefix(user) + be64(id);
}
std::string ssh_key_fingerprint_key(ByteView blob) {
  auto d = crypto::sha256(blob);
  return "Kf" + std::string(d.begin(), d.end());
}

}  // namespace guts::state
