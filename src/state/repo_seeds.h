// Private repositories' seeds (issue 14 point 6; docs/git.md "Private repositories").
//
// A private repository's git objects are replicated only to the validators (they vote on every
// push and must hold its objects) and to the nodes its policy names: its seeds. Transaction
// kind 42 `set_repo_seeds` replaces the list (admin permission on the repository, computed by
// state::effective_permission); an empty list removes it. Public repositories ignore the list
// (their objects go to every node) but keep it, so that making one private applies it at once.
//
// Body (docs/protocol.md §3): repo_id varint | count ‖ node pk32 × n (n ≤ kMaxRepoSeeds,
// strictly increasing: canonical).
//
// Layout, in the `governance` family (tag next to state/org_view.cpp's):
//   P·be64(repo)·node pk32   → ""   (one entry per seed node)
// Repository ids are never reused, so a deleted repository's entries are inert.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "crypto/ed25519.h"

namespace guts::state {

inline constexpr size_t kMaxRepoSeeds = 64;

struct SetRepoSeeds {
  uint64_t repo_id = 0;
  std::vector<crypto::PublicKey> seeds;  // sorted, unique
};

void encode_repo_seeds_body(codec::Writer& w, const SetRepoSeeds& b);
// Throws codec::DecodeError (over the bound, unsorted or repeated keys).
SetRepoSeeds decode_repo_seeds_body(codec::Reader& r);

std::string repo_seed_prefix(uint64_t repo_id);
std::string repo_seed_key(uint64_t repo_id, const crypto::PublicKey& node);

}  // namespace guts::state
