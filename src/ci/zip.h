// Zip archives of CI artifacts (docs/ci.md "Artifacts"): GitHub serves an artifact as a zip, so
// the runner packs the files a step uploaded into one, and `guts run download` unpacks it.
// Only the "stored" method (no compression), no zip64, no encryption: an archive is at most
// state::kMaxArtifactBytes. Entries carry a fixed date (1980-01-01), so the same files give the
// same bytes (and the same SHA-256).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace guts::ci {

inline constexpr size_t kMaxZipEntries = 10000;
inline constexpr size_t kMaxZipName = 1024;

struct ZipEntry {
  std::string name;  // relative, '/'-separated
  std::string data;
  uint32_t mode = 0644;  // unix permission bits
  bool operator==(const ZipEntry&) const = default;
};

// Whether `name` is a safe relative path: non-empty, ≤ kMaxZipName, no NUL or backslash, not
// absolute, no empty, "." or ".." component.
bool safe_zip_name(std::string_view name);

// A stored-method archive of `entries` (in order); CRC-32 from zlib.
std::string write_zip(const std::vector<ZipEntry>& entries);

// Reads an archive written by write_zip (or any stored-method, non-zip64 archive): bounded
// (≤ kMaxZipEntries, names checked with safe_zip_name, every offset inside `data`), CRC-32
// checked. kInvalidArgument with the reason otherwise.
Result<std::vector<ZipEntry>> read_zip(std::string_view data);

}  // namespace guts::ci
