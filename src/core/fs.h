// File helpers with the durability Guts needs: atomic replace with fsync of file and directory.
#pragma once

#include <filesystem>
#include <string>

#include "core/bytes.h"

namespace guts {

// Writes `data` to `path` atomically: temp file in the same directory, fsync, rename, fsync dir.
// A crash leaves either the old or the new content, never a mix. `mode` applies from creation,
// so a secret is never readable by others, not even briefly.
void atomic_write_file(const std::filesystem::path& path, ByteView data, unsigned mode = 0644);

// Reads a whole file; throws guts::Error(kNotFound / kTooLarge / kInternal).
Bytes read_file(const std::filesystem::path& path, size_t max_size = 64 << 20);

// fsync a directory so that entries created or renamed in it survive a crash.
void fsync_dir(const std::filesystem::path& dir);

}  // namespace guts
