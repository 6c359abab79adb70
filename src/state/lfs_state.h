// Reading and applying Git LFS state (layout and rules in state/lfs.h).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/status.h"
#include "state/kv.h"
#include "state/lfs.h"
#include "state/view.h"

namespace guts::state {

struct Transaction;

// The size of object `oid` when repository `repo_id` has it.
std::optional<uint64_t> lfs_object_size(const StateView& view, uint64_t repo_id,
                                        const std::array<uint8_t, 32>& oid);
// The repository's LFS usage in bytes (sum of its objects' sizes).
uint64_t lfs_usage(const StateView& view, uint64_t repo_id);
// The sum over the repositories `owner` owns (the quota's unit).
uint64_t lfs_owner_usage(const StateView& view, const crypto::PublicKey& owner);
// The repository's locks, ascending id.
std::vector<LfsLock> lfs_locks(const StateView& view, uint64_t repo_id);
std::optional<LfsLock> lfs_lock(const StateView& view, uint64_t repo_id, uint64_t id);
std::optional<LfsLock> lfs_lock_by_path(const StateView& view, uint64_t repo_id,
                                        std::string_view path);

// Validity and application of kinds 49-51; a rejection leaves `state` untouched.
Status apply_lfs(const Schema& schema, Overlay& state, const Transaction& tx, uint64_t now_ms);

}  // namespace guts::state
