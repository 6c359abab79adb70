#include "state/permission.h"

#include <algorithm>

#include "state/protection.h"
#include "state/rejections.h"

namespace guts::state {

Permission permission_of(uint8_t level) {
  return static_cast<Permission>(std::min<uint8_t>(level, 5));
}

PermissionSources permission_sources(const StateView& view, const Repo& repo,
                                     const std::optional<crypto::PublicKey>& who) {
  PermissionSources s;
  if (!repo.is_private) s.visibility = Permission::kRead;
  if (who) {
    if (*who == repo.owner) s.ownership = Permission::kAdmin;
    if (auto c = view.collaborator(repo.id, *who)) s.collaborator = permission_of(c->permission);
    if (auto org = view.org(repo.owner)) {
      auto m = view.org_membership(org->key, *who);
      if (m && m->state == kMembershipActive) {
        if (m->role == kOrgOwner) s.ownership = Permission::kAdmin;
        s.org_default = permission_of(org->default_permission);
        for (uint64_t id : view.teams_of_user(*who)) {
          auto t = view.team(id);
          if (!t || t->org != org->key) continue;
          Permission p = Permission::kNone;
          if (auto g = view.team_repo(id, repo.id)) p = permission_of(g->permission);
          if (t->parent_id)
            if (auto g = view.team_repo(t->parent_id, repo.id))
              p = std::max(p, permission_of(g->permission));
          if (p == Permission::kNone) continue;
          s.team = std::max(s.team, p);
          s.teams.push_back(id);
        }
      }
    }
  }
  s.effective = std::max({s.visibility, s.ownership, s.org_default, s.collaborator, s.team});
  return s;
}

Permission effective_permission(const StateView& view, const Repo& repo,
                                const std::optional<crypto::PublicKey>& who) {
  return permission_sources(view, repo, who).effective;
}

Status require_repo_admin(const StateView& view, uint64_t repo_id, const crypto::PublicKey& who) {
  auto repo = view.repo(repo_id);
  auto have = repo ? effective_permission(view, *repo, who) : Permission::kNone;
  if (have == Permission::kNone)
    return reject::not_found("repository " + std::to_string(repo_id) + " does not exist");
  if (have < Permission::kAdmin) return reject::denied("Must have admin rights to Repository.");
  return Status::Ok();
}

std::optional<std::string> ref_change_denial(const StateView& view, const Repo& repo,
                                             const crypto::PublicKey& who, Permission level,
                                             const RefChange& change, bool force) {
  // The default branch can never be deleted: HEAD would dangle (issue 14 §3).
  if (change.new_oid.empty() && change.ref == "refs/heads/" + repo.default_branch)
    return "refusing to delete the default branch: " + change.ref;
  return push_protection_denial(view, repo, who, level, change, force);
}

}  // namespace guts::state
