// Storage versions and migrations (docs/operator.md "Upgrades"). A database carries a version
// record in its "default" column family: the storage version of its layout and the software
// version that last opened it for writing. open_versioned() reads that record before changing
// anything, then
//   - no database yet: creates it and records the current version;
//   - an older version: runs the registered migrations from it, in order, each step one synced
//     write batch holding the step's writes and the bump of the version record, so a crash
//     leaves the database at some version between the two, whole, and the next open resumes;
//   - a newer version (or column families this binary does not know): refuses, having written
//     nothing, with a message that says which versions are involved.
// A database without a record predates versioning: it is at version 0.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/db.h"

namespace guts::storage {

// Keys of the version record in the "default" column family.
inline constexpr std::string_view kStorageVersionKey = "guts/storage_version";  // be64
inline constexpr std::string_view kWrittenByKey = "guts/written_by";  // software version text

// One step: a database at version `from` becomes version `from + 1`.
struct Migration {
  uint32_t from = 0;
  std::string description;
  // Adds the step's writes to `batch`, reading `db` as it is at version `from`; never writes to
  // `db` itself (the runner writes the batch with the version bump). Must accept any database of
  // version `from`, including an empty one (a crash right after creation leaves no record).
  std::function<void(const Db& db, Batch& batch)> apply;
};

// What a binary knows about a database: its current version and the steps up to it (exactly
// one step from each version 0..current-1, in order).
struct Versioning {
  std::string what = "data directory";  // names the database in messages
  uint32_t current = 0;
  std::vector<Migration> migrations;
  std::string software;  // recorded as the software that last wrote the database
};

struct StoredVersion {
  uint32_t version = 0;    // 0: no record (a database created before versioning)
  std::string written_by;  // "" when unknown
};

// What open_versioned() found and did.
struct OpenReport {
  bool created = false;  // a new database
  StoredVersion found;   // the record before the migrations (current for a new database)
  uint32_t version = 0;  // after them
  std::vector<std::string> applied;  // descriptions of the steps run by this open
};

// One line for the log: "storage version 1 (new)", "storage version 1 (migrated from 0 by 1
// step)", "storage version 1 (last written by guts 0.1.0)".
std::string describe(const OpenReport& report);

// The version record of an open database.
StoredVersion read_version(const Db& db);

// Refuses (guts::Error kFailedPrecondition) a database `versioning` cannot open: a newer storage
// version, or column families other than `families`. Opens it read-only: writes nothing. Returns
// the stored record, or nullopt when there is no database at `path`.
std::optional<StoredVersion> check_version(const std::filesystem::path& path,
                                           const std::vector<std::string>& families,
                                           const Versioning& versioning,
                                           const OpenOptions& options = {});

// check_version(), Db::open(), then migrate(). Throws guts::Error.
std::unique_ptr<Db> open_versioned(const std::filesystem::path& path,
                                   const std::vector<std::string>& families,
                                   const Versioning& versioning, OpenReport* report = nullptr,
                                   const OpenOptions& options = {});

// Runs the steps from the database's version up to min(versioning.current, stop_at) (stop_at:
// tests simulate a crash between steps), then records versioning.software as the writer if it
// differs. A database at the target version is left as it is (idempotent). Throws guts::Error
// kFailedPrecondition for a newer database and kInternal for a missing step.
OpenReport migrate(Db& db, const Versioning& versioning, uint32_t stop_at = UINT32_MAX);

}  // namespace guts::storage
