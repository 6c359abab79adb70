// GitHub's JSON shapes of organizations, memberships and teams (docs/governance.md §6), built
// from the committed state. Users and repositories come from user_json/repo_json (github.h).
#pragma once

#include <optional>
#include <string>

#include "api/github.h"
#include "state/org.h"
#include "state/view.h"

namespace guts::api {

// "organization-simple" (lists) and the full organization (GET /orgs/{org}).
json org_simple_json(const state::Org& org, const std::string& base);
json org_json(const state::StateView& view, const state::Org& org, const std::string& base,
              const std::optional<crypto::PublicKey>& who);
// An organization membership (/orgs/{org}/memberships/{user}, /user/memberships/orgs/{org}).
json org_membership_json(const state::StateView& view, const state::Org& org,
                         const state::OrgMembership& m, const std::string& base);
// A team; `full` adds counts, times and the organization (GET of one team).
json team_json(const state::StateView& view, const state::Org& org, const state::Team& t,
               const std::string& base, bool full);
json team_membership_json(const state::Org& org, const state::Team& t, const std::string& login,
                          uint8_t role, const std::string& base);
// The permission names of GitHub's team and collaborator APIs.
const char* team_permission_name(uint8_t level);  // pull, triage, push, maintain, admin
std::optional<uint8_t> permission_level(const std::string& name);  // also read, write
json permissions_object(state::Permission p);  // {"admin", "maintain", "push", "triage", "pull"}

}  // namespace guts::api
