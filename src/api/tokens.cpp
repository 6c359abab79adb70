#include "api/tokens.h"

#include <algorithm>

#include "api/scopes.h"
#include "codec/codec.h"
#include "crypto/hash.h"
#include "state/field_codec.h"

namespace guts::api {

namespace {
constexpr std::string_view kPrefix = "token/";
constexpr size_t kMaxNote = 1024;
constexpr size_t kMaxScopes = 64;
constexpr size_t kMaxScopeBytes = 64;
constexpr size_t kMaxRepos = 1000;

std::string token_id(std::string_view hash_bytes) {
  return hex_encode(as_bytes(hash_bytes.substr(0, 8)));
}
}  // namespace

std::vector<std::string> TokenInfo::granted_scopes() const {
  return kind == TokenKind::kLogin ? known_scopes() : scopes;
}

bool TokenInfo::allows_repo(uint64_t id) const {
  return repo_ids.empty() || std::find(repo_ids.begin(), repo_ids.end(), id) != repo_ids.end();
}

std::string TokenStore::key_for(std::string_view token) {
  auto h = crypto::sha256(token);
  return std::string(kPrefix) + std::string(h.begin(), h.end());
}

TokenInfo decode_token_record(std::string_view value) {
  codec::Reader r(as_bytes(value));
  TokenInfo info;
  info.owner = r.fixed<32>();
  info.created_ms = r.varint();
  if (!r.done()) {
    uint8_t kind = r.u8();
    if (kind > 1) throw codec::DecodeError("unknown token kind");
    info.kind = static_cast<TokenKind>(kind);
    info.note = r.str(kMaxNote, "note");
    info.scopes = state::field::get_strs(r, kMaxScopes, kMaxScopeBytes, "scopes");
    info.expires_ms = r.varint();
    info.repo_ids = state::field::get_u64s(r, kMaxRepos, "repositories");
  }
  r.finish();
  return info;
}

std::string TokenStore::store(const crypto::PublicKey& owner, uint64_t now_ms, TokenKind kind,
                              const PersonalTokenSpec& spec, TokenInfo* info) {
  auto secret = crypto::random_array<32>();
  std::string token = "guts_" + hex_encode(secret);
  codec::Writer w;
  w.fixed(owner).varint(now_ms);
  if (kind == TokenKind::kPersonal) {
    w.u8(static_cast<uint8_t>(kind)).str(spec.note);
    state::field::put_strs(w, spec.scopes);
    w.varint(spec.expires_ms);
    state::field::put_u64s(w, spec.repo_ids);
  }
  std::string key = key_for(token);
  db_.put(cf_, key, to_string(w.data()), /*sync=*/true);
  TokenInfo issued = decode_token_record(to_string(w.data()));
  issued.id = token_id(std::string_view(key).substr(kPrefix.size()));
  if (listener_) listener_("token.create", issued);
  if (info) *info = issued;
  return token;
}

std::string TokenStore::issue(const crypto::PublicKey& owner, uint64_t now_ms, TokenInfo* info) {
  return store(owner, now_ms, TokenKind::kLogin, {}, info);
}

std::string TokenStore::issue_personal(const crypto::PublicKey& owner,
                                       const PersonalTokenSpec& spec, uint64_t now_ms,
                                       TokenInfo* info) {
  return store(owner, now_ms, TokenKind::kPersonal, spec, info);
}

std::optional<TokenInfo> TokenStore::lookup(std::string_view token) const {
  if (token.size() != 69 || token.substr(0, 5) != "guts_") return std::nullopt;
  std::string key = key_for(token);
  auto v = db_.get(cf_, key);
  if (!v) return std::nullopt;
  TokenInfo info = decode_token_record(*v);
  info.id = token_id(std::string_view(key).substr(kPrefix.size()));
  return info;
}

std::optional<TokenInfo> TokenStore::lookup_hash(std::string_view sha256) const {
  if (sha256.size() != 32) return std::nullopt;
  std::string key = std::string(kPrefix) + std::string(sha256);
  auto v = db_.get(cf_, key);
  if (!v) return std::nullopt;
  TokenInfo info = decode_token_record(*v);
  info.id = token_id(sha256);
  return info;
}

std::string TokenStore::hash_of(std::string_view token) {
  return key_for(token).substr(kPrefix.size());
}

void TokenStore::erase(const std::string& key, const TokenInfo& info) {
  storage::Batch b;
  b.del(cf_, key);
  db_.write(b, true);
  if (listener_) listener_("token.revoke", info);
}

bool TokenStore::revoke(std::string_view token) {
  auto info = lookup(token);
  if (!info) return false;
  erase(key_for(token), *info);
  return true;
}

std::vector<TokenInfo> TokenStore::list(const crypto::PublicKey& owner) const {
  std::vector<TokenInfo> out;
  db_.scan_prefix(cf_, kPrefix, [&](std::string_view key, std::string_view value) {
    TokenInfo info = decode_token_record(value);
    if (info.owner == owner) {
      info.id = token_id(key.substr(kPrefix.size()));
      out.push_back(std::move(info));
    }
    return true;
  });
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.created_ms < b.created_ms; });
  return out;
}

bool TokenStore::revoke_id(const crypto::PublicKey& owner, std::string_view id) {
  std::optional<std::pair<std::string, TokenInfo>> found;
  db_.scan_prefix(cf_, kPrefix, [&](std::string_view key, std::string_view value) {
    if (token_id(key.substr(kPrefix.size())) != id) return true;
    TokenInfo info = decode_token_record(value);
    info.id = std::string(id);
    if (info.owner == owner) found.emplace(std::string(key), std::move(info));
    return false;
  });
  if (!found) return false;
  erase(found->first, found->second);
  return true;
}

}  // namespace guts::api
