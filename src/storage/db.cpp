#include "storage/db.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "core/status.h"

namespace guts::storage {

namespace {
[[noreturn]] void fail(const rocksdb::Status& s, const std::string& what) {
  throw Error(Code::kInternal, "rocksdb " + what + ": " + s.ToString());
}
}  // namespace

struct Batch::Impl {
  rocksdb::WriteBatch wb;
};

class Snapshot {
 public:
  Snapshot(rocksdb::DB* db, const rocksdb::Snapshot* s) : db_(db), s_(s) {}
  ~Snapshot() { db_->ReleaseSnapshot(s_); }
  const rocksdb::Snapshot* get() const { return s_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* s_;
};

class MemoryFs {
 public:
  MemoryFs() : env(rocksdb::NewMemEnv(rocksdb::Env::Default())) {}
  std::unique_ptr<rocksdb::Env> env;
};

std::shared_ptr<MemoryFs> make_memory_fs() {
  return std::make_shared<MemoryFs>();
}

std::shared_ptr<MemoryFs> copy_memory_fs(const MemoryFs& from, const std::filesystem::path& dir) {
  auto to = make_memory_fs();
  std::vector<std::string> names;
  auto s = from.env->GetChildren(dir.string(), &names);
  if (!s.ok()) fail(s, "list " + dir.string());
  s = to->env->CreateDirIfMissing(dir.string());
  if (!s.ok()) fail(s, "create " + dir.string());
  for (const auto& name : names) {
    if (name == "." || name == ".." || name == "LOCK") continue;  // RocksDB makes its own
    std::string file = (dir / name).string(), data;
    s = rocksdb::ReadFileToString(from.env.get(), file, &data);
    if (!s.ok()) fail(s, "read " + file);
    s = rocksdb::WriteStringToFile(to->env.get(), data, file, /*should_sync=*/true);
    if (!s.ok()) fail(s, "write " + file);
  }
  return to;
}

namespace {
class NullLogger : public rocksdb::Logger {
 public:
  NullLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::FATAL_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};
}  // namespace

struct Db::Impl {
  std::shared_ptr<MemoryFs> memory;  // first: outlives the database on it
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::vector<std::string> names;
  ~Impl() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  }
  rocksdb::ColumnFamilyHandle* h(Cf cf) const { return handles.at(static_cast<size_t>(cf.index)); }
};

Batch::Batch() : impl_(std::make_unique<Impl>()) {}
Batch::~Batch() = default;
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&&) noexcept = default;

// Column family ids in RocksDB are assigned in creation order; Db::open creates families in the
// order given, and verifies the ids match our indices, so a WriteBatch can carry the index as id.
namespace {
class IdHandle : public rocksdb::ColumnFamilyHandle {
 public:
  explicit IdHandle(uint32_t id) : id_(id) {}
  const std::string& GetName() const override { return name_; }
  uint32_t GetID() const override { return id_; }
  rocksdb::Status GetDescriptor(rocksdb::ColumnFamilyDescriptor*) override {
    return rocksdb::Status::NotSupported();
  }
  const rocksdb::Comparator* GetComparator() const override {
    return rocksdb::BytewiseComparator();
  }

 private:
  uint32_t id_;
  std::string name_;
};
}  // namespace

void Batch::put(Cf cf, std::string_view key, std::string_view value) {
  IdHandle h(static_cast<uint32_t>(cf.index));
  impl_->wb.Put(&h, rocksdb::Slice(key.data(), key.size()),
                rocksdb::Slice(value.data(), value.size()));
}

void Batch::del(Cf cf, std::string_view key) {
  IdHandle h(static_cast<uint32_t>(cf.index));
  impl_->wb.Delete(&h, rocksdb::Slice(key.data(), key.size()));
}

size_t Batch::count() const {
  return static_cast<size_t>(impl_->wb.Count());
}
size_t Batch::byte_size() const {
  return impl_->wb.GetDataSize();
}

Db::Db(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Db::~Db() = default;

std::unique_ptr<Db> Db::open(const std::filesystem::path& path,
                             const std::vector<std::string>& families, const OpenOptions& o) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_background_jobs = 2;
  options.keep_log_file_num = 4;
  options.max_manifest_file_size = 64 << 20;
  // A write-ahead log is kept until every family with writes in it has flushed, so one family
  // written rarely held the log of every other: after a million issues a restart replayed 22
  // logs, 11.5 s before the node could start (docs/benchmarks.md "A node with a million
  // issues"). Past this total the families holding the oldest log are flushed, which bounds the
  // replay at every start, after a crash too.
  options.max_total_wal_size = 64 << 20;
  if (o.memory) {
    options.env = o.memory->env.get();
  } else {
    std::filesystem::create_directories(path);
  }
  if (o.light) {
    options.max_background_jobs = 1;
    options.write_buffer_size = 1 << 20;
    options.max_file_opening_threads = 1;  // default 16: threads started per family per open
    options.info_log = std::make_shared<NullLogger>();
    options.stats_dump_period_sec = 0;
    options.stats_persist_period_sec = 0;
    options.avoid_flush_during_shutdown = true;
    options.skip_stats_update_on_db_open = true;
  }
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options(options);
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  // Families must be created in the given order the first time so their ids match indices.
  std::vector<std::string> existing;
  rocksdb::DB::ListColumnFamilies(options, path.string(), &existing);
  std::vector<std::string> all{rocksdb::kDefaultColumnFamilyName};
  all.insert(all.end(), families.begin(), families.end());

  auto impl = std::make_unique<Impl>();
  if (existing.empty()) {
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::Open(options, path.string(), &raw);
    if (!s.ok()) fail(s, "open " + path.string());
    std::unique_ptr<rocksdb::DB> db(raw);
    // One call: the families get ids 1..n in this order, and the options file is written once.
    std::vector<rocksdb::ColumnFamilyHandle*> created;
    s = db->CreateColumnFamilies(cf_options, families, &created);
    for (auto* h : created) db->DestroyColumnFamilyHandle(h);
    if (!s.ok()) fail(s, "create column families");
    db.reset();
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& name : all) descs.emplace_back(name, cf_options);
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(options, path.string(), descs, &impl->handles, &raw);
  if (!s.ok()) fail(s, "open " + path.string());
  impl->memory = o.memory;
  impl->db.reset(raw);
  impl->names = all;
  for (size_t i = 0; i < impl->handles.size(); ++i) {
    if (impl->handles[i]->GetID() != i)
      throw Error(Code::kInternal, "column family ids out of order in " + path.string() +
                                       " (database created by an incompatible version)");
  }
  return std::unique_ptr<Db>(new Db(std::move(impl)));
}

std::unique_ptr<Db> Db::open_read_only(const std::filesystem::path& path, const OpenOptions& o) {
  rocksdb::Options options;
  options.create_if_missing = false;
  options.max_background_jobs = 1;
  options.max_file_opening_threads = 1;
  options.info_log = std::make_shared<NullLogger>();  // a LOG file would be a write
  options.stats_dump_period_sec = 0;
  options.stats_persist_period_sec = 0;
  if (o.memory) options.env = o.memory->env.get();
  std::vector<std::string> existing;
  auto s = rocksdb::DB::ListColumnFamilies(options, path.string(), &existing);
  if (!s.ok() || existing.empty()) return nullptr;  // no database (or no manifest) there
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& name : existing) descs.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
  auto impl = std::make_unique<Impl>();
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenForReadOnly(options, path.string(), descs, &impl->handles, &raw);
  if (!s.ok()) fail(s, "open " + path.string() + " read-only");
  impl->memory = o.memory;
  impl->db.reset(raw);
  impl->names = existing;
  return std::unique_ptr<Db>(new Db(std::move(impl)));
}

const std::vector<std::string>& Db::family_names() const {
  return impl_->names;
}

Cf Db::cf(std::string_view name) const {
  for (size_t i = 0; i < impl_->names.size(); ++i)
    if (impl_->names[i] == name) return Cf{static_cast<int>(i)};
  throw Error(Code::kInternal, "unknown column family " + std::string(name));
}

std::optional<std::string> Db::get(Cf cf, std::string_view key) const {
  std::string value;
  auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->h(cf),
                          rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) fail(s, "get");
  return value;
}

void Db::write(Batch& batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  auto s = impl_->db->Write(wo, &batch.impl_->wb);
  if (!s.ok()) fail(s, "write");
}

void Db::put(Cf cf, std::string_view key, std::string_view value, bool sync) {
  Batch b;
  b.put(cf, key, value);
  write(b, sync);
}

namespace {
class RocksIterator : public Iterator {
 public:
  explicit RocksIterator(rocksdb::Iterator* it) : it_(it) {}
  bool valid() const override { return it_->Valid(); }
  void seek(std::string_view k) override { it_->Seek(rocksdb::Slice(k.data(), k.size())); }
  void seek_for_prev(std::string_view k) override {
    it_->SeekForPrev(rocksdb::Slice(k.data(), k.size()));
  }
  void next() override { it_->Next(); }
  void prev() override { it_->Prev(); }
  std::string_view key() const override {
    auto s = it_->key();
    return {s.data(), s.size()};
  }
  std::string_view value() const override {
    auto s = it_->value();
    return {s.data(), s.size()};
  }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};
}  // namespace

std::unique_ptr<Iterator> Db::iterate(Cf cf) const {
  return std::make_unique<RocksIterator>(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->h(cf)));
}

void Db::scan_prefix(Cf cf, std::string_view prefix,
                     const std::function<bool(std::string_view, std::string_view)>& fn) const {
  auto it = iterate(cf);
  for (it->seek(prefix); it->valid(); it->next()) {
    auto k = it->key();
    if (k.substr(0, prefix.size()) != prefix) break;
    if (!fn(k, it->value())) break;
  }
}

void Db::checkpoint(const std::filesystem::path& dir) const {
  if (impl_->memory) throw Error(Code::kInternal, "checkpoint of an in-memory database");
  if (std::filesystem::exists(dir))
    throw Error(Code::kConflict, "checkpoint directory " + dir.string() + " already exists");
  rocksdb::Checkpoint* raw = nullptr;
  auto s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  if (!s.ok()) fail(s, "checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  s = cp->CreateCheckpoint(dir.string(), /*log_size_for_flush=*/0);
  if (!s.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    fail(s, "checkpoint to " + dir.string());
  }
}

std::shared_ptr<const Snapshot> Db::snapshot() const {
  return std::make_shared<Snapshot>(impl_->db.get(), impl_->db->GetSnapshot());
}

std::optional<std::string> Db::get(const Snapshot& snap, Cf cf, std::string_view key) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.get();
  std::string value;
  auto s = impl_->db->Get(ro, impl_->h(cf), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) fail(s, "get");
  return value;
}

std::unique_ptr<Iterator> Db::iterate(const Snapshot& snap, Cf cf) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.get();
  return std::make_unique<RocksIterator>(impl_->db->NewIterator(ro, impl_->h(cf)));
}

std::string be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i) {
    s[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return s;
}

uint64_t read_be64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

std::optional<uint64_t> Db::property(std::string_view name) const {
  uint64_t v = 0;
  if (!impl_->db->GetAggregatedIntProperty(rocksdb::Slice(name.data(), name.size()), &v))
    return std::nullopt;
  return v;
}

}  // namespace guts::storage
