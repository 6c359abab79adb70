// CI runners' endpoints and job logs (docs/ci.md "Runners", "Logs", "Secrets"):
//
//   GET  /api/guts/runners/jobs[?repo=o/r]          runner      the jobs this runner may claim
//   GET  /api/guts/runners/jobs/{job}               runner:job  the job's spec (steps, context)
//   POST /api/guts/runners/jobs/{job}/logs          runner:job  append lines (text/plain)
//   POST /api/guts/runners/jobs/{job}/logs/store    runner:job  the whole log into the BlobStore
//   GET  /api/guts/runners/jobs/{job}/secrets       runner:job  the repository's secrets sealed
//                                                               to this runner
//   GET  /api/guts/repos/{o}/{r}/runners            repo:admin  registered runners (dids)
//   GET  /api/v3/repos/{o}/{r}/actions/jobs/{id}/logs      repo:read  the log (text);
//        ?follow=1 streams (chunked) until the job completes
//   GET  /api/v3/repos/{o}/{r}/actions/jobs/{id}/logs/live repo:read  WebSocket: numbered lines
//        live, resumable (?line=N); without the upgrade a JSON page (api/job_log_live.h)
//   GET  /api/v3/repos/{o}/{r}/actions/secrets             repo:admin names and dates
//   PUT  /api/v3/repos/{o}/{r}/actions/secrets/{name}      repo:admin {"sealed":[{runner,value}]}
//   DELETE /api/v3/repos/{o}/{r}/actions/secrets/{name}    repo:admin
//
// Logs are node-local files <data>/ci-logs/<job>.log (each upload is one O_APPEND write of
// whole lines, at most kMaxJobLogBytes per job); once the runner has stored the log in the
// BlobStore and SetJobLog (kind 68) is applied, every node serves it from its blobs.
#pragma once

#include <filesystem>

#include "api/http_server.h"
#include "api/router.h"
#include "api/services.h"
#include "storage/blob_store.h"

namespace guts::api {

struct RunnerRoutes {
  WebSocketHook log_websocket;     // the live job log's upgrades (chain it into the server's)
  std::function<void()> on_block;  // call for every committed block (completions)
};
RunnerRoutes add_runner_routes(Router& router, Services& services, storage::BlobStore& blobs,
                               std::filesystem::path log_dir);

}  // namespace guts::api
