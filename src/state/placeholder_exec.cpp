// Kinds 65 claim_placeholder and 66 confirm_placeholder, and the reads REST uses to show a
// migrated item's claimed author (state/placeholder.h).
#include <algorithm>

#include "crypto/did.h"
#include "state/permission.h"
#include "state/placeholder_state.h"
#include "state/rejections.h"
#include "state/tx.h"

namespace guts::state {

namespace {

std::optional<std::string> name_error(std::string_view host, std::string_view login) {
  if (auto e = placeholder_host_error(host)) return e;
  return placeholder_login_error(login);
}

}  // namespace

std::vector<std::pair<crypto::PublicKey, PlaceholderClaim>> placeholder_claims(
    const StateView& view, std::string_view host, std::string_view login) {
  std::vector<std::pair<crypto::PublicKey, PlaceholderClaim>> out;
  auto prefix = placeholder_claim_prefix(host, login);
  view.kv().scan_prefix(
      view.schema().governance, prefix, [&](std::string_view key, std::string_view value) {
        if (key.size() == prefix.size() + 32) {
          crypto::PublicKey k{};
          std::copy(key.begin() + static_cast<ptrdiff_t>(prefix.size()), key.end(), k.begin());
          out.emplace_back(k, decode_placeholder_claim(value));
        }
        return true;
      });
  return out;
}

std::optional<PlaceholderClaim> placeholder_claim(const StateView& view, std::string_view host,
                                                  std::string_view login,
                                                  const crypto::PublicKey& claimant) {
  auto v = view.kv().get(view.schema().governance, placeholder_claim_key(host, login, claimant));
  if (!v) return std::nullopt;
  return decode_placeholder_claim(*v);
}

std::vector<NamedConfirmation> placeholder_confirmations(const StateView& view, uint64_t repo_id) {
  std::vector<NamedConfirmation> out;
  auto prefix = placeholder_confirmation_prefix(repo_id);
  view.kv().scan_prefix(
      view.schema().governance, prefix, [&](std::string_view key, std::string_view value) {
        std::string_view rest = key.substr(prefix.size());
        if (rest.empty() || rest.size() != size_t{1} + static_cast<uint8_t>(rest[0])) return true;
        std::string_view name = rest.substr(1);
        auto slash = name.find('/');
        if (slash == std::string_view::npos) return true;
        out.push_back({std::string(name.substr(0, slash)), std::string(name.substr(slash + 1)),
                       decode_placeholder_confirmation(value)});
        return true;
      });
  return out;
}

std::optional<PlaceholderConfirmation> placeholder_confirmation(const StateView& view,
                                                                uint64_t repo_id,
                                                                std::string_view host,
                                                                std::string_view login) {
  auto v =
      view.kv().get(view.schema().governance, placeholder_confirmation_key(repo_id, host, login));
  if (!v) return std::nullopt;
  return decode_placeholder_confirmation(*v);
}

std::optional<crypto::PublicKey> claimed_author(const StateView& view, uint64_t repo_id,
                                                const crypto::PublicKey& author,
                                                std::string_view body) {
  auto origin = parse_origin_author(body);
  if (!origin) return std::nullopt;
  auto c = placeholder_confirmation(view, repo_id, origin->host, origin->login);
  if (!c || c->migrator != author) return std::nullopt;
  if (!placeholder_claim(view, origin->host, origin->login, c->claimant)) return std::nullopt;
  return c->claimant;
}

Status apply_claim_placeholder(const Schema& s, Overlay& state, const Transaction& tx,
                               const ClaimPlaceholder& b, uint64_t now_ms) {
  StateView view(s, state);
  if (auto e = name_error(b.host, b.login)) return reject::invalid(*e);
  if (!view.account(tx.author))
    return reject::denied("only a registered user can claim a placeholder identity");
  const auto key = placeholder_claim_key(b.host, b.login, tx.author);
  const bool have = view.kv().get(s.governance, key).has_value();
  const auto name = placeholder_name(b.host, b.login);
  if (b.withdraw) {
    if (!b.proof_url.empty()) return reject::invalid("proof_url: must be empty when withdrawing");
    if (!have) return reject::not_found("you have no claim of " + name);
    state.del(s.governance, key);
    return Status::Ok();
  }
  if (auto e = proof_url_error(b.proof_url)) return reject::invalid(*e);
  if (have) return reject::taken("you already claim " + name + " (withdraw it first)");
  state.put(s.governance, key, encode_placeholder_claim({b.proof_url, now_ms}));
  return Status::Ok();
}

Status apply_confirm_placeholder(const Schema& s, Overlay& state, const Transaction& tx,
                                 const ConfirmPlaceholder& b, uint64_t now_ms) {
  StateView view(s, state);
  if (auto st = require_repo_admin(view, b.repo_id, tx.author); !st.ok()) return st;
  if (auto e = name_error(b.host, b.login)) return reject::invalid(*e);
  const auto name = placeholder_name(b.host, b.login);
  const auto key = placeholder_confirmation_key(b.repo_id, b.host, b.login);
  if (!b.confirm) {
    if (!view.kv().get(s.governance, key))
      return reject::not_found(name + " is not confirmed in this repository");
    state.del(s.governance, key);
    return Status::Ok();
  }
  if (!placeholder_claim(view, b.host, b.login, b.claimant))
    return reject::not_found(crypto::did_from_key(b.claimant) + " does not claim " + name);
  if (!view.account(b.migrator))
    return reject::invalid("migrator: " + crypto::did_from_key(b.migrator) +
                           " is not a registered user");
  state.put(s.governance, key,
            encode_placeholder_confirmation({b.claimant, b.migrator, tx.author, now_ms}));
  return Status::Ok();
}

}  // namespace guts::state
