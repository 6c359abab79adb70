// Test doubles: byzantine replication servers. Plugged into ObjectSyncOptions::serve_override
// (replication/object_sync.h), they make a node serve packs an honest receiver must reject.
// Never linked into production binaries.
#pragma once

#include <string_view>

#include "replication/object_sync.h"

namespace guts::testing {

// The serve_override for `mode`:
//   "tamper-objects"  the honest pack with one bit flipped inside the object data;
//   "missing-objects" only the wanted objects themselves, without what they link to.
// Any other mode: an empty function (the honest server). Each served pack is logged as a
// warning ("BYZANTINE mode …").
replication::ServeOverride byzantine_packs(std::string_view mode);

}  // namespace guts::testing
