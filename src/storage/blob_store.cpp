#include "storage/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/fs.h"
#include "core/status.h"
#include "crypto/hash.h"

namespace guts::storage {

namespace {

[[noreturn]] void io_fail(const std::string& what, const std::filesystem::path& path) {
  throw Error(Code::kInternal, what + " " + path.string() + ": " + std::strerror(errno));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string random_name() {
  auto r = crypto::random_array<16>();
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : r) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

}  // namespace

std::string sha256_hex(const Sha256& sha) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (uint8_t b : sha) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

std::optional<Sha256> parse_sha256(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Sha256 out{};
  for (size_t i = 0; i < 32; ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

struct BlobStore::Writer::Impl {
  const BlobStore* store = nullptr;
  std::filesystem::path tmp;
  int fd = -1;
  uint64_t max_size = 0;
  crypto::Sha256 hash;

  void discard() {
    if (fd >= 0) ::close(fd);
    fd = -1;
    if (!tmp.empty()) ::unlink(tmp.c_str());
    tmp.clear();
  }
};

BlobStore::Writer::Writer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BlobStore::Writer::~Writer() {
  if (impl_) impl_->discard();
}

void BlobStore::Writer::write(ByteView data) {
  if (!impl_ || impl_->fd < 0) throw Error(Code::kInternal, "blob writer already finished");
  if (data.size() > impl_->max_size - size_) {
    impl_->discard();
    throw Error(Code::kTooLarge,
                "blob larger than the limit of " + std::to_string(impl_->max_size) + " bytes");
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(impl_->fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto tmp = impl_->tmp;
      impl_->discard();
      io_fail("write", tmp);
    }
    off += static_cast<size_t>(n);
  }
  impl_->hash.update(data);
  size_ += data.size();
}

Sha256 BlobStore::Writer::commit(const std::optional<Sha256>& expected,
                                 std::optional<uint64_t> expected_size) {
  if (!impl_ || impl_->fd < 0) throw Error(Code::kInternal, "blob writer already finished");
  Sha256 sha = impl_->hash.finish();
  if (expected_size && *expected_size != size_) {
    impl_->discard();
    throw Error(Code::kInvalidArgument, "blob size " + std::to_string(size_) +
                                            " does not match the expected " +
                                            std::to_string(*expected_size));
  }
  if (expected && *expected != sha) {
    impl_->discard();
    throw Error(Code::kInvalidArgument, "blob content hashes to " + sha256_hex(sha) +
                                            ", expected " + sha256_hex(*expected));
  }
  if (::fsync(impl_->fd) != 0) {
    auto tmp = impl_->tmp;
    impl_->discard();
    io_fail("fsync", tmp);
  }
  ::close(impl_->fd);
  impl_->fd = -1;
  auto dest = impl_->store->path_of(sha);
  std::error_code ec;
  std::filesystem::create_directories(dest.parent_path(), ec);
  if (ec) {
    impl_->discard();
    throw Error(Code::kInternal, "create " + dest.parent_path().string() + ": " + ec.message());
  }
  if (::rename(impl_->tmp.c_str(), dest.c_str()) != 0) {
    auto tmp = impl_->tmp;
    impl_->discard();
    io_fail("rename", tmp);
  }
  impl_->tmp.clear();
  fsync_dir(dest.parent_path());
  return sha;
}

BlobStore::BlobStore(std::filesystem::path root) : root_(std::move(root)) {
  std::filesystem::create_directories(root_ / "tmp");
  // Temporaries of writes a crash interrupted: never visible, safe to remove.
  for (const auto& entry : std::filesystem::directory_iterator(root_ / "tmp")) {
    std::error_code ec;
    std::filesystem::remove(entry.path(), ec);
  }
}

std::filesystem::path BlobStore::path_of(const Sha256& sha) const {
  auto hex = sha256_hex(sha);
  return root_ / hex.substr(0, 2) / hex;
}

std::unique_ptr<BlobStore::Writer> BlobStore::begin(uint64_t max_size) const {
  auto impl = std::make_unique<Writer::Impl>();
  impl->store = this;
  impl->max_size = max_size;
  impl->tmp = root_ / "tmp" / random_name();
  impl->fd = ::open(impl->tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (impl->fd < 0) io_fail("create", impl->tmp);
  return std::unique_ptr<Writer>(new Writer(std::move(impl)));
}

Sha256 BlobStore::put(ByteView data, const std::optional<Sha256>& expected) const {
  auto w = begin(data.size());
  w->write(data);
  return w->commit(expected);
}

bool BlobStore::contains(const Sha256& sha) const {
  return size(sha).has_value();
}

std::optional<uint64_t> BlobStore::size(const Sha256& sha) const {
  struct stat st {};
  if (::stat(path_of(sha).c_str(), &st) != 0) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

Bytes BlobStore::read(const Sha256& sha, size_t max_size) const {
  try {
    return read_file(path_of(sha), max_size);
  } catch (const Error& e) {
    if (e.code() == Code::kNotFound) throw Error(Code::kNotFound, "no blob " + sha256_hex(sha));
    throw;
  }
}

Bytes BlobStore::read_range(const Sha256& sha, uint64_t offset, size_t length) const {
  auto path = path_of(sha);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw Error(Code::kNotFound, "no blob " + sha256_hex(sha));
    io_fail("open", path);
  }
  Bytes out(length);
  size_t got = 0;
  while (got < length) {
    ssize_t n = ::pread(fd, out.data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      io_fail("read", path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

bool BlobStore::remove(const Sha256& sha) const {
  auto path = path_of(sha);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return false;
    io_fail("unlink", path);
  }
  fsync_dir(path.parent_path());
  return true;
}

std::vector<BlobStore::Entry> BlobStore::list() const {
  std::vector<Entry> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator dir(root_, ec), end; !ec && dir != end;
       dir.increment(ec)) {
    const auto shard = dir->path().filename().string();
    if (shard.size() != 2 || !dir->is_directory()) continue;  // tmp/ and strays
    for (std::filesystem::directory_iterator f(dir->path(), ec), fend; !ec && f != fend;
         f.increment(ec)) {
      auto sha = parse_sha256(f->path().filename().string());
      if (!sha || sha256_hex(*sha).compare(0, 2, shard) != 0) continue;
      struct stat st {};
      if (::stat(f->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      out.push_back({*sha, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)});
    }
  }
  if (ec) io_fail("list", root_);
  return out;
}

}  // namespace guts::storage
