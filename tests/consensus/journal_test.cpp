#include "consensus/journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace guts;
using namespace guts::consensus;

namespace {
Bytes rec(uint8_t b, size_t n) {
  return Bytes(n, b);
}
}  // namespace

TEST(Journal, Crc32c) {
  EXPECT_EQ(crc32c(as_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(ByteView{}), 0u);
  // Incremental == one shot.
  EXPECT_EQ(crc32c(as_bytes("6789"), crc32c(as_bytes("12345"))), 0xE3069283u);
}

TEST(Journal, SyncedRecordsSurviveCrashUnsyncedDoNot) {
  MemoryJournalStore disk;
  {
    Journal j(disk, 4);
    j.append(1, rec(1, 10));
    j.append(5, rec(2, 20));  // another section
    j.sync();
    j.append(6, rec(3, 30));  // never synced
    EXPECT_TRUE(j.dirty());
  }
  disk.crash(0);
  Journal j(disk, 4);
  Journal::ReplayStats st;
  auto r = j.replay(&st);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], rec(1, 10));
  EXPECT_EQ(r[1], rec(2, 20));
  EXPECT_EQ(st.discarded_bytes, 0u);
}

TEST(Journal, TornTailIsDetectedAndDiscarded) {
  for (uint64_t entropy = 1; entropy < 40; ++entropy) {
    MemoryJournalStore disk;
    Journal j(disk, 64);
    j.append(1, rec(1, 50));
    j.sync();
    j.append(1, rec(2, 50));
    j.append(1, rec(3, 50));
    disk.crash(entropy);  // keeps a random prefix of the two un-synced records
    Journal k(disk, 64);
    Journal::ReplayStats st;
    auto r = k.replay(&st);
    ASSERT_GE(r.size(), 1u);
    ASSERT_LE(r.size(), 3u);
    for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r[i], rec(static_cast<uint8_t>(i + 1), 50));
    // The repair is durable and the journal is appendable again.
    k.append(1, rec(9, 5));
    k.sync();
    Journal l(disk, 64);
    auto r2 = l.replay(&st);
    EXPECT_EQ(st.discarded_bytes, 0u);
    ASSERT_EQ(r2.size(), r.size() + 1);
    EXPECT_EQ(r2.back(), rec(9, 5));
  }
}

TEST(Journal, CorruptionStopsReplayAtTheBadRecord) {
  MemoryJournalStore disk;
  Journal j(disk, 64);
  for (uint8_t i = 1; i <= 3; ++i) j.append(1, rec(i, 16));
  j.sync();
  disk.durable(0)[24 + 8 + 3] ^= 0x40;  // payload byte of the second record
  Journal k(disk, 64);
  Journal::ReplayStats st;
  auto r = k.replay(&st);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(st.damaged_sections, 1u);
  EXPECT_EQ(st.discarded_bytes, 48u);
  // A corrupted length field is caught too.
  j.append(1, rec(4, 16));
  j.sync();
  disk.durable(0)[24] = 0xff;
  auto r2 = Journal(disk, 64).replay(&st);
  EXPECT_EQ(r2.size(), 1u);
}

TEST(Journal, PruneRemovesWholeSectionsBelow) {
  MemoryJournalStore disk;
  Journal j(disk, 10);
  for (View v = 1; v <= 35; ++v) j.append(v, rec(static_cast<uint8_t>(v), 1));
  j.sync();
  j.prune(25);  // sections 0 (0-9) and 1 (10-19) go; 2 (20-29) holds views ≥ 25
  EXPECT_EQ(disk.sections(), (std::vector<uint64_t>{2, 3}));
  auto r = Journal(disk, 10).replay();
  ASSERT_EQ(r.size(), 16u);
  EXPECT_EQ(r.front(), rec(20, 1));
}

TEST(Journal, FileStoreRoundTripAndTornTail) {
  auto dir =
      std::filesystem::temp_directory_path() / ("guts-journal-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    FileJournalStore store(dir);
    Journal j(store, 8);
    j.append(3, rec(7, 100));
    j.append(12, rec(8, 3));
    j.sync();
  }
  {  // simulate a torn append: half a frame at the end of section 1
    std::ofstream f(dir / "1.wal", std::ios::app | std::ios::binary);
    f.write("\x00\x00\x00\x20\x01", 5);
  }
  {
    FileJournalStore store(dir);
    Journal j(store, 8);
    Journal::ReplayStats st;
    auto r = j.replay(&st);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0], rec(7, 100));
    EXPECT_EQ(st.discarded_bytes, 5u);
    EXPECT_EQ(std::filesystem::file_size(dir / "1.wal"), 8u + 3u);
    j.prune(8);
    EXPECT_FALSE(std::filesystem::exists(dir / "0.wal"));
  }
  std::filesystem::remove_all(dir);
}
