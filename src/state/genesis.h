// The genesis of a Guts network: chain id, validator set and consensus parameters. The
// single-node default writes a one-validator genesis on first start (docs/operator.md).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"

namespace guts::state {

struct Validator {
  crypto::PublicKey key{};
  std::string p2p_address;  // host:port, may be empty for a single node
};

// An identity registered at genesis, with its username and (optionally) repositories: a network
// can start with its maintainers and their projects in place.
struct GenesisAccount {
  crypto::PublicKey key{};
  std::string username;
  std::vector<std::string> repositories;  // names; public, default branch "main"
};

// A network governed by an organization (state/validator_set.h): the organization `login` is
// created with the genesis, owned by the genesis accounts named in `owners` (the first creates
// it), and its owners may change the validator set at multiples of `epoch_length` blocks.
struct GenesisGovernance {
  std::string organization;
  std::vector<std::string> owners;  // usernames of genesis accounts
  uint64_t epoch_length = 0;
};

struct Genesis {
  std::string chain_id;
  uint64_t genesis_time_ms = 0;
  std::vector<Validator> validators;
  uint64_t leader_timeout_ms = 1000;
  uint64_t certification_timeout_ms = 2000;
  uint64_t timeout_retry_ms = 10000;
  std::vector<GenesisAccount> accounts;         // applied before block 1, in order
  std::optional<GenesisGovernance> governance;  // absent: the validator set never changes

  // Canonical encoding; the genesis id (parent of block 1) is its SHA-256. The accounts and the
  // governance are appended only when present, so a genesis without them keeps its id.
  Bytes encode() const;
  Digest id() const;
  // The state root before block 1 (commits to the accounts through the id).
  Digest initial_state_root() const;

  std::string to_json() const;
  static Genesis from_json(std::string_view text);  // throws guts::Error on invalid input
  static Genesis load(const std::filesystem::path& path);
  void save(const std::filesystem::path& path) const;

  // A new one-validator network with a random chain id.
  static Genesis single_validator(const crypto::PublicKey& validator, uint64_t now_ms);
};

}  // namespace guts::state
