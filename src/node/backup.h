// Backup and restore of a node's data directory (docs/operator.md, "Backup and restore").
//
// A backup is a directory:
//   db/            a RocksDB checkpoint (storage::Db::checkpoint) of the node's database: blocks,
//                  state and the node-local families (API tokens), consistent at one height H
//   repos/<k>.git  every bare repository, copied after the checkpoint while its maintenance is
//                  held (RepoStore::try_lock_maintenance): it holds every object the refs at H
//                  need (objects are immutable and only maintenance deletes them); refs are
//                  converged to the state at H by the git projection when the node starts
//   genesis.json   the network's genesis
//   node.key       only with include_keys (mode 0600)
//   backup.json    the manifest (node/backup_manifest.h), written last and atomically
// Immutable files (SST files, git packs and loose objects) are hard links when the backup is on
// the data directory's file system, copies otherwise. Never in a backup: consensus/ (the
// journal and the signing guard: a validator restored from a backup starts in the guard's
// recovery, docs/consensus.md §9), p2p/ (the address book is rebuilt), admin.token, logs.
//
// Restore copies the files the manifest lists into a temporary directory next to the target,
// checking each one's size and SHA-256 as it copies, opens the restored database and checks
// its head against the manifest, and only then renames the directory into place: a truncated,
// corrupted or missing file fails with the file named and leaves the target untouched.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "node/backup_manifest.h"
#include "state/genesis.h"

namespace guts::storage {
class Db;
}
namespace guts::git {
class RepoStore;
}

namespace guts::node {

struct BackupOptions {
  std::filesystem::path out;  // must not exist, or be an empty directory
  bool include_keys = false;  // copy node.key (a secret) into the backup
  // How long to wait for a maintenance task running on a repository to finish.
  std::chrono::milliseconds maintenance_wait{std::chrono::minutes(30)};
  // Set by another thread (the node stopping): the backup ends soon with Error(kUnavailable),
  // removing what it wrote. Null: never.
  const std::atomic<bool>* cancel = nullptr;
};

struct BackupSummary {
  std::filesystem::path dir;
  BackupManifest manifest;
  uint64_t bytes = 0;
  size_t repositories = 0;
};

// What a backup reads: a node's open database and repository store (the running node's, or
// those of a stopped node opened by backup_offline).
struct BackupSource {
  storage::Db& db;
  git::RepoStore& repos;
  std::filesystem::path data_dir;      // node.key is read from here (include_keys)
  std::filesystem::path genesis_file;  // the genesis the node runs with
  state::Genesis genesis;
  std::string node_did;
};

// Writes a backup; any thread, concurrently with commits, pushes and maintenance. Throws
// guts::Error; on failure whatever it wrote into `out` is removed.
BackupSummary write_backup(const BackupSource& source, const BackupOptions& options);

// A backup of a stopped node's data directory (RocksDB refuses to open a running node's
// database: that error says so). `genesis_file` empty: <data_dir>/genesis.json.
BackupSummary backup_offline(const std::filesystem::path& data_dir,
                             const std::filesystem::path& genesis_file,
                             const BackupOptions& options);

// Reads the manifest of a backup and checks every file it lists (present, size, SHA-256).
// Throws guts::Error(kInvalidArgument / kNotFound) whose message names the file and the problem.
BackupManifest verify_backup(const std::filesystem::path& dir);

struct RestoreOptions {
  std::filesystem::path from;      // the backup
  std::filesystem::path data_dir;  // must not exist, or be an empty directory
  std::filesystem::path key_file;  // optional: the node key to install (a backup without keys)
};

// Restores a backup into a new data directory (see the top of this file). Throws guts::Error
// naming the file and the problem; the target is then untouched.
BackupManifest restore_backup(const RestoreOptions& options);

// The local operator's credential for the node's admin routes (POST /api/guts/admin/backup):
// <data_dir>/admin.token, 64 hex characters, mode 0600, written anew at every start. Whoever
// can read the data directory (the node's user, root) is the operator.
std::filesystem::path admin_token_path(const std::filesystem::path& data_dir);
std::string create_admin_token(const std::filesystem::path& data_dir);
std::string read_admin_token(const std::filesystem::path& data_dir);

// The summary as the admin route answers it (and `guts-node backup` prints it).
std::string backup_summary_json(const BackupSummary& summary);

// Asks the node at `api_url` to write a backup into `options.out` (an absolute path on the
// node's host), authenticated with the admin token of `data_dir`. Returns the node's answer
// (backup_summary_json); throws guts::Error with the node's message on failure.
std::string request_backup(const std::string& api_url, const std::filesystem::path& data_dir,
                           const BackupOptions& options);

}  // namespace guts::node
