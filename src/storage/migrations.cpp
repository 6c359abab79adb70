#include "storage/migrations.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/status.h"

namespace guts::storage {

namespace {

constexpr Cf kDefault{0};  // "default": always the first family of a Db

std::string newer_message(const std::string& path, const StoredVersion& found,
                          const Versioning& v) {
  return v.what + (path.empty() ? "" : " " + path) + " was written by storage version " +
         std::to_string(found.version) +
         (found.written_by.empty() ? "" : " (guts " + found.written_by + ")") + ", this guts-node" +
         (v.software.empty() ? "" : " " + v.software) + " supports up to storage version " +
         std::to_string(v.current) + ": upgrade guts-node (a data directory is never downgraded)";
}

}  // namespace

std::string describe(const OpenReport& r) {
  std::string s = "storage version " + std::to_string(r.version);
  if (r.created) return s + " (new)";
  if (!r.applied.empty())
    return s + " (migrated from " + std::to_string(r.found.version) + " by " +
           std::to_string(r.applied.size()) + (r.applied.size() == 1 ? " step)" : " steps)");
  return s +
         (r.found.written_by.empty() ? "" : " (last written by guts " + r.found.written_by + ")");
}

StoredVersion read_version(const Db& db) {
  StoredVersion out;
  if (auto v = db.get(kDefault, kStorageVersionKey)) {
    if (v->size() != 8)
      throw Error(Code::kInternal, "storage version record has " + std::to_string(v->size()) +
                                       " bytes (expected 8)");
    uint64_t n = read_be64(*v);
    if (n > UINT32_MAX) throw Error(Code::kInternal, "storage version record out of range");
    out.version = static_cast<uint32_t>(n);
  }
  if (auto w = db.get(kDefault, kWrittenByKey)) out.written_by = *w;
  return out;
}

std::optional<StoredVersion> check_version(const std::filesystem::path& path,
                                           const std::vector<std::string>& families,
                                           const Versioning& versioning,
                                           const OpenOptions& options) {
  auto db = Db::open_read_only(path, options);
  if (!db) return std::nullopt;
  auto found = read_version(*db);
  if (found.version > versioning.current)
    throw Error(Code::kFailedPrecondition, newer_message(path.string(), found, versioning));
  std::vector<std::string> unknown;
  for (const auto& name : db->family_names())
    if (name != "default" && std::find(families.begin(), families.end(), name) == families.end())
      unknown.push_back(name);
  if (!unknown.empty()) {
    std::string list;
    for (const auto& u : unknown) list += (list.empty() ? "" : ", ") + u;
    throw Error(Code::kFailedPrecondition,
                versioning.what + " " + path.string() + " has column families this guts-node" +
                    (versioning.software.empty() ? "" : " " + versioning.software) +
                    " does not know (" + list + ", storage version " +
                    std::to_string(found.version) +
                    "): it was written by a newer or another program; upgrade guts-node");
  }
  return found;
}

std::unique_ptr<Db> open_versioned(const std::filesystem::path& path,
                                   const std::vector<std::string>& families,
                                   const Versioning& versioning, OpenReport* report,
                                   const OpenOptions& options) {
  auto existing = check_version(path, families, versioning, options);
  auto db = Db::open(path, families, options);
  OpenReport r;
  if (!existing) {
    // A new database: it has the current layout, no step to run.
    Batch b;
    b.put(kDefault, kStorageVersionKey, be64(versioning.current));
    b.put(kDefault, kWrittenByKey, versioning.software);
    db->write(b, /*sync=*/true);
    r.created = true;
    r.found = {versioning.current, ""};
    r.version = versioning.current;
  } else {
    r = migrate(*db, versioning);
  }
  if (report) *report = std::move(r);
  return db;
}

OpenReport migrate(Db& db, const Versioning& v, uint32_t stop_at) {
  OpenReport r;
  r.found = read_version(db);
  if (r.found.version > v.current)
    throw Error(Code::kFailedPrecondition, newer_message("", r.found, v));
  uint32_t target = std::min(v.current, stop_at);
  uint32_t at = r.found.version;
  while (at < target) {
    auto it = std::find_if(v.migrations.begin(), v.migrations.end(),
                           [&](const Migration& m) { return m.from == at; });
    if (it == v.migrations.end() || !it->apply)
      throw Error(Code::kInternal, "no migration from storage version " + std::to_string(at));
    spdlog::info("storage migration {} -> {}: {}", at, at + 1, it->description);
    Batch b;
    it->apply(db, b);
    b.put(kDefault, kStorageVersionKey, be64(at + 1));
    b.put(kDefault, kWrittenByKey, v.software);
    db.write(b, /*sync=*/true);
    r.applied.push_back(it->description);
    ++at;
  }
  r.version = at;
  if (!v.software.empty() && read_version(db).written_by != v.software)
    db.put(kDefault, kWrittenByKey, v.software, /*sync=*/true);
  return r;
}

}  // namespace guts::storage
