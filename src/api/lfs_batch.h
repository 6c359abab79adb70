// Git LFS batch API requests (docs/lfs.md; the git-lfs "Batch API" spec), parsed and bounded
// without I/O: used by the batch route (api/lfs_routes.cpp), the auth middleware (which reads
// the operation: upload needs write access) and the fuzzer (fuzz/lfs_batch_fuzz.cpp).
//
//   {"operation": "download"|"upload", "transfers": ["basic", …], "ref": {"name": …},
//    "objects": [{"oid": "<64 hex>", "size": n}, …], "hash_algo": "sha256"}
//
// Whole-request errors throw guts::Error: kMalformed (400: not JSON, not an object, a field of
// the wrong type, over kMaxLfsBatchBodyBytes), kInvalidArgument (422: unknown operation, no
// objects), kTooLarge (413: over kMaxLfsBatchObjects), kConflict (409: a hash algorithm other
// than sha256, as the spec says). An object with a bad oid or size is kept with its error
// (answered per object with code 422).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guts::api {

inline constexpr size_t kMaxLfsBatchObjects = 1000;
inline constexpr size_t kMaxLfsBatchBodyBytes = 1 << 20;

struct LfsBatchObject {
  std::string oid;  // as sent (bounded), lower-case hex when valid
  uint64_t size = 0;
  std::string error;  // non-empty: invalid object (422)
};

struct LfsBatchRequest {
  std::string operation;  // "download" or "upload"
  bool basic = true;      // "basic" offered (or transfers absent)
  std::optional<std::string> ref;
  std::vector<LfsBatchObject> objects;
};

// Throws as described above.
LfsBatchRequest parse_lfs_batch(std::string_view body);
// The operation of a batch body, "" when it cannot be parsed (the middleware's read: the
// handler answers the parse error).
std::string lfs_batch_operation(std::string_view body);

// Whether `oid` is 64 lower-case hex digits.
bool valid_lfs_oid(std::string_view oid);

}  // namespace guts::api
