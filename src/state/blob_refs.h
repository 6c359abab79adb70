// Which content-addressed blobs (storage::BlobStore: Git LFS objects, release assets) a
// transaction or block refers to. Like the git objects of a push (replication::ObjectSync::
// objects_needed), a node holds every blob a block refers to before it votes for or applies the
// block, fetching missing ones from peers; so a blob named in finalized state is available from
// every node that hosts the repository.
//
// Each feature that stores blobs adds ONE case to blob_refs(TxBody) in blob_refs.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "state/block.h"
#include "state/tx.h"
#include "storage/blob_store.h"

namespace guts::state {

struct BlobRef {
  uint64_t repo_id = 0;  // the repository whose seeds host the blob (0: network-wide)
  storage::Sha256 sha256{};
  uint64_t size = 0;
  bool operator==(const BlobRef&) const = default;
};

// The blobs a transaction's body names (empty for most kinds).
std::vector<BlobRef> blob_refs(const Transaction& tx);
// Every blob the block's transactions name, in transaction order, duplicates removed.
std::vector<BlobRef> blob_refs(const Block& block);

}  // namespace guts::state
