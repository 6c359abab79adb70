// The node operator's routes (access "admin": the local operator's token, api/auth.h):
//
//   POST /api/guts/admin/backup  {"out": "/abs/dir", "include_keys": false}
//        writes a consistent backup of this node into `out` on the node's host
//        (node/backup.h; docs/operator.md "Backup and restore") and answers its summary.
//
// The API does not depend on the node: the node passes the functions that do the work. The
// request waits for the answer without holding a thread (api/http_server.h).
#pragma once

#include <functional>
#include <string>

#include "api/router.h"
#include "core/status.h"

namespace guts::api {

struct AdminHooks {
  // Starts a backup into `out` (an absolute path) off the caller's thread (an I/O thread) and
  // calls `done` once, from any thread: with the summary (JSON text), or the error (kConflict:
  // `out` is not empty, or a backup is already running).
  using BackupDone = std::function<void(const Status& status, const std::string& summary)>;
  std::function<void(const std::string& out, bool include_keys, BackupDone done)> backup;
};

void add_admin_routes(Router& router, AdminHooks hooks);

}  // namespace guts::api
