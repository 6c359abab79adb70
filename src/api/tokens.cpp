#include "api/tokens.h"

#include "codec/codec.h"
#include "crypto/hash.h"

namespace guts::api {

namespace {
constexpr std::string_view kPrefix = "token/";
std::string token_id(const Digest& h) {
  return hex_encode(ByteView(h).first(8));
}
}  // namespace

std::string TokenStore::key_for(std::string_view token) {
  auto h = crypto::sha256(token);
  return std::string(kPrefix) + std::string(h.begin(), h.end());
}

std::string TokenStore::issue(const crypto::PublicKey& owner, uint64_t now_ms, TokenInfo* info) {
  auto secret = crypto::random_array<32>();
  std::string token = "guts_" + hex_encode(secret);
  codec::Writer w;
  w.fixed(owner).varint(now_ms);
  db_.put(cf_, key_for(token), to_string(w.data()), /*sync=*/true);
  TokenInfo issued{token_id(crypto::sha256(token)), owner, now_ms};
  if (listener_) listener_("token.create", issued);
  if (info) *info = issued;
  return token;
}

std::optional<TokenInfo> TokenStore::lookup(std::string_view token) const {
  if (token.size() != 69 || token.substr(0, 5) != "guts_") return std::nullopt;
  auto v = db_.get(cf_, key_for(token));
  if (!v) return std::nullopt;
  codec::Reader r(as_bytes(*v));
  TokenInfo info;
  info.owner = r.fixed<32>();
  info.created_ms = r.varint();
  info.id = token_id(crypto::sha256(token));
  return info;
}

bool TokenStore::revoke(std::string_view token) {
  auto info = lookup(token);
  if (!info) return false;
  storage::Batch b;
  b.del(cf_, key_for(token));
  db_.write(b, true);
  if (listener_) listener_("token.revoke", *info);
  return true;
}

}  // namespace guts::api
