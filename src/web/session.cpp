#include "web/session.h"

#include <algorithm>

#include "codec/codec.h"
#include "core/bytes.h"
#include "crypto/hash.h"

namespace guts::web {

namespace {

constexpr std::string_view kSessionPrefix = "websession/";
constexpr std::string_view kDevicePrefix = "webdevice/";
constexpr std::string_view kCodePrefix = "webcode/";
constexpr size_t kMaxAgent = 200;
constexpr size_t kMaxTokenHash = 32;
// User codes: consonants only (no words, no 0/O or 1/I confusion), 20^8 ≈ 2.6e10 codes.
constexpr std::string_view kCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ";

std::string hex_id(std::string_view hash) {
  return hex_encode(as_bytes(hash.substr(0, 8)));
}

std::string utf8_prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

}  // namespace

std::optional<std::string> SessionStore::key_hash(std::string_view hex_secret) {
  if (hex_secret.size() != 64) return std::nullopt;
  auto raw = hex_decode_fixed<32>(hex_secret);
  if (!raw) return std::nullopt;
  auto h = crypto::sha256(ByteView(*raw));
  return std::string(h.begin(), h.end());
}

std::string SessionStore::id_of(std::string_view cookie) {
  auto h = key_hash(cookie);
  return h ? hex_id(*h) : std::string();
}

SessionInfo decode_session_record(std::string_view value) {
  codec::Reader r(as_bytes(value));
  SessionInfo s;
  s.owner = r.fixed<32>();
  s.created_ms = r.varint();
  s.expires_ms = r.varint();
  uint8_t kind = r.u8();
  if (kind > 1) throw codec::DecodeError("unknown session kind");
  s.kind = static_cast<SessionKind>(kind);
  s.token_hash = to_string(r.bytes(kMaxTokenHash, "token hash"));  // raw bytes, not UTF-8
  s.agent = r.str(kMaxAgent, "agent");
  r.finish();
  return s;
}

std::string SessionStore::open(const crypto::PublicKey& owner, SessionKind kind,
                               std::string_view token_hash, std::string_view agent, uint64_t now_ms,
                               uint64_t lifetime_ms, SessionInfo* info) {
  auto secret = crypto::random_array<32>();
  std::string cookie = hex_encode(secret);
  codec::Writer w;
  w.fixed(owner).varint(now_ms).varint(now_ms + lifetime_ms).u8(static_cast<uint8_t>(kind));
  w.str(token_hash.substr(0, kMaxTokenHash)).str(utf8_prefix(agent, kMaxAgent));
  std::string hash = *key_hash(cookie);
  db_.put(cf_, std::string(kSessionPrefix) + hash, to_string(w.data()), /*sync=*/true);
  if (info) {
    *info = decode_session_record(to_string(w.data()));
    info->id = hex_id(hash);
  }
  return cookie;
}

std::optional<SessionInfo> SessionStore::lookup(std::string_view cookie, uint64_t now_ms) {
  auto hash = key_hash(cookie);
  if (!hash) return std::nullopt;
  std::string key = std::string(kSessionPrefix) + *hash;
  auto v = db_.get(cf_, key);
  if (!v) return std::nullopt;
  SessionInfo s = decode_session_record(*v);
  if (s.expired(now_ms)) {
    storage::Batch b;
    b.del(cf_, key);
    db_.write(b, false);
    return std::nullopt;
  }
  s.id = hex_id(*hash);
  return s;
}

bool SessionStore::close(std::string_view cookie) {
  auto hash = key_hash(cookie);
  if (!hash) return false;
  std::string key = std::string(kSessionPrefix) + *hash;
  if (!db_.get(cf_, key)) return false;
  storage::Batch b;
  b.del(cf_, key);
  db_.write(b, true);
  return true;
}

std::vector<SessionInfo> SessionStore::list(const crypto::PublicKey& owner, uint64_t now_ms) const {
  std::vector<SessionInfo> out;
  db_.scan_prefix(cf_, kSessionPrefix, [&](std::string_view key, std::string_view value) {
    SessionInfo s = decode_session_record(value);
    if (s.owner == owner && !s.expired(now_ms)) {
      s.id = hex_id(key.substr(kSessionPrefix.size()));
      out.push_back(std::move(s));
    }
    return true;
  });
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.created_ms < b.created_ms; });
  return out;
}

bool SessionStore::revoke_id(const crypto::PublicKey& owner, std::string_view id) {
  std::optional<std::string> found;
  db_.scan_prefix(cf_, kSessionPrefix, [&](std::string_view key, std::string_view value) {
    if (hex_id(key.substr(kSessionPrefix.size())) != id) return true;
    if (decode_session_record(value).owner == owner) found.emplace(key);
    return false;
  });
  if (!found) return false;
  storage::Batch b;
  b.del(cf_, *found);
  db_.write(b, true);
  return true;
}

std::optional<std::string> SessionStore::normalize_code(std::string_view code) {
  std::string out;
  size_t letters = 0;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (kCodeAlphabet.find(u) == std::string_view::npos || letters == 8) return std::nullopt;
    out += u;
    if (++letters == 4) out += '-';
  }
  if (letters != 8) return std::nullopt;
  return out;
}

std::string SessionStore::start_device(uint64_t now_ms, std::string* code) {
  std::string c;
  for (int attempt = 0;; ++attempt) {
    auto r = crypto::random_array<8>();
    c.clear();
    for (size_t i = 0; i < r.size(); ++i) {
      if (i == 4) c += '-';
      c += kCodeAlphabet[r[i] % kCodeAlphabet.size()];  // 256 % 20 = 16: a slight, harmless bias
    }
    auto taken = db_.get(cf_, std::string(kCodePrefix) + c);
    if (!taken || attempt > 8) break;
  }
  auto secret = crypto::random_array<32>();
  std::string cookie = hex_encode(secret);
  std::string hash = *key_hash(cookie);
  codec::Writer w;
  w.str(c).varint(now_ms).varint(now_ms + kDeviceCodeLifetimeMs).u8(0);
  storage::Batch b;
  b.put(cf_, std::string(kDevicePrefix) + hash, to_string(w.data()));
  b.put(cf_, std::string(kCodePrefix) + c, hash);
  db_.write(b, true);
  if (code) *code = c;
  return cookie;
}

namespace {
DeviceRequest decode_device(std::string_view value) {
  codec::Reader r(as_bytes(value));
  DeviceRequest d;
  d.code = r.str(16, "code");
  d.created_ms = r.varint();
  d.expires_ms = r.varint();
  if (r.u8()) d.approved_by = r.fixed<32>();
  r.finish();
  return d;
}
}  // namespace

std::optional<DeviceRequest> SessionStore::device(std::string_view secret, uint64_t now_ms) const {
  auto hash = key_hash(secret);
  if (!hash) return std::nullopt;
  auto v = db_.get(cf_, std::string(kDevicePrefix) + *hash);
  if (!v) return std::nullopt;
  DeviceRequest d = decode_device(*v);
  if (now_ms >= d.expires_ms) return std::nullopt;
  return d;
}

bool SessionStore::approve(std::string_view code, const crypto::PublicKey& owner, uint64_t now_ms) {
  auto c = normalize_code(code);
  if (!c) return false;
  auto hash = db_.get(cf_, std::string(kCodePrefix) + *c);
  if (!hash) return false;
  std::string key = std::string(kDevicePrefix) + *hash;
  auto v = db_.get(cf_, key);
  if (!v) return false;
  DeviceRequest d = decode_device(*v);
  if (now_ms >= d.expires_ms || d.approved_by) return false;
  codec::Writer w;
  w.str(d.code).varint(d.created_ms).varint(d.expires_ms).u8(1).fixed(owner);
  db_.put(cf_, key, to_string(w.data()), /*sync=*/true);
  return true;
}

void SessionStore::finish_device(std::string_view secret) {
  auto hash = key_hash(secret);
  if (!hash) return;
  std::string key = std::string(kDevicePrefix) + *hash;
  auto v = db_.get(cf_, key);
  storage::Batch b;
  if (v) b.del(cf_, std::string(kCodePrefix) + decode_device(*v).code);
  b.del(cf_, key);
  db_.write(b, true);
}

std::string set_cookie(std::string_view name, std::string_view value, uint64_t max_age_s,
                       bool secure) {
  std::string c(name);
  c += '=';
  c += value;
  c += "; Path=/; Max-Age=" + std::to_string(max_age_s) + "; HttpOnly; SameSite=Lax";
  if (secure) c += "; Secure";
  return c;
}

}  // namespace guts::web
