#include "storage/blob_store.h"

#include <gtest/gtest.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/status.h"
#include "crypto/hash.h"
#include "node/blob_gc.h"

using namespace guts;
using namespace guts::storage;

namespace {

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("guts-blobs-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

Sha256 sha_of(std::string_view s) {
  auto d = crypto::sha256(s);
  Sha256 out;
  std::copy(d.begin(), d.end(), out.begin());
  return out;
}

size_t count_files(const std::filesystem::path& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

}  // namespace

TEST_F(BlobStoreTest, StreamedWriteIsNamedByItsSha256AndReadBack) {
  BlobStore store(dir_);
  auto w = store.begin(1 << 20);
  w->write(as_bytes(std::string_view("hello ")));
  w->write(as_bytes(std::string_view("world")));
  auto sha = w->commit();
  EXPECT_EQ(sha, sha_of("hello world"));
  EXPECT_EQ(sha256_hex(sha), "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
  EXPECT_TRUE(store.contains(sha));
  EXPECT_EQ(store.size(sha), 11u);
  auto bytes = store.read(sha);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "hello world");
  auto mid = store.read_range(sha, 6, 100);
  EXPECT_EQ(std::string(mid.begin(), mid.end()), "world");
  EXPECT_TRUE(store.read_range(sha, 50, 10).empty());
  EXPECT_EQ(store.path_of(sha).parent_path().filename(), "b9");
}

TEST_F(BlobStoreTest, WrongHashOrSizeKeepsNothing) {
  BlobStore store(dir_);
  auto expected = sha_of("something else");
  try {
    store.put(as_bytes(std::string_view("data")), expected);
    FAIL() << "a blob that does not match its announced hash was stored";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
  }
  EXPECT_FALSE(store.contains(expected));
  EXPECT_FALSE(store.contains(sha_of("data")));
  auto w = store.begin(100);
  w->write(as_bytes(std::string_view("abc")));
  EXPECT_THROW(w->commit(sha_of("abc"), 4), Error);
  EXPECT_FALSE(store.contains(sha_of("abc")));
  EXPECT_EQ(count_files(dir_), 0u);
}

TEST_F(BlobStoreTest, OverTheLimitOrAbandonedLeavesNoFile) {
  BlobStore store(dir_);
  {
    auto w = store.begin(4);
    w->write(as_bytes(std::string_view("1234")));
    try {
      w->write(as_bytes(std::string_view("5")));
      FAIL() << "write past the limit accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::kTooLarge);
    }
    EXPECT_THROW(w->commit(), Error);
  }
  {
    auto w = store.begin(100);
    w->write(as_bytes(std::string_view("never committed")));
  }
  EXPECT_EQ(count_files(dir_), 0u);
  EXPECT_FALSE(store.contains(sha_of("never committed")));
}

TEST_F(BlobStoreTest, CrashTemporariesAreRemovedOnOpenAndRemoveWorks) {
  {
    BlobStore store(dir_);
    auto sha = store.put(as_bytes(std::string_view("kept")));
    EXPECT_TRUE(store.contains(sha));
  }
  // What a kill -9 during a write leaves: a temporary, never a visible blob.
  {
    std::FILE* f = std::fopen((dir_ / "tmp" / "leftover").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("partial", f);
    std::fclose(f);
  }
  BlobStore store(dir_);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "tmp" / "leftover"));
  EXPECT_TRUE(store.contains(sha_of("kept")));
  EXPECT_TRUE(store.remove(sha_of("kept")));
  EXPECT_FALSE(store.remove(sha_of("kept")));
  EXPECT_THROW(store.read(sha_of("kept")), Error);
}

TEST(BlobSha, HexRoundTripAndRejects) {
  Sha256 sha{};
  for (size_t i = 0; i < sha.size(); ++i) sha[i] = static_cast<uint8_t>(i * 7);
  auto hex = sha256_hex(sha);
  EXPECT_EQ(parse_sha256(hex), sha);
  EXPECT_FALSE(parse_sha256(hex.substr(1)));
  EXPECT_FALSE(parse_sha256(std::string(64, 'G')));
  EXPECT_FALSE(parse_sha256(std::string(64, 'A')));  // lower-case only, as git-lfs sends
}

namespace {
// Stores `text` as a blob whose file is `age_s` seconds older than `now_s`.
Sha256 put_aged(const BlobStore& store, std::string_view text, int64_t now_s, int64_t age_s) {
  auto sha = store.put(as_bytes(text));
  timeval times[2] = {{now_s - age_s, 0}, {now_s - age_s, 0}};
  EXPECT_EQ(::utimes(store.path_of(sha).c_str(), times), 0);
  return sha;
}
}  // namespace

TEST_F(BlobStoreTest, ListNamesEveryBlobWithItsSizeAndTime) {
  BlobStore store(dir_);
  auto a = put_aged(store, "aaa", 1'800'000'000, 10);
  auto b = put_aged(store, "bb", 1'800'000'000, 20);
  std::filesystem::create_directories(dir_ / "zz");
  std::ofstream(dir_ / "zz" / "not-a-blob") << "x";  // strays are skipped
  auto list = store.list();
  ASSERT_EQ(list.size(), 2u);
  std::sort(list.begin(), list.end(), [](const auto& x, const auto& y) { return x.size > y.size; });
  EXPECT_EQ(list[0].sha, a);
  EXPECT_EQ(list[0].size, 3u);
  EXPECT_EQ(list[0].mtime_s, 1'800'000'000 - 10);
  EXPECT_EQ(list[1].sha, b);
}

// The collector (node/blob_gc.h) removes what no state refers to, once it is older than the
// grace period; a reference that appears while it lists keeps the blob.
TEST_F(BlobStoreTest, CollectorRemovesOnlyOldUnreferencedBlobs) {
  BlobStore store(dir_);
  const int64_t now = 1'800'000'000;
  auto live = put_aged(store, "referenced", now, 7200);
  auto dead = put_aged(store, "expired artifact", now, 7200);
  auto young = put_aged(store, "upload not final yet", now, 60);
  auto late = put_aged(store, "referenced while listing", now, 7200);
  auto metrics = std::make_shared<metrics::Registry>();
  int calls = 0;
  node::BlobGcOptions o;
  o.interval = std::chrono::seconds(0);
  o.grace = std::chrono::seconds(3600);
  o.metrics = metrics;
  node::BlobCollector gc(
      store,
      [&] {
        ++calls;
        std::set<Sha256> s{live};
        if (calls > 1) s.insert(late);
        return s;
      },
      o);
  auto r = gc.collect_once(now);
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(r.removed_bytes, std::string_view("expired artifact").size());
  EXPECT_EQ(r.young, 1u);
  EXPECT_EQ(r.kept, 2u);
  EXPECT_TRUE(store.contains(live));
  EXPECT_FALSE(store.contains(dead));
  EXPECT_TRUE(store.contains(young));
  EXPECT_TRUE(store.contains(late));
  EXPECT_NE(metrics->render().find("guts_blobs_collected_total 1"), std::string::npos)
      << metrics->render();
  // Nothing left to remove; the young blob goes once it is old.
  EXPECT_EQ(gc.collect_once(now).removed, 0u);
  calls = 0;
  EXPECT_EQ(gc.collect_once(now + 3600).removed, 1u);
  EXPECT_FALSE(store.contains(young));
  EXPECT_TRUE(store.contains(live));
}

// A state that cannot be read removes nothing.
TEST_F(BlobStoreTest, CollectorRemovesNothingWhenTheStateCannotBeRead) {
  BlobStore store(dir_);
  auto sha = put_aged(store, "x", 1'800'000'000, 7200);
  node::BlobCollector gc(store, []() -> std::set<Sha256> { throw std::runtime_error("decode"); },
                         {});
  EXPECT_THROW(gc.collect_once(1'800'000'000), std::runtime_error);
  EXPECT_TRUE(store.contains(sha));
}
