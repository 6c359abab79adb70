// Seeding policy (docs/architecture.md §6): which repositories this node hosts (keeps a bare
// repository of, serves over git and replication). Validators host every repository (they must
// hold the objects of every block they vote for); a full node hosts per policy:
//
//   --seed all                 every repository (the default)
//   --seed repo:<owner>/<name> that repository (repeatable)
//   --seed follow:<did:key:…>  every repository owned by that identity (repeatable)
//
// The policy is evaluated on the repository's current owner and name (a renamed repository
// follows its new name). Private repositories are hosted by a full node only when its key
// (`node`, set on full nodes) is one of the repository's seeds (state/repo_seeds.h): the others
// would be refused every request (docs/git.md "Private repositories").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/ed25519.h"

namespace guts::replication {

struct SeedPolicy {
  bool all = true;
  std::vector<std::string> repos;   // "owner/name", as given (owner = username)
  std::vector<std::string> follow;  // did:key identifiers, as given
  // A full node's own key: private repositories only when it is one of their seeds. Unset on
  // validators (they hold every repository).
  std::optional<crypto::PublicKey> node;

  // Whether a repository owned by `owner` (username `owner_name`) and named `name` is hosted.
  bool includes(std::string_view owner_name, std::string_view name,
                const crypto::PublicKey& owner) const;
  // "all" or e.g. "repo:alice/x, follow:did:key:z6Mk…" (for logs).
  std::string describe() const;
};

// Parses the values of the repeatable --seed option. No values: all. "all" cannot be combined
// with other values. Throws guts::Error(kInvalidArgument) with a message naming the bad value.
SeedPolicy parse_seed_policy(const std::vector<std::string>& values);

}  // namespace guts::replication
