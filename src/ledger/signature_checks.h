// Ed25519 signature checks of many transactions at once, spread over a ComputePool (issue 19:
// each validator verifies every transaction once; a forwarded batch or a block of thousands
// should use every core, not one). Signatures are checked one by one with libsodium, in
// parallel: no batch verification (docs/design.md "Signatures: verified once, in parallel").
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "core/bytes.h"
#include "core/compute_pool.h"
#include "state/tx.h"

namespace guts::ledger {

// Per transaction of `txs`, whether its signature is good: known good by `known(id)` (checked
// earlier, e.g. at this node's door), else verified now on `pool` and the calling thread.
// `urgent`: ComputePool::run's (a block to vote on goes before a forwarded batch).
std::vector<char> check_signatures(ComputePool& pool, std::span<const state::Transaction> txs,
                                   const std::function<bool(const Digest&)>& known,
                                   bool urgent = false);

}  // namespace guts::ledger
