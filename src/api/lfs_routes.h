// The Git LFS HTTP API (docs/lfs.md): batch, basic transfers into and out of the node's
// storage::BlobStore, verify, locks. Routes under /{owner}/{repo}/info/lfs/ ({repo} with or
// without ".git", as git-lfs derives its endpoint from the remote URL).
#pragma once

#include <cstdint>
#include <functional>

#include "api/router.h"
#include "api/services.h"
#include "storage/blob_store.h"

namespace guts::api {

struct LfsOptions {
  // Per owner: the sum of the LFS usage of the owner's repositories (state::lfs_owner_usage)
  // may not exceed this after an upload (0: unlimited). Node-local admission policy.
  uint64_t quota_bytes = 0;
  uint64_t max_object_bytes = 5ull << 30;  // one object
  // Whether this node hosts the repository's data (seeding policy); empty: every repository.
  std::function<bool(uint64_t repo_id)> hosts;
};

void add_lfs_routes(Router& router, Services& services, storage::BlobStore& blobs,
                    LfsOptions options = {});

}  // namespace guts::api
