// Which blobs (storage::BlobStore: Git LFS objects, release assets, CI logs and artifacts) the
// current state still needs — what a node's blob garbage collector keeps (docs/blobs.md
// "Garbage collection"). The complement of blob_refs.h: that names what a transaction adds;
// this names what the state refers to now, after deletions and expiry.
#pragma once

#include <cstdint>
#include <set>

#include "storage/blob_store.h"

namespace guts::state {

class StateView;

// Every blob referred to by the state at block time `now_ms`: the LFS objects of repositories
// that exist, the assets of releases, the stored logs of jobs of repositories that exist, and
// the artifacts that have not expired (artifact_expired) of repositories that exist. Throws
// codec::DecodeError on a record it cannot read: a collector must then delete nothing.
std::set<storage::Sha256> live_blobs(const StateView& view, uint64_t now_ms);

}  // namespace guts::state
