// The consensus write-ahead journal (docs/simplex-spec.md §1.7): own votes, accepted
// certificates and certification verdicts, in sections of `views_per_section` views.
//
// Record framing: u32be len ‖ u32be crc32c(len_be ‖ payload) ‖ payload. Replay reads each
// section front to back and stops at the first record that is short or fails its CRC: that is a
// torn tail (a crash in the middle of an un-synced append) or corruption, and everything from
// there to the end of the section is discarded — truncated durably — never trusted.
//
// The bytes live behind JournalStore so the simulator can use an in-memory "disk" that loses
// un-synced writes on a crash (MemoryJournalStore) while nodes use files (FileJournalStore).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "consensus/types.h"
#include "core/bytes.h"

namespace guts::consensus {

uint32_t crc32c(ByteView data, uint32_t crc = 0);

class JournalStore {
 public:
  virtual ~JournalStore() = default;
  virtual std::vector<uint64_t> sections() = 0;  // ascending
  virtual Bytes read(uint64_t section) = 0;
  virtual void append(uint64_t section, ByteView data) = 0;  // buffered until sync
  virtual void sync(uint64_t section) = 0;                   // durable on return
  virtual void truncate(uint64_t section, size_t size) = 0;  // durable on return
  virtual void remove(uint64_t section) = 0;                 // durable on return
};

// One file per section, "<section>.wal", in `dir`; fsync on sync, directory fsync on create and
// remove. Throws guts::Error(kInternal) on I/O failure.
class FileJournalStore : public JournalStore {
 public:
  explicit FileJournalStore(std::filesystem::path dir);
  ~FileJournalStore() override;
  FileJournalStore(const FileJournalStore&) = delete;
  FileJournalStore& operator=(const FileJournalStore&) = delete;

  std::vector<uint64_t> sections() override;
  Bytes read(uint64_t section) override;
  void append(uint64_t section, ByteView data) override;
  void sync(uint64_t section) override;
  void truncate(uint64_t section, size_t size) override;
  void remove(uint64_t section) override;

 private:
  int fd(uint64_t section);
  std::filesystem::path path(uint64_t section) const;
  std::filesystem::path dir_;
  std::map<uint64_t, int> fds_;
  std::set<uint64_t> created_;  // new files whose directory entry is not yet synced
};

// A simulated disk: appends stay volatile until sync. crash() loses them, optionally keeping a
// torn prefix of the un-synced bytes (what a real disk may leave behind).
class MemoryJournalStore : public JournalStore {
 public:
  std::vector<uint64_t> sections() override;
  Bytes read(uint64_t section) override;
  void append(uint64_t section, ByteView data) override;
  void sync(uint64_t section) override;
  void truncate(uint64_t section, size_t size) override;
  void remove(uint64_t section) override;

  // Power loss. `entropy` picks, per section, how much of the un-synced tail survives
  // (0 = drop every un-synced byte).
  void crash(uint64_t entropy = 0);
  size_t unsynced_bytes() const;
  // A wiped disk: every section gone.
  void wipe() { blobs_.clear(); }
  // Direct access for corruption tests.
  Bytes& durable(uint64_t section) { return blobs_[section].durable; }

 private:
  struct Blob {
    Bytes durable;
    Bytes pending;
  };
  std::map<uint64_t, Blob> blobs_;
};

class Journal {
 public:
  struct ReplayStats {
    size_t records = 0;
    size_t discarded_bytes = 0;  // torn or corrupt tails dropped
    size_t damaged_sections = 0;
  };

  explicit Journal(JournalStore& store, View views_per_section = 64);

  // Every intact record, by section then position; repairs damaged tails durably.
  std::vector<Bytes> replay(ReplayStats* stats = nullptr);
  void append(View view, ByteView record);
  // One sync per section written since the previous sync (an event loop iteration coalesces
  // all its appends into one sync).
  void sync();
  bool dirty() const { return !dirty_.empty(); }
  // Removes every section whose views all lie below `view`.
  void prune(View view);

 private:
  JournalStore& store_;
  View per_section_;
  std::set<uint64_t> dirty_;
};

}  // namespace guts::consensus
