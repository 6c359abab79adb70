// Records stored in the state column families, with their canonical encodings.
#pragma once

#include <cstdint>
#include <string>

#include "core/bytes.h"
#include "crypto/ed25519.h"

namespace guts::state {

struct Account {
  uint64_t id = 0;  // sequential, assigned at registration (GitHub's numeric user id)
  crypto::PublicKey key{};
  std::string username;
  uint64_t registered_ms = 0;
  // An organization (state/org.h): `key` is org_key(id), which nobody can sign for. Encoded as
  // a trailing kind byte (1) that user records do not have, so their encoding is unchanged.
  bool is_org = false;
};

struct Delegation {
  crypto::PublicKey author{};
  crypto::PublicKey node{};
  uint64_t scopes = 0;
  uint64_t expires_ms = 0;
  uint64_t granted_ms = 0;
};

struct Repo {
  uint64_t id = 0;
  crypto::PublicKey owner{};
  std::string name;
  std::string description;
  bool is_private = false;
  std::string default_branch;
  bool allow_force_push = true;  // GitHub's default without branch protection
  uint64_t created_ms = 0;
  uint64_t updated_ms = 0;
  uint64_t pushed_ms = 0;
};

std::string encode_account(const Account& a);
Account decode_account(std::string_view data);
std::string encode_delegation(const Delegation& d);
Delegation decode_delegation(std::string_view data);
std::string encode_repo(const Repo& r);
Repo decode_repo(std::string_view data);

}  // namespace guts::state
