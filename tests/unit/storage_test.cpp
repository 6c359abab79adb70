#include <gtest/gtest.h>

#include <filesystem>

#include "core/status.h"
#include "storage/db.h"

using namespace guts;
using namespace guts::storage;

namespace {
std::filesystem::path temp_dir() {
  auto d = std::filesystem::temp_directory_path() / ("guts-storage-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  return d;
}
}  // namespace

TEST(Db, ColumnFamiliesBatchesAndReopen) {
  auto dir = temp_dir();
  {
    auto db = Db::open(dir, {"a", "b"});
    auto a = db->cf("a"), b = db->cf("b");
    Batch batch;
    batch.put(a, "k1", "v1");
    batch.put(b, "k1", "other");
    batch.put(a, "k2", "v2");
    batch.del(a, "k2");
    db->write(batch, true);
    EXPECT_EQ(*db->get(a, "k1"), "v1");
    EXPECT_EQ(*db->get(b, "k1"), "other");
    EXPECT_FALSE(db->get(a, "k2"));
    EXPECT_THROW(db->cf("nope"), Error);
  }
  auto db = Db::open(dir, {"a", "b"});
  EXPECT_EQ(*db->get(db->cf("a"), "k1"), "v1");
  EXPECT_EQ(*db->get(db->cf("b"), "k1"), "other");
  std::filesystem::remove_all(dir);
}

TEST(Db, PrefixScanOrderAndSnapshots) {
  auto dir = temp_dir();
  auto db = Db::open(dir, {"x"});
  auto x = db->cf("x");
  for (uint64_t i : {3, 1, 2, 300}) db->put(x, "p/" + be64(i), std::to_string(i));
  db->put(x, "q/" + be64(0), "other");
  auto snap = db->snapshot();
  db->put(x, "p/" + be64(4), "4");
  std::vector<uint64_t> seen;
  db->scan_prefix(x, "p/", [&](std::string_view k, std::string_view) {
    seen.push_back(read_be64(k.substr(2)));
    return true;
  });
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3, 4, 300}));
  EXPECT_FALSE(db->get(*snap, x, "p/" + be64(4)));
  EXPECT_TRUE(db->get(*snap, x, "p/" + be64(3)));
  auto it = db->iterate(x);
  it->seek_for_prev("p/" + be64(299));
  ASSERT_TRUE(it->valid());
  EXPECT_EQ(it->value(), "4");
  std::filesystem::remove_all(dir);
}
