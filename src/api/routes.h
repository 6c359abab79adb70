// Route tables. Each route declares the access it needs; the auth middleware enforces it.
#pragma once

#include "api/rate_limit.h"
#include "api/router.h"
#include "api/services.h"
#include "state/token_request.h"  // kTokenRequestDomain, token_request_payload

namespace guts::api {

void add_guts_routes(Router& router, Services& services);   // /api/guts/...
void add_v3_routes(Router& router, Services& services);     // /api/v3/... (GitHub shapes)
void add_audit_routes(Router& router, Services& services);  // /api/guts/audit (docs/audit.md)
// Organizations, memberships, transfers (orgs_routes.cpp) and teams (teams_routes.cpp); called
// by add_v3_routes.
void add_org_routes(Router& router, Services& services);
void add_team_routes(Router& router, Services& services);
// Personal access tokens (token_routes.cpp; api/tokens.h, api/scopes.h).
void add_token_routes(Router& router, Services& services);
// GET /api/v3/rate_limit (token_routes.cpp; api/rate_limit.h).
void add_rate_limit_routes(Router& router, std::shared_ptr<RateLimiter> limiter);
// Reputation and repository interaction limits (reputation_routes.cpp; docs/reputation.md);
// called by add_v3_routes.
void add_reputation_routes(Router& router, Services& services);
// Branch protection and commit statuses (protection_routes.cpp); called by add_v3_routes.
void add_protection_routes(Router& router, Services& services);
// A private repository's seeds, /api/guts/repos/{o}/{r}/seeds (repo_seeds_routes.cpp); called
// by add_guts_routes.
void add_repo_seeds_routes(Router& router, Services& services);
// Placeholder identities of migrated items and their claims, /api/guts/placeholders and
// /api/guts/repos/{o}/{r}/placeholders (placeholder_routes.cpp); called by add_guts_routes.
void add_placeholder_routes(Router& router, Services& services);
// The validator set and its changes (api/validator_routes.cpp).
void add_validator_routes(Router& router, Services& services);
void add_nostr_routes(Router& router, Services& services);
// Quorum policies and proposals (proposal_routes.cpp; docs/governance.md §8); called by
// add_guts_routes.
void add_proposal_routes(Router& router, Services& services);
// POST /api/graphql, the GraphQL subset `gh` uses (graphql/graphql_routes.cpp, docs/api.md
// "GraphQL"); its fields run as REST requests through this router and the auth middleware.
void add_graphql_routes(Router& router, Services& services);
// SSH public keys, /api/v3/user/keys and /users/{username}/keys (ssh_key_routes.cpp); called by
// add_v3_routes.
void add_ssh_key_routes(Router& router, Services& services);
// Proofs of repositories' refs, /api/guts/proofs/repos/{o}/{r} (proof_routes.cpp;
// docs/verify.md); called by add_guts_routes.
void add_proof_routes(Router& router, Services& services);

}  // namespace guts::api
