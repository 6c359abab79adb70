// Who may do what with a repository: the one function every check uses — the state machine's
// validity rules (pushes, merges, collaboration, governance), the API's authorization
// middleware (api/auth.cpp), repository JSON ("permissions") and, later, the web UI.
//
//   effective = max( read                 if the repository is public,
//                    admin                if `who` owns it, or is an active owner of the
//                                         organization that owns it,
//                    default permission   of that organization, for its active members,
//                    collaborator grant   on the repository,
//                    team grant           of every team of the owning organization `who` is
//                                         in, and of each such team's parent (a child team
//                                         inherits its parent's grants) )
//
// Branch rules (ref_change_denial below) are applied after the level: a write permission lets a
// change through only if every rule on the ref agrees: the default branch can never be
// deleted, and branch protection (state/protection.h) applies.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "state/tx.h"
#include "state/view.h"

namespace guts::state {

// Where a permission comes from (for tests, and for the API's "role_name" and explanations).
struct PermissionSources {
  Permission effective = Permission::kNone;
  Permission visibility = Permission::kNone;    // read for public repositories
  Permission ownership = Permission::kNone;     // admin for the owner / organization owners
  Permission org_default = Permission::kNone;   // organization members' default
  Permission collaborator = Permission::kNone;  // direct grant
  Permission team = Permission::kNone;          // best team grant (inherited included)
  std::vector<uint64_t> teams;                  // teams that grant something, ascending
};

PermissionSources permission_sources(const StateView& view, const Repo& repo,
                                     const std::optional<crypto::PublicKey>& who);
Permission effective_permission(const StateView& view, const Repo& repo,
                                const std::optional<crypto::PublicKey>& who);

// The rule every repository-administration transaction starts with: Ok when `who` has at least
// admin permission on repository `repo_id`; otherwise kNotFound when the repository does not
// exist or `who` cannot see it (no existence leak), else kPermissionDenied with GitHub's message.
Status require_repo_admin(const StateView& view, uint64_t repo_id, const crypto::PublicKey& who);

// A permission level 0..5 of the encodings, clamped.
Permission permission_of(uint8_t level);

// The rules on one ref change beyond the permission level (already checked to be at least
// write): nullopt when allowed, else the reason git prints in `! [remote rejected] <ref>
// (<reason>)`. Pure function of the state, so every validator agrees.
std::optional<std::string> ref_change_denial(const StateView& view, const Repo& repo,
                                             const crypto::PublicKey& who, Permission level,
                                             const RefChange& change, bool force = false);

}  // namespace guts::state
