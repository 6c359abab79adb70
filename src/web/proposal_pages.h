// Quorum proposals in the browser (proposal_pages.cpp; docs/governance.md "Quorum decisions"),
// registered in routes.cpp.
#pragma once

#include "api/http.h"
#include "web/page.h"

namespace guts::web {

// GET /-/proposals[?org=LOGIN|repo=OWNER/REPO][&state=open|...]: the proposals the caller may
// read, newest first.
api::Response proposals_page(WebEnv& env, api::Request& req);
// GET /{owner}/{repo}/proposals[?state=]: the repository's proposals (its Proposals tab).
api::Response repo_proposals_page(WebEnv& env, api::Request& req);
// GET /-/proposals/{id}: the action, approvals k of n, votes, expiry; Approve / Reject buttons
// for a signed-in eligible approver while the proposal is open.
api::Response proposal_page(WebEnv& env, api::Request& req);
// POST /-/proposals/{id}/approve and .../reject (forms with the CSRF token): VoteProposal, the
// same transaction as REST and the CLI; 303 back to the proposal.
void approve_proposal_form(WebEnv& env, api::Request& req, api::Responder respond);
void reject_proposal_form(WebEnv& env, api::Request& req, api::Responder respond);

}  // namespace guts::web
