#include "runner/artifacts.h"

#include <algorithm>
#include <fstream>

#include "ci/zip.h"
#include "state/artifact.h"

namespace guts::runner {

namespace fs = std::filesystem;

std::string artifact_tool_script() {
  return R"SH(#!/bin/bash
# guts-artifact upload [--retention-days N] NAME PATH...  (docs/ci.md "Artifacts")
set -euo pipefail
usage() { echo "usage: guts-artifact upload [--retention-days N] NAME PATH..." >&2; exit 2; }
[ "${1:-}" = upload ] || usage
shift
days=0
if [ "${1:-}" = --retention-days ]; then
  [ $# -ge 2 ] || usage
  days=$2
  shift 2
fi
[[ "$days" =~ ^[0-9]{1,3}$ ]] || { echo "guts-artifact: --retention-days is a number of days" >&2; exit 2; }
[ $# -ge 2 ] || usage
name=$1
shift
case "$name" in
  "" | . | .. | */* | *\\* | *:* | *\"* | *\<* | *\>* | *\|* | *\** | *\?*)
    echo "guts-artifact: invalid artifact name: $name" >&2; exit 2 ;;
esac
out="/tmp/.guts-artifacts/$name"
[ -d /tmp/.guts-artifacts ] || { echo "guts-artifact: no artifact outbox in this sandbox" >&2; exit 1; }
for p in "$@"; do
  case "/$p/" in
    */../*) echo "guts-artifact: $p: paths with .. are not allowed" >&2; exit 2 ;;
  esac
  [ -e "$p" ] || { echo "guts-artifact: $p: no such file or directory" >&2; exit 1; }
done
mkdir -p "$out/files"
for p in "$@"; do
  cp -R --parents -- "$p" "$out/files/"
done
echo "$days" > "$out/retention-days"
echo "guts-artifact: $name: $(find "$out/files" -type f | wc -l) file(s) staged"
)SH";
}

std::vector<PackedArtifact> pack_artifacts(const fs::path& outbox) {
  std::vector<PackedArtifact> out;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(outbox, ec))) return out;
  std::vector<fs::path> dirs;
  for (const auto& d : fs::directory_iterator(outbox, ec))
    if (d.is_directory() && !d.is_symlink()) dirs.push_back(d.path());
  std::sort(dirs.begin(), dirs.end());
  for (const auto& dir : dirs) {
    PackedArtifact a;
    a.name = dir.filename().string();
    if (!state::valid_artifact_name(a.name)) {
      a.error = "invalid artifact name";
      out.push_back(std::move(a));
      continue;
    }
    {
      std::ifstream days(dir / "retention-days");
      uint32_t n = 0;
      if (days >> n) a.retention_days = std::min(n, state::kMaxArtifactRetentionDays);
    }
    std::vector<ci::ZipEntry> entries;
    uint64_t total = 0;
    const auto root = dir / "files";
    std::vector<fs::path> files;
    if (fs::is_directory(fs::symlink_status(root, ec))) {
      for (auto it = fs::recursive_directory_iterator(root, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        auto st = it->symlink_status(ec);
        if (fs::is_regular_file(st)) files.push_back(it->path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto rel = f.lexically_relative(root).generic_string();
      auto size = fs::file_size(f, ec);
      if (ec || !ci::safe_zip_name(rel)) continue;
      total += size + 100 + rel.size();
      if (total > state::kMaxArtifactBytes || entries.size() >= ci::kMaxZipEntries) {
        a.error = "over the artifact limits (64 MiB, 10,000 files)";
        break;
      }
      std::ifstream in(f, std::ios::binary);
      ci::ZipEntry e;
      e.name = rel;
      e.data.assign(std::istreambuf_iterator<char>(in), {});
      auto perms = fs::status(f, ec).permissions();
      e.mode = (perms & fs::perms::owner_exec) != fs::perms::none ? 0755 : 0644;
      entries.push_back(std::move(e));
    }
    if (a.error.empty() && entries.empty()) a.error = "no files";
    if (a.error.empty()) a.zip = ci::write_zip(entries);
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace guts::runner
