// Git LFS as replicated state (issue 17 point 2; docs/lfs.md).
//
// The bytes of an LFS object live in every hosting node's storage::BlobStore (docs/blobs.md);
// state records which objects a repository has and its locks:
//
//   49 lfs_add_objects   repo_id varint | count ‖ (oid sha256[32] | size varint) × n
//                        (1 ≤ n ≤ kMaxLfsObjectsPerTx, oids strictly increasing: canonical).
//                        Write permission. Submitted by the uploading node once the objects are
//                        stored; objects the repository already has are not counted twice.
//                        state::blob_refs names them, so every node holds them before it votes
//                        for or applies the block (replication/blob_sync.h).
//   50 lfs_create_lock   repo_id varint | path str(≤ kMaxLfsPathBytes). Write permission; one
//                        lock per path (409 when held). Lock ids count from 1 per repository.
//   51 lfs_delete_lock   repo_id varint | lock id varint | force bool. The lock's owner, or
//                        with force an administrator of the repository.
//
// Quotas: state keeps each repository's LFS usage (the sum of its objects' sizes); the limit is
// admission policy of the uploading node (option lfs-quota-bytes, per owner: the sum over the
// owner's repositories), checked before it accepts an upload — a node option cannot be a
// consensus rule. The state machine only bounds one object (kMaxLfsObjectBytes).
//
// Layout, in the `governance` family, under the prefix "lfs:" (next to org_view.cpp's tags):
//   lfs:o·be64(repo)·oid32     → varint size       (the repository's objects)
//   lfs:u·be64(repo)           → be64 bytes        (usage: sum of the sizes)
//   lfs:l·be64(repo)·be64(id)  → encode_lfs_lock   (locks)
//   lfs:p·be64(repo)·path      → be64 id           (lock by path)
//   lfs:n·be64(repo)           → be64 next lock id
// Repository ids are never reused, so a deleted repository's entries are inert.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "codec/codec.h"
#include "crypto/ed25519.h"

namespace guts::state {

inline constexpr size_t kMaxLfsObjectsPerTx = 1000;
inline constexpr size_t kMaxLfsPathBytes = 1024;
inline constexpr uint64_t kMaxLfsObjectBytes = 1ull << 40;  // 1 TiB: a sanity bound

struct LfsObject {
  std::array<uint8_t, 32> oid{};  // SHA-256 of the bytes
  uint64_t size = 0;
  bool operator==(const LfsObject&) const = default;
};

struct LfsAddObjects {
  uint64_t repo_id = 0;
  std::vector<LfsObject> objects;  // strictly increasing oids
};
struct LfsCreateLock {
  uint64_t repo_id = 0;
  std::string path;
};
struct LfsDeleteLock {
  uint64_t repo_id = 0;
  uint64_t lock_id = 0;
  bool force = false;
};

template <typename T>
inline constexpr bool kIsLfsBody =
    std::is_same_v<T, LfsAddObjects> || std::is_same_v<T, LfsCreateLock> ||
    std::is_same_v<T, LfsDeleteLock>;

void encode_lfs_body(codec::Writer& w, const LfsAddObjects& b);
void encode_lfs_body(codec::Writer& w, const LfsCreateLock& b);
void encode_lfs_body(codec::Writer& w, const LfsDeleteLock& b);
// Throw codec::DecodeError (over a bound, unsorted or repeated oids, empty list).
LfsAddObjects decode_lfs_add_objects(codec::Reader& r);
LfsCreateLock decode_lfs_create_lock(codec::Reader& r);
LfsDeleteLock decode_lfs_delete_lock(codec::Reader& r);

struct LfsLock {
  uint64_t id = 0;
  std::string path;
  crypto::PublicKey owner{};
  uint64_t locked_ms = 0;  // block time
  bool operator==(const LfsLock&) const = default;
};
std::string encode_lfs_lock(const LfsLock& l);
LfsLock decode_lfs_lock(std::string_view data);

// Keys (layout above).
std::string lfs_object_prefix(uint64_t repo_id);
std::string lfs_object_key(uint64_t repo_id, const std::array<uint8_t, 32>& oid);
std::string lfs_usage_key(uint64_t repo_id);
std::string lfs_lock_prefix(uint64_t repo_id);
std::string lfs_lock_key(uint64_t repo_id, uint64_t id);
std::string lfs_lock_path_key(uint64_t repo_id, std::string_view path);
std::string lfs_next_lock_key(uint64_t repo_id);

// Whether `path` is acceptable as a lock path: non-empty, at most kMaxLfsPathBytes, valid
// UTF-8 without NUL or control characters, relative ('/'-separated, no leading '/').
bool valid_lfs_path(std::string_view path);

}  // namespace guts::state
