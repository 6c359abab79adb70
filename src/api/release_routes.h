// Releases and release assets in GitHub's shapes (api/release_routes.cpp; docs/releases.md).
//
//   /api/v3/repos/{o}/{r}/releases[/latest|/tags/{tag}|/{id}[/assets]|/assets/{asset_id}]
//   POST /api/uploads/repos/{o}/{r}/releases/{id}/assets?name=&label=   (the upload_url; the same
//        path under /api/v3/repos/... is accepted too). The body is streamed into the node's
//        BlobStore, bounded by ReleaseOptions::max_asset_bytes (413 above it, nothing stored).
//   GET  /{o}/{r}/releases/download/{tag}/{name}                        (browser_download_url)
// Drafts are visible only to callers with write (push) access; to others they are 404.
#pragma once

#include <cstdint>
#include <vector>

#include "api/github.h"
#include "api/router.h"
#include "api/services.h"
#include "state/release.h"

namespace guts::storage {
class BlobStore;
}

namespace guts::api {

struct ReleaseOptions {
  // Option release-asset-max-bytes: the largest asset this node accepts (at most
  // state::kMaxAssetBytes).
  uint64_t max_asset_bytes = state::kMaxAssetBytes;
};

void add_release_routes(Router& router, Services& services, storage::BlobStore& blobs,
                        ReleaseOptions options = {});

// GET /releases/{id}'s JSON (also the webhook "release" payload's release).
json release_json(Services& svc, const state::Repo& repo, const state::Account& owner,
                  const state::Release& rel, const std::vector<state::ReleaseAsset>& assets);
json release_asset_json(Services& svc, const state::Repo& repo, const state::Account& owner,
                        const state::Release& rel, const state::ReleaseAsset& asset);

}  // namespace guts::api
