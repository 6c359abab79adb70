// Storage versions and migrations (storage/migrations.h, state/migrations.h): a new database
// records the current version; an older one is migrated once, step by step, each step atomic
// with its version bump; a re-run is a no-op; a crash between steps resumes where it stopped; a
// newer database (or one with unknown column families) is refused with a message naming the
// versions, and nothing in its directory changes.
#include "state/migrations.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/status.h"
#include "core/version.h"
#include "state/chain.h"
#include "storage/db.h"
#include "storage/migrations.h"
#include "tests/state/fixtures.h"

using namespace guts;
using namespace guts::storage;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kFamilies = {"a", "b"};

// A scoped directory under $TMPDIR.
struct Dir {
  fs::path path;
  explicit Dir(const std::string& name) {
    path =
        fs::temp_directory_path() / ("guts-migrations-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(path);
  }
  ~Dir() { fs::remove_all(path); }
};

// Every file of a directory with its bytes: equal snapshots mean nothing was written.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    out[fs::relative(e.path(), dir).string()] = s.str();
  }
  return out;
}

// Every key and value of a family, in order.
std::map<std::string, std::string> contents(const Db& db, Cf cf) {
  std::map<std::string, std::string> out;
  db.scan_prefix(cf, "", [&](std::string_view k, std::string_view v) {
    out.emplace(k, v);
    return true;
  });
  return out;
}

// A layout history for the tests:
//   0 -> 1: the version record only (as the state database's first step);
//   1 -> 2: items move from "old/<k>" to "new/<k>" in family a;
//   2 -> 3: family b gets "count" = the number of items (would double on a second run).
Versioning test_versioning(uint32_t current = 3) {
  Versioning v;
  v.what = "test database";
  v.current = current;
  v.software = "9.9.9-test";
  v.migrations.push_back({0, "record the version", [](const Db&, Batch&) {}});
  v.migrations.push_back({1, "move old/ to new/", [](const Db& db, Batch& b) {
                            auto a = db.cf("a");
                            db.scan_prefix(a, "old/", [&](std::string_view k, std::string_view v) {
                              b.put(a, "new/" + std::string(k.substr(4)), v);
                              b.del(a, k);
                              return true;
                            });
                          }});
  v.migrations.push_back({2, "count the items", [](const Db& db, Batch& b) {
                            uint64_t n = 0;
                            auto prev = db.get(db.cf("b"), "count");
                            if (prev) n = std::stoull(*prev);
                            db.scan_prefix(db.cf("a"), "new/",
                                           [&](std::string_view, std::string_view) {
                                             ++n;
                                             return true;
                                           });
                            b.put(db.cf("b"), "count", std::to_string(n));
                          }});
  return v;
}

// A database as a build before versioning left it: no version record, items under old/.
void make_legacy(const fs::path& dir) {
  auto db = Db::open(dir, kFamilies);
  Batch b;
  b.put(db->cf("a"), "old/x", "1");
  b.put(db->cf("a"), "old/y", "2");
  db->write(b, true);
}

void expect_migrated(const Db& db) {
  EXPECT_EQ(contents(db, db.cf("a")),
            (std::map<std::string, std::string>{{"new/x", "1"}, {"new/y", "2"}}));
  EXPECT_EQ(contents(db, db.cf("b")), (std::map<std::string, std::string>{{"count", "2"}}));
}

}  // namespace

TEST(StorageVersion, FreshDatabaseRecordsTheCurrentVersion) {
  Dir dir("fresh");
  auto v = test_versioning();
  OpenReport r;
  {
    auto db = open_versioned(dir.path, kFamilies, v, &r);
    EXPECT_TRUE(r.created);
    EXPECT_EQ(r.version, 3u);
    EXPECT_TRUE(r.applied.empty());
    auto stored = read_version(*db);
    EXPECT_EQ(stored.version, 3u);
    EXPECT_EQ(stored.written_by, "9.9.9-test");
    EXPECT_EQ(describe(r), "storage version 3 (new)");
  }
  auto db = open_versioned(dir.path, kFamilies, v, &r);
  EXPECT_FALSE(r.created);
  EXPECT_EQ(r.found.version, 3u);
  EXPECT_TRUE(r.applied.empty());
  EXPECT_EQ(describe(r), "storage version 3 (last written by guts 9.9.9-test)");
}

TEST(StorageVersion, LegacyDatabaseIsMigratedOnceAndReRunsAreNoOps) {
  Dir dir("legacy");
  make_legacy(dir.path);
  auto v = test_versioning();
  OpenReport r;
  {
    auto db = open_versioned(dir.path, kFamilies, v, &r);
    EXPECT_FALSE(r.created);
    EXPECT_EQ(r.found.version, 0u);
    EXPECT_EQ(r.found.written_by, "");
    EXPECT_EQ(r.version, 3u);
    EXPECT_EQ(r.applied, (std::vector<std::string>{"record the version", "move old/ to new/",
                                                   "count the items"}));
    EXPECT_EQ(describe(r), "storage version 3 (migrated from 0 by 3 steps)");
    expect_migrated(*db);
    // Running the migrations again on the open database: nothing to do, nothing changes.
    auto again = migrate(*db, v);
    EXPECT_TRUE(again.applied.empty());
    EXPECT_EQ(again.version, 3u);
    expect_migrated(*db);
  }
  auto db = open_versioned(dir.path, kFamilies, v, &r);
  EXPECT_TRUE(r.applied.empty());
  EXPECT_EQ(r.found.version, 3u);
  expect_migrated(*db);
}

TEST(StorageVersion, CrashBetweenStepsResumesAtTheNextStep) {
  Dir dir("crash");
  make_legacy(dir.path);
  auto v = test_versioning();
  {
    // The process dies after step 1 -> 2 is durable and before 2 -> 3 runs.
    auto db = Db::open(dir.path, kFamilies);
    auto r = migrate(*db, v, /*stop_at=*/2);
    EXPECT_EQ(r.version, 2u);
    EXPECT_EQ(r.applied.size(), 2u);
    EXPECT_EQ(read_version(*db).version, 2u);
    EXPECT_EQ(contents(*db, db->cf("a")),
              (std::map<std::string, std::string>{{"new/x", "1"}, {"new/y", "2"}}));
    EXPECT_TRUE(contents(*db, db->cf("b")).empty());
  }
  OpenReport r;
  auto db = open_versioned(dir.path, kFamilies, v, &r);
  EXPECT_EQ(r.found.version, 2u);
  EXPECT_EQ(r.applied, (std::vector<std::string>{"count the items"}));
  expect_migrated(*db);
}

TEST(StorageVersion, AFailingStepWritesNothing) {
  Dir dir("failing");
  make_legacy(dir.path);
  auto v = test_versioning();
  v.migrations[1].apply = [](const Db& db, Batch& b) {
    b.del(db.cf("a"), "old/x");
    throw Error(Code::kInternal, "disk on fire");
  };
  {
    auto db = Db::open(dir.path, kFamilies);
    EXPECT_THROW(migrate(*db, v), Error);
    // Step 0 -> 1 is durable; the failed step left version 1 and its data whole.
    EXPECT_EQ(read_version(*db).version, 1u);
    EXPECT_EQ(contents(*db, db->cf("a")),
              (std::map<std::string, std::string>{{"old/x", "1"}, {"old/y", "2"}}));
  }
  OpenReport r;
  auto db = open_versioned(dir.path, kFamilies, test_versioning(), &r);
  EXPECT_EQ(r.found.version, 1u);
  EXPECT_EQ(r.applied.size(), 2u);
  expect_migrated(*db);
}

TEST(StorageVersion, NewerDatabaseIsRefusedAndLeftUntouched) {
  Dir dir("newer");
  {
    auto db = open_versioned(dir.path, kFamilies, test_versioning(5));
    db->put(db->cf("a"), "new/x", "1", true);
  }
  auto before = snapshot(dir.path);
  ASSERT_FALSE(before.empty());
  try {
    open_versioned(dir.path, kFamilies, test_versioning(3));
    FAIL() << "a database of storage version 5 was opened by a binary of version 3";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_EQ(std::string(e.what()),
              "test database " + dir.path.string() +
                  " was written by storage version 5 (guts 9.9.9-test), this guts-node "
                  "9.9.9-test supports up to storage version 3: upgrade guts-node (a data "
                  "directory is never downgraded)");
  }
  EXPECT_EQ(snapshot(dir.path), before);
  EXPECT_THROW(check_version(dir.path, kFamilies, test_versioning(4)), Error);
  EXPECT_EQ(snapshot(dir.path), before);
  // The binary that wrote it still opens it.
  OpenReport r;
  auto db = open_versioned(dir.path, kFamilies, test_versioning(5), &r);
  EXPECT_EQ(r.version, 5u);
  EXPECT_EQ(*db->get(db->cf("a"), "new/x"), "1");
}

TEST(StorageVersion, UnknownColumnFamiliesAreRefused) {
  Dir dir("families");
  { open_versioned(dir.path, {"a", "b", "c"}, test_versioning()); }
  auto before = snapshot(dir.path);
  try {
    open_versioned(dir.path, kFamilies, test_versioning());
    FAIL() << "opened a database with an unknown column family";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("does not know (c, storage version 3)"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(snapshot(dir.path), before);
}

TEST(StorageVersion, MissingStepIsAnError) {
  Dir dir("missing");
  make_legacy(dir.path);
  auto v = test_versioning();
  v.migrations.erase(v.migrations.begin() + 1);
  auto db = Db::open(dir.path, kFamilies);
  try {
    migrate(*db, v);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInternal);
    EXPECT_EQ(std::string(e.what()), "no migration from storage version 1");
  }
  EXPECT_EQ(read_version(*db).version, 1u);
}

TEST(StorageVersion, NoDatabaseIsNotAnError) {
  Dir dir("none");
  EXPECT_FALSE(check_version(dir.path, kFamilies, test_versioning()));
  EXPECT_FALSE(fs::exists(dir.path));
}

// The state database's registry: one step per version, up to core/version.h's kStorage.
TEST(StateStorage, RegistryCoversEveryVersion) {
  const auto& v = state::storage_versioning();
  EXPECT_EQ(v.current, version::kStorage);
  ASSERT_EQ(v.migrations.size(), v.current);
  for (uint32_t i = 0; i < v.current; ++i) EXPECT_EQ(v.migrations[i].from, i);
  EXPECT_EQ(v.software, std::string(version::software()));
}

// A data directory of a build before storage versioning: its chain is opened, migrated once to
// the current version, and keeps its head.
TEST(StateStorage, PreVersioningDataDirectoryIsMigratedAndKeepsItsChain) {
  Dir dir("state");
  auto genesis = state::testing::test_genesis();
  state::Head head;
  {
    auto db = Db::open(dir.path, state::Schema::families());  // as before versioning
    state::Chain chain(*db, genesis);
    head = chain.head();
    EXPECT_EQ(read_version(*db).version, 0u);
  }
  OpenReport r;
  {
    auto db = state::open_state_db(dir.path, &r);
    EXPECT_EQ(r.found.version, 0u);
    EXPECT_EQ(r.version, version::kStorage);
    EXPECT_EQ(r.applied.size(), version::kStorage);
    state::Chain chain(*db, genesis);
    EXPECT_EQ(chain.head().id, head.id);
    EXPECT_EQ(chain.head().state_root, head.state_root);
  }
  auto db = state::open_state_db(dir.path, &r);
  EXPECT_TRUE(r.applied.empty());
  EXPECT_EQ(read_version(*db).written_by, std::string(version::software()));
}
