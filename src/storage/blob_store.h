// Content-addressed storage of large binary objects that are not git objects: Git LFS objects
// and release assets (docs/blobs.md). A blob is named by the SHA-256 of its bytes;
// writes are streamed, verified and atomic, so a reader never sees a partial or wrong blob and a
// kill -9 at any moment leaves either no blob or the whole one.
//
// Layout: <root>/<hh>/<64 hex digits>, hh = the first two digits; writes go to
// <root>/tmp/<random> and are renamed into place after fsync (then the directory is fsynced).
// Thread-safe: every method may be called from any thread; concurrent writes of the same blob
// are harmless (the same bytes win the rename).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"

namespace guts::storage {

using Sha256 = std::array<uint8_t, 32>;

// 64 lower-case hex digits <-> binary; parse_sha256 returns nullopt on anything else.
std::string sha256_hex(const Sha256& sha);
std::optional<Sha256> parse_sha256(std::string_view hex);

class BlobStore {
 public:
  // Creates `root` (and root/tmp) when missing; removes temporaries a crash left behind.
  explicit BlobStore(std::filesystem::path root);

  // A streamed write. Bytes go to a temporary file; commit() checks the size and, when given,
  // the expected SHA-256, then makes the blob visible atomically. A Writer destroyed without
  // commit() (an aborted upload) leaves nothing behind.
  class Writer {
   public:
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    // Throws guts::Error(kTooLarge) past `max_size` (nothing is kept), kInternal on I/O errors.
    void write(ByteView data);
    uint64_t size() const { return size_; }
    // Throws guts::Error(kInvalidArgument) when the bytes do not hash to `expected` (or their
    // size differs from `expected_size`); the temporary is removed. Returns the blob's id.
    Sha256 commit(const std::optional<Sha256>& expected = std::nullopt,
                  std::optional<uint64_t> expected_size = std::nullopt);

   private:
    friend class BlobStore;
    struct Impl;
    explicit Writer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    uint64_t size_ = 0;
  };

  // A new write bounded by `max_size` bytes.
  std::unique_ptr<Writer> begin(uint64_t max_size) const;
  // One-shot write of an in-memory blob (same guarantees).
  Sha256 put(ByteView data, const std::optional<Sha256>& expected = std::nullopt) const;

  bool contains(const Sha256& sha) const;
  // Size in bytes, nullopt when absent.
  std::optional<uint64_t> size(const Sha256& sha) const;
  // The whole blob; throws guts::Error(kNotFound) when absent, kTooLarge over `max_size`.
  Bytes read(const Sha256& sha, size_t max_size = 64 << 20) const;
  // Reads up to `length` bytes from `offset` (short at the end; empty past it). For streaming
  // a large blob to a client or a peer in chunks. Throws kNotFound when absent.
  Bytes read_range(const Sha256& sha, uint64_t offset, size_t length) const;
  // Removes a blob (retention, garbage collection); false when it was absent.
  bool remove(const Sha256& sha) const;

  struct Entry {
    Sha256 sha{};
    uint64_t size = 0;
    int64_t mtime_s = 0;  // when it was stored (Unix seconds)
  };
  // Every stored blob (not the temporaries), in no particular order; files whose names are not
  // blob names are skipped.
  std::vector<Entry> list() const;

  // Where the blob is (or would be) stored; for serving with sendfile and for tests.
  std::filesystem::path path_of(const Sha256& sha) const;
  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
};

}  // namespace guts::storage
