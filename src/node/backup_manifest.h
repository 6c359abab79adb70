// The manifest of a node backup (node/backup.h, docs/operator.md "Backup and restore"):
// `<backup>/backup.json`, written last and atomically, so a backup without it is incomplete.
//
//   {"format": "guts-backup", "version": 1, "chain_id": "...", "genesis_id": "<hex>",
//    "height": H, "head_id": "<hex>", "state_root": "<hex>", "created_unix_ms": T,
//    "node": "did:key:...", "includes_keys": false,
//    "files": [{"path": "db/000009.sst", "size": N, "sha256": "<hex>"}, ...]}
//
// Paths are relative to the backup directory, '/'-separated, sorted, unique, under the
// top-level entries a backup has (db/, repos/, genesis.json, node.key), with no empty, "." or
// ".." component and no control character: a manifest can never name a file outside the backup
// or the data directory restored from it. The parser bounds its input (size, file count, path
// length) and throws guts::Error(kInvalidArgument) naming the problem; it has a libFuzzer target
// (fuzz/backup_manifest_fuzz.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace guts::node {

inline constexpr int kBackupFormatVersion = 1;
inline constexpr const char* kBackupManifestName = "backup.json";
// A node with many repositories has many files (about 20 per repository, ~200 bytes each here).
inline constexpr size_t kBackupManifestMaxBytes = size_t{1} << 30;
inline constexpr size_t kBackupMaxFiles = 4'000'000;
inline constexpr size_t kBackupMaxPathBytes = 1024;
inline constexpr size_t kBackupMaxComponentBytes = 255;

struct BackupFile {
  std::string path;  // relative, '/'-separated
  uint64_t size = 0;
  std::string sha256;  // 64 lower-case hex digits
  bool operator==(const BackupFile&) const = default;
};

struct BackupManifest {
  int version = kBackupFormatVersion;
  std::string chain_id;
  std::string genesis_id;  // hex
  uint64_t height = 0;
  std::string head_id;     // hex: the block at `height`
  std::string state_root;  // hex: the state root after it
  int64_t created_unix_ms = 0;
  std::string node;  // the node's DID (did:key:...)
  bool includes_keys = false;
  std::vector<BackupFile> files;  // sorted by path
  bool operator==(const BackupManifest&) const = default;
};

// True for a path a manifest may name (see the top of this file).
bool is_valid_backup_path(std::string_view path);

// JSON text of the manifest (files sorted by path first). Throws guts::Error(kInvalidArgument)
// for a path that is not valid or a field that does not fit the format, and kTooLarge past the
// bounds above (a backup the parser would refuse is never written).
std::string encode_backup_manifest(BackupManifest manifest);

// Parses and validates a manifest. Throws guts::Error(kInvalidArgument, "<problem>") for
// malformed JSON, a wrong format or version, a missing or mistyped field, an invalid, unsorted
// or duplicate path, a bad checksum field, or anything over the bounds above.
BackupManifest parse_backup_manifest(std::string_view text);

}  // namespace guts::node
