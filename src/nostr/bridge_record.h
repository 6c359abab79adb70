// The bridge's durable record (docs/nostr.md "State"): per repository what was published
// (nostr/bridge_plan.h), and the signed events not yet acknowledged by every relay, so a
// restart re-sends them. One JSON file, replaced atomically (write, fsync, rename).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "nostr/bridge_plan.h"

namespace guts::nostr {

struct BridgeRecord {
  std::map<std::string, RepoRecord> repos;  // by "owner/name"
  std::vector<std::string> pending;         // signed event JSON texts
};

// A missing file is an empty record; a malformed one throws guts::Error(kMalformed) naming it
// (the operator decides: the bridge does not silently start over and republish everything).
BridgeRecord load_record(const std::filesystem::path& path);
void save_record(const std::filesystem::path& path, const BridgeRecord& record);

}  // namespace guts::nostr
