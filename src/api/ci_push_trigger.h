// The push trigger of CI (docs/ci.md "Where runs come from"): after a push's UpdateRefs is
// applied on the node that received it, reads `.guts/workflows/*.yml|yaml` at each updated
// branch or tag tip and submits one RequestRuns (kind 52, event push) per workflow file that
// the push triggers (or that does not parse: its failed run shows the error), on the pusher's
// behalf like the push itself (same author and signer, next nonce). Never fails nor waits: the
// submissions are asynchronous and every error is logged.
#pragma once

#include <filesystem>
#include <vector>

#include "api/http.h"
#include "state/records.h"
#include "state/tx.h"

namespace guts::api {

class Services;

void trigger_push_workflows(Services& svc, const Principal& who, const state::Repo& repo,
                            const std::filesystem::path& repo_dir,
                            const std::vector<state::RefChange>& changes);

}  // namespace guts::api
