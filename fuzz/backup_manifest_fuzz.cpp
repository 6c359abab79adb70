// The backup manifest parser (node/backup_manifest.h) on arbitrary bytes: it either returns a
// manifest within its bounds, every path one a backup may hold, or throws guts::Error; what it
// returns encodes back to text that parses to the same manifest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/status.h"
#include "node/backup_manifest.h"

using namespace guts;
using namespace guts::node;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  BackupManifest m;
  try {
    m = parse_backup_manifest(text);
  } catch (const Error&) {
    return 0;
  }
  if (m.files.size() > kBackupMaxFiles) std::abort();
  for (size_t i = 0; i < m.files.size(); ++i) {
    const auto& p = m.files[i].path;
    if (!is_valid_backup_path(p) || p.find("..") == 0 || p.front() == '/') std::abort();
    if (p.find("/../") != std::string::npos || p.find("/./") != std::string::npos) std::abort();
    if (i > 0 && !(m.files[i - 1].path < p)) std::abort();
  }
  std::string again;
  try {
    again = encode_backup_manifest(m);
  } catch (const Error&) {
    std::abort();  // what the parser accepted must encode
  }
  BackupManifest back;
  try {
    back = parse_backup_manifest(again);
  } catch (const Error&) {
    std::abort();
  }
  if (!(back == m)) std::abort();
  return 0;
}
