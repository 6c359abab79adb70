// The state database's storage versions (storage/migrations.h, core/version.h kStorage): the
// registered migrations and the one way a node opens its database. Versions:
//   0: created before versioning (no version record);
//   1: the version record exists (migration 0 -> 1 writes it; nothing else changes);
//   2: the repository tree's block records may hold deltas (state/smt.h; 1 -> 2 converts
//      nothing, older releases refuse the database instead of misreading it).
// A new layout bumps version::kStorage and appends its step here, with a test in
// tests/state/migrations_test.cpp.
#pragma once

#include <filesystem>
#include <memory>

#include "storage/db.h"
#include "storage/migrations.h"

namespace guts::state {

// The registry: version::kStorage and one step from each older version.
const storage::Versioning& storage_versioning();

// Opens (creating if needed) the state database at `path` with Schema::families(): refuses a
// newer one before changing anything, migrates an older one (storage::open_versioned).
std::unique_ptr<storage::Db> open_state_db(const std::filesystem::path& path,
                                           storage::OpenReport* report = nullptr,
                                           const storage::OpenOptions& options = {});

}  // namespace guts::state
