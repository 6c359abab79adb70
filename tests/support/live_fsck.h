// `git fsck` of a running node's repository. The node's background maintenance may delete a
// pack (geometric repack -d) while fsck runs, which fsck, unlike git's readers, reports as
// "packfile ... index not opened"; the objects are then in the new pack, so fsck runs again (a
// repository is repacked at most once per maintenance interval, docs/maintenance.md).
#pragma once

#include <string>

#include "tests/support/node_harness.h"

namespace guts::testing {

// `run_fsck` runs fsck once and returns its result.
template <typename RunFsck>
CmdResult fsck_live(RunFsck run_fsck) {
  CmdResult r;
  for (int attempt = 0; attempt < 5; ++attempt) {
    r = run_fsck();
    if (r.ok() || r.err.find("index not opened") == std::string::npos) break;
  }
  return r;
}

}  // namespace guts::testing
