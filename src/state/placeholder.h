// Placeholder identities of migrated items, and how real people claim them (issue 18 point 5;
// docs/migrate.md "Authors: placeholder identities").
//
// `guts migrate` copies a source forge's issues, pull requests and comments under the identity
// that runs it, and names each item's source author in the body's first line, the origin line:
//   > Migrated from URL · WHAT by @LOGIN (HOST) on DATE
// `HOST/LOGIN` is a placeholder identity. Its owner claims it in two signed steps:
//   kind 65 `claim_placeholder` (by the claimant): "I am HOST/LOGIN", with a URL on the source
//     forge that shows it (a gist, a profile field naming the claimant's did:key). Anyone may
//     claim; a claim alone changes nothing that is shown.
//   kind 66 `confirm_placeholder` (by an admin of a repository): "in this repository, items that
//     MIGRATOR wrote with an origin line naming HOST/LOGIN are by CLAIMANT". The admin is the one
//     who checks the proof (validators cannot fetch URLs: state transitions must be
//     deterministic); the claimant's signature makes sure nobody is named without consent.
// REST (and the web) then show the claimant as the `user` of those items; the origin line stays
// as history. Only items *authored by the named migrator* are re-attributed, so a writer who
// types an origin line into a comment cannot borrow a claimed identity.
//
// Layout, in the `governance` family (tag "Y"):
//   Yc lp(HOST/LOGIN) claimant pk32 → PlaceholderClaim   (pending or confirmed claims)
//   Yk be64(repo) lp(HOST/LOGIN)    → PlaceholderConfirmation
// where lp(s) = u8 length ‖ s. Repository ids are never reused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/ed25519.h"

namespace guts::codec {
class Writer;
class Reader;
}  // namespace guts::codec

namespace guts::state {

inline constexpr size_t kMaxPlaceholderHost = 150;  // the name "HOST/LOGIN" fits a u8 length
inline constexpr size_t kMaxPlaceholderLogin = 100;
inline constexpr size_t kMaxPlaceholderName = kMaxPlaceholderHost + 1 + kMaxPlaceholderLogin;
inline constexpr size_t kMaxProofUrl = 2048;

// Kind 65, the claimant's own key (no delegation scope needed beyond `repo`). `withdraw` removes
// the author's claim (and with it every confirmation that names the author for this
// placeholder stops applying).
struct ClaimPlaceholder {
  std::string host;
  std::string login;
  std::string proof_url;  // empty when withdrawing
  bool withdraw = false;
};

// Kind 66, admin permission on the repository. `confirm = false` removes the confirmation.
struct ConfirmPlaceholder {
  uint64_t repo_id = 0;
  std::string host;
  std::string login;
  crypto::PublicKey claimant{};
  crypto::PublicKey migrator{};  // whose items are re-attributed (the identity that migrated)
  bool confirm = true;
};

struct PlaceholderClaim {
  std::string proof_url;
  uint64_t created_ms = 0;
};

struct PlaceholderConfirmation {
  crypto::PublicKey claimant{};
  crypto::PublicKey migrator{};
  crypto::PublicKey confirmed_by{};
  uint64_t confirmed_ms = 0;
};

void encode_claim_placeholder(codec::Writer& w, const ClaimPlaceholder& b);
ClaimPlaceholder decode_claim_placeholder(codec::Reader& r);  // throws codec::DecodeError
void encode_confirm_placeholder(codec::Writer& w, const ConfirmPlaceholder& b);
ConfirmPlaceholder decode_confirm_placeholder(codec::Reader& r);  // throws codec::DecodeError

std::string encode_placeholder_claim(const PlaceholderClaim& c);
PlaceholderClaim decode_placeholder_claim(std::string_view data);
std::string encode_placeholder_confirmation(const PlaceholderConfirmation& c);
PlaceholderConfirmation decode_placeholder_confirmation(std::string_view data);

// "HOST/LOGIN".
std::string placeholder_name(std::string_view host, std::string_view login);
// Why `host` / `login` / `proof_url` are not acceptable, or nullopt. Hosts are DNS names or
// addresses with an optional port (lower case); logins are GitHub-like ([A-Za-z0-9._-]); proof
// URLs are http(s) and printable ASCII.
std::optional<std::string> placeholder_host_error(std::string_view host);
std::optional<std::string> placeholder_login_error(std::string_view login);
std::optional<std::string> proof_url_error(std::string_view url);

std::string placeholder_claim_prefix(std::string_view host, std::string_view login);
std::string placeholder_claim_key(std::string_view host, std::string_view login,
                                  const crypto::PublicKey& claimant);
std::string placeholder_confirmation_prefix(uint64_t repo_id);
std::string placeholder_confirmation_key(uint64_t repo_id, std::string_view host,
                                         std::string_view login);

// The source author named by a migrated item's origin line (the body's first line, see the
// top of this file), or nullopt when the body has none. Reads at most the first line, bounded.
struct OriginAuthor {
  std::string host;
  std::string login;
};
std::optional<OriginAuthor> parse_origin_author(std::string_view body);

}  // namespace guts::state
