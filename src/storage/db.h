// RocksDB on disk: column families per concern, atomic write batches (optionally fsynced),
// point reads, ordered iteration and snapshots. RocksDB headers stay inside db.cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guts::storage {

class Db;

// A handle to a column family of one Db (index into its family list).
struct Cf {
  int index = 0;
};

class Batch {
 public:
  Batch();
  ~Batch();
  Batch(Batch&&) noexcept;
  Batch& operator=(Batch&&) noexcept;
  void put(Cf cf, std::string_view key, std::string_view value);
  void del(Cf cf, std::string_view key);
  size_t count() const;
  size_t byte_size() const;

 private:
  friend class Db;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Iterator {
 public:
  virtual ~Iterator() = default;
  virtual bool valid() const = 0;
  virtual void seek(std::string_view key) = 0;           // first key >= key
  virtual void seek_for_prev(std::string_view key) = 0;  // last key <= key
  virtual void next() = 0;
  virtual void prev() = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
};

class Snapshot;

// A file system in memory (RocksDB's mock file system): the files of every Db opened on it live
// as long as the last of it and them. For the simulator and tests; nothing is on disk, so a
// "crash" is whatever the owner does to the Db (close it, or open a fresh MemoryFs).
class MemoryFs;
std::shared_ptr<MemoryFs> make_memory_fs();
// A new MemoryFs holding a copy of the files in `dir` of `from` (a closed database: e.g. one
// just created, so that each simulated node starts from it without creating it again).
std::shared_ptr<MemoryFs> copy_memory_fs(const MemoryFs& from, const std::filesystem::path& dir);

struct OpenOptions {
  std::shared_ptr<MemoryFs> memory;  // null: the real file system
  // Small and quiet: one background job, 1 MiB write buffers, no info log, no statistics dumps.
  // For short-lived databases of tests and the simulator; same data, same durability.
  bool light = false;
};

class Db {
 public:
  // Opens (creating if needed) a database with exactly these column families ("default" is
  // implicit). Throws guts::Error on failure.
  static std::unique_ptr<Db> open(const std::filesystem::path& path,
                                  const std::vector<std::string>& families,
                                  const OpenOptions& options = {});
  // Opens the existing database at `path` read-only with all of its column families, writing
  // nothing (no info log, no recovery); nullptr when there is no database there. For checks
  // before open(), such as the storage version (storage/migrations.h).
  static std::unique_ptr<Db> open_read_only(const std::filesystem::path& path,
                                            const OpenOptions& options = {});
  ~Db();

  Cf cf(std::string_view name) const;                    // throws if unknown
  const std::vector<std::string>& family_names() const;  // "default" included

  std::optional<std::string> get(Cf cf, std::string_view key) const;
  // sync=true: the write is on stable storage when this returns (WAL fsync).
  void write(Batch& batch, bool sync);
  void put(Cf cf, std::string_view key, std::string_view value, bool sync = false);

  std::unique_ptr<Iterator> iterate(Cf cf) const;
  // Calls fn(key, value) for keys starting with prefix, in order, until fn returns false.
  void scan_prefix(Cf cf, std::string_view prefix,
                   const std::function<bool(std::string_view, std::string_view)>& fn) const;

  // A consistent copy of the whole database in `dir` (which must not exist; its parent must),
  // openable with Db::open: RocksDB's Checkpoint (memtables flushed first, SST files hard-linked
  // when `dir` is on the same file system, else copied; MANIFEST and WAL copied). Concurrent
  // writes are fine: the copy holds every batch written before the call and none partially.
  // Not for a MemoryFs database. Throws guts::Error on failure (a partial `dir` is removed).
  void checkpoint(const std::filesystem::path& dir) const;

  std::shared_ptr<const Snapshot> snapshot() const;
  std::optional<std::string> get(const Snapshot& snap, Cf cf, std::string_view key) const;
  std::unique_ptr<Iterator> iterate(const Snapshot& snap, Cf cf) const;

  // An integer RocksDB property summed over every column family (e.g.
  // "rocksdb.estimate-live-data-size", "rocksdb.total-sst-files-size"); nullopt when RocksDB does
  // not know it. For metrics; cheap (no I/O).
  std::optional<uint64_t> property(std::string_view name) const;

  struct Impl;

 private:
  explicit Db(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Big-endian fixed-width integers make keys sort numerically.
std::string be64(uint64_t v);
uint64_t read_be64(std::string_view s);

}  // namespace guts::storage
