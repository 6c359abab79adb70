// Reading and applying a private repository's seeds (layout in state/repo_seeds.h).
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "crypto/ed25519.h"
#include "state/kv.h"
#include "state/repo_seeds.h"
#include "state/view.h"

namespace guts::state {

struct Transaction;

// The repository's seed nodes, ascending.
std::vector<crypto::PublicKey> repo_seeds(const StateView& view, uint64_t repo_id);
bool is_repo_seed(const StateView& view, uint64_t repo_id, const crypto::PublicKey& node);

// Validity and application of kind 42 (admin on the repository; keys valid). Rejections leave
// `state` untouched.
Status apply_set_repo_seeds(const Schema& schema, Overlay& state, const Transaction& tx,
                            const SetRepoSeeds& body);

}  // namespace guts::state
