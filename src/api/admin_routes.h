// The node operator's routes (access "admin": the local operator's token, api/auth.h):
//
//   POST /api/guts/admin/backup  {"out": "/abs/dir", "include_keys": false}
//        writes a consistent backup of this node into `out` on the node's host
//        (node/backup.h; docs/operator.md "Backup and restore") and answers its summary.
//
// The API does not depend on the node: the node passes the functions that do the work.
#pragma once

#include <functional>
#include <string>

#include "api/router.h"

namespace guts::api {

struct AdminHooks {
  // Writes a backup into `out` (an absolute path); returns the summary (JSON text). Throws
  // guts::Error (kConflict: `out` is not empty, or a backup is already running).
  std::function<std::string(const std::string& out, bool include_keys)> backup;
};

void add_admin_routes(Router& router, AdminHooks hooks);

}  // namespace guts::api
