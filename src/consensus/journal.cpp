#include "consensus/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "core/fs.h"
#include "core/status.h"

namespace guts::consensus {

namespace {

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc32c_table();

constexpr size_t kHeader = 8;
constexpr uint32_t kMaxRecord = 1u << 20;

void put_u32be(Bytes& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
uint32_t get_u32be(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

[[noreturn]] void io_fail(const std::string& what) {
  throw Error(Code::kInternal, what + ": " + std::strerror(errno));
}

uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

uint32_t crc32c(ByteView data, uint32_t crc) {
  crc = ~crc;
  for (uint8_t b : data) crc = kCrcTable[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

// ---------------------------------------------------------------- files

FileJournalStore::FileJournalStore(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
}

FileJournalStore::~FileJournalStore() {
  for (auto& [s, fd] : fds_) ::close(fd);
}

std::filesystem::path FileJournalStore::path(uint64_t section) const {
  return dir_ / (std::to_string(section) + ".wal");
}

std::vector<uint64_t> FileJournalStore::sections() {
  std::set<uint64_t> out;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    auto name = e.path().filename().string();
    if (name.size() < 5 || name.substr(name.size() - 4) != ".wal") continue;
    auto stem = name.substr(0, name.size() - 4);
    if (stem.empty() || stem.find_first_not_of("0123456789") != std::string::npos) continue;
    out.insert(std::stoull(stem));
  }
  return {out.begin(), out.end()};
}

Bytes FileJournalStore::read(uint64_t section) {
  if (!std::filesystem::exists(path(section))) return {};
  return read_file(path(section), size_t{1} << 32);
}

int FileJournalStore::fd(uint64_t section) {
  auto it = fds_.find(section);
  if (it != fds_.end()) return it->second;
  bool existed = std::filesystem::exists(path(section));
  int fd = ::open(path(section).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) io_fail("open journal section");
  if (!existed) created_.insert(section);
  fds_.emplace(section, fd);
  return fd;
}

void FileJournalStore::append(uint64_t section, ByteView data) {
  int f = fd(section);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::write(f, data.data() + off, data.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      io_fail("write journal");
    }
    off += static_cast<size_t>(w);
  }
}

void FileJournalStore::sync(uint64_t section) {
  if (::fdatasync(fd(section)) != 0) io_fail("fsync journal");
  if (created_.erase(section)) fsync_dir(dir_);
}

void FileJournalStore::truncate(uint64_t section, size_t size) {
  int f = fd(section);
  if (::ftruncate(f, static_cast<off_t>(size)) != 0) io_fail("truncate journal");
  sync(section);
}

void FileJournalStore::remove(uint64_t section) {
  auto it = fds_.find(section);
  if (it != fds_.end()) {
    ::close(it->second);
    fds_.erase(it);
  }
  created_.erase(section);
  std::error_code ec;
  std::filesystem::remove(path(section), ec);
  fsync_dir(dir_);
}

// ---------------------------------------------------------------- memory

std::vector<uint64_t> MemoryJournalStore::sections() {
  std::vector<uint64_t> out;
  for (const auto& [s, b] : blobs_) out.push_back(s);
  return out;
}

Bytes MemoryJournalStore::read(uint64_t section) {
  auto it = blobs_.find(section);
  if (it == blobs_.end()) return {};
  Bytes out = it->second.durable;
  out.insert(out.end(), it->second.pending.begin(), it->second.pending.end());
  return out;
}

void MemoryJournalStore::append(uint64_t section, ByteView data) {
  auto& p = blobs_[section].pending;
  p.insert(p.end(), data.begin(), data.end());
}

void MemoryJournalStore::sync(uint64_t section) {
  auto it = blobs_.find(section);
  if (it == blobs_.end()) return;
  auto& b = it->second;
  b.durable.insert(b.durable.end(), b.pending.begin(), b.pending.end());
  b.pending.clear();
}

void MemoryJournalStore::truncate(uint64_t section, size_t size) {
  auto& b = blobs_[section];
  b.durable.insert(b.durable.end(), b.pending.begin(), b.pending.end());
  b.pending.clear();
  if (b.durable.size() > size) b.durable.resize(size);
}

void MemoryJournalStore::remove(uint64_t section) {
  blobs_.erase(section);
}

void MemoryJournalStore::crash(uint64_t entropy) {
  for (auto& [s, b] : blobs_) {
    if (entropy != 0 && !b.pending.empty()) {
      size_t keep = splitmix(entropy) % (b.pending.size() + 1);
      b.durable.insert(b.durable.end(), b.pending.begin(), b.pending.begin() + keep);
    }
    b.pending.clear();
  }
}

size_t MemoryJournalStore::unsynced_bytes() const {
  size_t n = 0;
  for (const auto& [s, b] : blobs_) n += b.pending.size();
  return n;
}

// ---------------------------------------------------------------- journal

Journal::Journal(JournalStore& store, View views_per_section)
    : store_(store), per_section_(views_per_section == 0 ? 1 : views_per_section) {}

std::vector<Bytes> Journal::replay(ReplayStats* stats) {
  ReplayStats local;
  std::vector<Bytes> out;
  for (uint64_t section : store_.sections()) {
    Bytes data = store_.read(section);
    size_t pos = 0;
    while (pos < data.size()) {
      if (data.size() - pos < kHeader) break;
      uint32_t len = get_u32be(&data[pos]);
      uint32_t crc = get_u32be(&data[pos + 4]);
      if (len > kMaxRecord || data.size() - pos - kHeader < len) break;
      uint32_t actual = crc32c(ByteView(&data[pos], 4));
      actual = crc32c(ByteView(data.data() + pos + kHeader, len), actual);
      if (actual != crc) break;
      out.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(pos + kHeader),
                       data.begin() + static_cast<std::ptrdiff_t>(pos + kHeader + len));
      ++local.records;
      pos += kHeader + len;
    }
    if (pos < data.size()) {
      local.discarded_bytes += data.size() - pos;
      ++local.damaged_sections;
      store_.truncate(section, pos);
    }
  }
  if (stats) *stats = local;
  return out;
}

void Journal::append(View view, ByteView record) {
  Bytes frame;
  frame.reserve(kHeader + record.size());
  put_u32be(frame, static_cast<uint32_t>(record.size()));
  uint32_t crc = crc32c(ByteView(frame.data(), 4));
  crc = crc32c(record, crc);
  put_u32be(frame, crc);
  frame.insert(frame.end(), record.begin(), record.end());
  uint64_t section = view / per_section_;
  store_.append(section, frame);
  dirty_.insert(section);
}

void Journal::sync() {
  for (uint64_t s : dirty_) store_.sync(s);
  dirty_.clear();
}

void Journal::prune(View view) {
  for (uint64_t s : store_.sections()) {
    // Section s holds views [s*per, (s+1)*per).
    if ((s + 1) * per_section_ <= view) {
      store_.remove(s);
      dirty_.erase(s);
    }
  }
}

}  // namespace guts::consensus
