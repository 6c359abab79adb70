// Kinds 65-66 (placeholder claims): wire encodings, name rules, keys and the origin-line parser
// (state/placeholder.h).
#include "state/placeholder.h"

#include <algorithm>

#include "codec/codec.h"
#include "core/bytes.h"

namespace guts::state {

namespace {
constexpr uint8_t kRecordVersion = 1;
// The origin line is the first line of a body; nothing longer is an origin line.
constexpr size_t kMaxOriginLine = 4096;
constexpr std::string_view kOriginPrefix = "> Migrated from ";

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

std::string lp(std::string_view s) {
  std::string out(1, static_cast<char>(s.size()));
  out.append(s);
  return out;
}
}  // namespace

void encode_claim_placeholder(codec::Writer& w, const ClaimPlaceholder& b) {
  w.str(b.host).str(b.login).str(b.proof_url).boolean(b.withdraw);
}

ClaimPlaceholder decode_claim_placeholder(codec::Reader& r) {
  ClaimPlaceholder b;
  b.host = r.str(kMaxPlaceholderHost, "host");
  b.login = r.str(kMaxPlaceholderLogin, "login");
  b.proof_url = r.str(kMaxProofUrl, "proof_url");
  b.withdraw = r.boolean();
  return b;
}

void encode_confirm_placeholder(codec::Writer& w, const ConfirmPlaceholder& b) {
  w.varint(b.repo_id).str(b.host).str(b.login).fixed(b.claimant).fixed(b.migrator);
  w.boolean(b.confirm);
}

ConfirmPlaceholder decode_confirm_placeholder(codec::Reader& r) {
  ConfirmPlaceholder b;
  b.repo_id = r.varint();
  b.host = r.str(kMaxPlaceholderHost, "host");
  b.login = r.str(kMaxPlaceholderLogin, "login");
  b.claimant = r.fixed<32>();
  b.migrator = r.fixed<32>();
  b.confirm = r.boolean();
  return b;
}

std::string encode_placeholder_claim(const PlaceholderClaim& c) {
  codec::Writer w;
  w.u8(kRecordVersion).str(c.proof_url).varint(c.created_ms);
  return guts::to_string(w.data());
}

PlaceholderClaim decode_placeholder_claim(std::string_view data) {
  codec::Reader r(as_bytes(data));
  if (r.u8() != kRecordVersion) throw codec::DecodeError("unsupported placeholder claim version");
  PlaceholderClaim c;
  c.proof_url = r.str(kMaxProofUrl, "proof_url");
  c.created_ms = r.varint();
  r.finish();
  return c;
}

std::string encode_placeholder_confirmation(const PlaceholderConfirmation& c) {
  codec::Writer w;
  w.u8(kRecordVersion).fixed(c.claimant).fixed(c.migrator).fixed(c.confirmed_by);
  w.varint(c.confirmed_ms);
  return guts::to_string(w.data());
}

PlaceholderConfirmation decode_placeholder_confirmation(std::string_view data) {
  codec::Reader r(as_bytes(data));
  if (r.u8() != kRecordVersion)
    throw codec::DecodeError("unsupported placeholder confirmation version");
  PlaceholderConfirmation c;
  c.claimant = r.fixed<32>();
  c.migrator = r.fixed<32>();
  c.confirmed_by = r.fixed<32>();
  c.confirmed_ms = r.varint();
  r.finish();
  return c;
}

std::string placeholder_name(std::string_view host, std::string_view login) {
  std::string out(host);
  out.push_back('/');
  out.append(login);
  return out;
}

std::optional<std::string> placeholder_host_error(std::string_view host) {
  if (host.empty() || host.size() > kMaxPlaceholderHost)
    return "host: 1 to " + std::to_string(kMaxPlaceholderHost) + " characters";
  // DNS labels or an address, then an optional :port.
  auto colon = host.find(':');
  std::string_view name = host.substr(0, colon);
  if (name.empty() || name.front() == '.' || name.back() == '.' || name.front() == '-')
    return "host: not a host name";
  for (char c : name)
    if (!is_lower_alnum(c) && c != '.' && c != '-')
      return "host: only lower-case letters, digits, '.', '-' and an optional :port";
  if (colon != std::string_view::npos) {
    std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return "host: the port must be 1 to 5 digits";
  }
  return std::nullopt;
}

std::optional<std::string> placeholder_login_error(std::string_view login) {
  if (login.empty() || login.size() > kMaxPlaceholderLogin)
    return "login: 1 to " + std::to_string(kMaxPlaceholderLogin) + " characters";
  for (char c : login)
    if (!is_lower_alnum(c) && !(c >= 'A' && c <= 'Z') && c != '-' && c != '_' && c != '.')
      return "login: only letters, digits, '-', '_' and '.'";
  return std::nullopt;
}

std::optional<std::string> proof_url_error(std::string_view url) {
  if (url.size() > kMaxProofUrl)
    return "proof_url: at most " + std::to_string(kMaxProofUrl) + " characters";
  if (!url.starts_with("https://") && !url.starts_with("http://"))
    return "proof_url: an http(s) URL is required";
  for (char c : url)
    if (c <= ' ' || c > '~') return "proof_url: printable ASCII without spaces";
  return std::nullopt;
}

std::string placeholder_claim_prefix(std::string_view host, std::string_view login) {
  return "Yc" + lp(placeholder_name(host, login));
}

std::string placeholder_claim_key(std::string_view host, std::string_view login,
                                  const crypto::PublicKey& claimant) {
  return placeholder_claim_prefix(host, login) + std::string(claimant.begin(), claimant.end());
}

std::string placeholder_confirmation_prefix(uint64_t repo_id) {
  codec::Writer w;
  w.u64be(repo_id);
  return "Yk" + guts::to_string(w.data());
}

std::string placeholder_confirmation_key(uint64_t repo_id, std::string_view host,
                                         std::string_view login) {
  return placeholder_confirmation_prefix(repo_id) + lp(placeholder_name(host, login));
}

std::optional<OriginAuthor> parse_origin_author(std::string_view body) {
  if (!body.starts_with(kOriginPrefix)) return std::nullopt;
  std::string_view line = body.substr(0, std::min(body.size(), kMaxOriginLine + 1));
  line = line.substr(0, line.find('\n'));
  if (line.size() > kMaxOriginLine) return std::nullopt;
  // "… by @LOGIN (HOST) on DATE": the last " by @" (the URL has no spaces; WHAT is ours).
  auto by = line.rfind(" by @");
  if (by == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(by + 5);
  auto open = rest.find(" (");
  if (open == std::string_view::npos) return std::nullopt;
  auto close = rest.find(") on ", open);
  if (close == std::string_view::npos) return std::nullopt;
  OriginAuthor out{std::string(rest.substr(open + 2, close - open - 2)),
                   std::string(rest.substr(0, open))};
  if (placeholder_host_error(out.host) || placeholder_login_error(out.login)) return std::nullopt;
  return out;
}

}  // namespace guts::state
