#include "state/migrations.h"

#include "core/version.h"
#include "state/kv.h"

namespace guts::state {

const storage::Versioning& storage_versioning() {
  static const storage::Versioning kVersioning = [] {
    storage::Versioning v;
    v.what = "data directory";
    v.current = version::kStorage;
    v.software = std::string(version::software());
    // 0 -> 1: databases created before versioning get the version record (the runner writes
    // it with the step); their layout is version 1's.
    v.migrations.push_back({0,
                            "record the storage version (data directory created before "
                            "storage versioning)",
                            [](const storage::Db&, storage::Batch&) {}});
    // 1 -> 2: the repository tree's block records may hold a leaf as a delta from an earlier
    // record (kind 2, state/smt.h), which releases of storage 1 cannot read: they must refuse
    // the database rather than fail on the record. Nothing to convert.
    v.migrations.push_back({1,
                            "the repository tree's block records may hold deltas (nothing to "
                            "convert)",
                            [](const storage::Db&, storage::Batch&) {}});
    return v;
  }();
  return kVersioning;
}

std::unique_ptr<storage::Db> open_state_db(const std::filesystem::path& path,
                                           storage::OpenReport* report,
                                           const storage::OpenOptions& options) {
  return storage::open_versioned(path, Schema::families(), storage_versioning(), report, options);
}

}  // namespace guts::state
