#include "state/live_blobs.h"

#include <algorithm>
#include <map>

#include "state/artifact.h"
#include "state/artifact_state.h"
#include "state/ci.h"
#include "state/ci_runner.h"
#include "state/lfs.h"
#include "state/release.h"
#include "state/view.h"

namespace guts::state {

std::set<storage::Sha256> live_blobs(const StateView& view, uint64_t now_ms) {
  const auto& kv = view.kv();
  const auto cf = view.schema().governance;
  std::map<uint64_t, bool> exists;  // repository id -> whether it exists (not deleted)
  auto repo_exists = [&](uint64_t id) {
    auto [it, fresh] = exists.try_emplace(id, false);
    if (fresh) it->second = view.repo(id).has_value();
    return it->second;
  };
  auto sha_of = [](const auto& bytes) {
    storage::Sha256 s{};
    std::copy(bytes.begin(), bytes.end(), s.begin());
    return s;
  };
  std::set<storage::Sha256> live;
  // Git LFS objects: lfs:o·be64(repo)·oid32 -> size.
  kv.scan_prefix(cf, "lfs:o", [&](std::string_view k, std::string_view) {
    if (k.size() != 5 + 8 + 32) return true;
    if (repo_exists(storage::read_be64(k.substr(5, 8)))) {
      storage::Sha256 s{};
      std::copy(k.begin() + 13, k.end(), s.begin());
      live.insert(s);
    }
    return true;
  });
  // Release assets (deleting an asset or its release deletes the record).
  kv.scan_prefix(cf, "release/a", [&](std::string_view, std::string_view v) {
    auto a = decode_release_asset(v);
    if (repo_exists(a.repo_id)) live.insert(sha_of(a.sha256));
    return true;
  });
  // CI job logs: cir:l·be64(job) -> sha256 | size.
  kv.scan_prefix(cf, "cir:l", [&](std::string_view k, std::string_view v) {
    auto log = decode_job_log(v);
    auto job = k.size() == 13 ? runs::job(view.schema(), kv, storage::read_be64(k.substr(5)))
                              : std::nullopt;
    if (!job || repo_exists(job->repo_id)) live.insert(sha_of(log.sha256));
    return true;
  });
  // CI artifacts until they expire (by block time).
  kv.scan_prefix(cf, "cia:a", [&](std::string_view, std::string_view v) {
    auto a = decode_artifact(v);
    if (!artifact_expired(a, now_ms) && repo_exists(a.repo_id)) live.insert(sha_of(a.sha256));
    return true;
  });
  return live;
}

}  // namespace guts::state
