// The JSON of a quorum proposal (docs/governance.md "Quorum decisions"), shared by the proposal
// routes and the pull-request merge route, which answers a merge a quorum must decide with the
// proposal it created or approved (202).
#pragma once

#include <optional>

#include "api/github.h"
#include "api/services.h"
#include "state/proposal.h"
#include "state/view.h"

namespace guts::api {

json proposal_json(Services& svc, const state::StateView& view, const state::Proposal& p);

// The open proposal of repository `repo_id` that would run exactly `merge` (same pull request,
// head, base and method), newest first; nullopt when there is none.
std::optional<state::Proposal> open_merge_proposal(Services& svc, const state::StateView& view,
                                                   const state::MergePullRequest& merge);

}  // namespace guts::api
