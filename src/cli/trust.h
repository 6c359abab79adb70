// Trusting the genesis, not a node (docs/verify.md): the CLI's trust anchor and node list, and
// the checks `guts verify` and git-remote-guts share.
//
// Files under the CLI home (--home / GUTS_HOME / ~/.config/guts):
//   trusted-genesis.json   the genesis the client trusts (`guts network trust FILE`)
//   nodes.json             {"nodes": [URL, ...]} (`guts network nodes add URL`); GUTS_NODES
//                          (comma-separated URLs) comes first when set
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "verify/verify.h"

namespace guts::cli {

std::filesystem::path trusted_genesis_path(const std::filesystem::path& home);
// Throws guts::Error(kFailedPrecondition) with advice when no genesis is trusted yet.
verify::TrustAnchor load_trust_anchor(const std::filesystem::path& home);
std::vector<std::string> configured_nodes(const std::filesystem::path& home);
void save_nodes(const std::filesystem::path& home, const std::vector<std::string>& nodes);

// OWNER/REPO of a remote URL: http(s)://host[:port]/OWNER/REPO[.git] or guts://OWNER/REPO.
// nullopt when the URL has another shape. `node` receives scheme://host[:port] for http(s).
struct RemoteRepo {
  std::string owner, name;
  std::string node;  // empty for guts://
};
std::optional<RemoteRepo> parse_remote_url(std::string_view url);

// GET the proof of OWNER/REPO from `node_url` and verify it against `anchor`. Throws
// guts::Error: kUnavailable when the node does not answer, kInvalidArgument when the proof is
// rejected (verify/verify.h says which step).
verify::VerifiedRepo fetch_verified(const std::string& node_url, const verify::TrustAnchor& anchor,
                                    const std::string& owner, const std::string& name,
                                    const std::string& token = {});

// The refs of a git directory under `prefix` (e.g. "refs/remotes/origin/"), name → hex oid.
std::map<std::string, std::string> git_refs(const std::filesystem::path& repo,
                                            const std::string& prefix);
// Every object reachable from `oids` is present and parses (git rev-list --objects
// --missing=error). Returns the problem, empty when none.
std::string check_reachable(const std::filesystem::path& repo,
                            const std::vector<std::string>& oids);

}  // namespace guts::cli
