// CI/CD artifacts (docs/ci.md "Artifacts"; state/artifact.h):
//
//   POST   /api/guts/runners/jobs/{job}/artifacts?name=N   runner:job  the zip (body, ≤ 64 MiB)
//          into the BlobStore: {sha256, size}; the runner then signs CreateArtifact (kind 71)
//   GET    /api/v3/repos/{o}/{r}/actions/artifacts[?name=]           repo:read
//   GET    /api/v3/repos/{o}/{r}/actions/runs/{run_id}/artifacts     repo:read
//   GET    /api/v3/repos/{o}/{r}/actions/artifacts/{artifact_id}     repo:read
//   GET    /api/v3/repos/{o}/{r}/actions/artifacts/{artifact_id}/zip repo:read  the zip; 410
//          once expired
//   DELETE /api/v3/repos/{o}/{r}/actions/artifacts/{artifact_id}     repo:write (kind 72)
//
// Listings leave out artifacts expired at the last finalized block's time (deterministic).
#pragma once

#include "api/router.h"
#include "api/services.h"
#include "storage/blob_store.h"

namespace guts::api {

void add_artifact_routes(Router& router, Services& services, storage::BlobStore& blobs);

}  // namespace guts::api
