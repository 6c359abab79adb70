#include "state/blob_refs.h"

#include <algorithm>

namespace guts::state {

std::vector<BlobRef> blob_refs(const Transaction& tx) {
  std::vector<BlobRef> refs;
  // One block per feature that stores blobs (a visit over tx.body's alternatives).
  // Releases: an added asset's bytes (state/release.h).
  if (const auto* a = std::get_if<SetReleaseAsset>(&tx.body); a && a->asset_id == 0 && !a->remove) {
    BlobRef ref;
    ref.repo_id = a->repo_id;
    std::copy(a->sha256.begin(), a->sha256.end(), ref.sha256.begin());
    ref.size = a->size;
    refs.push_back(ref);
  }
  // Git LFS objects (state/lfs.h): hosted by the repository's seeds.
  if (const auto* lfs = std::get_if<LfsAddObjects>(&tx.body)) {
    for (const auto& o : lfs->objects) refs.push_back({lfs->repo_id, o.oid, o.size});
  }
  // CI runners (state/ci_runner.h): a job's full log, hosted by the repository's seeds.
  if (const auto* log = std::get_if<SetJobLog>(&tx.body))
    refs.push_back({log->repo_id, log->sha256, log->size});
  // CI/CD artifacts (state/artifact.h): the artifact's zip, hosted by the repository's seeds.
  if (const auto* a = std::get_if<CreateArtifact>(&tx.body))
    refs.push_back({a->repo_id, a->sha256, a->size});
  return refs;
}

std::vector<BlobRef> blob_refs(const Block& block) {
  std::vector<BlobRef> out;
  for (const auto& tx : block.txs) {
    for (auto& ref : blob_refs(tx)) {
      if (std::find(out.begin(), out.end(), ref) == out.end()) out.push_back(ref);
    }
  }
  return out;
}

}  // namespace guts::state
