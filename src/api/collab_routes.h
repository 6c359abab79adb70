// Collaboration REST (GitHub v3 shapes) under /api/v3/repos/{owner}/{repo}:
//
//   issues_routes.cpp   issues, issue comments, labels, assignees, milestones, lock, reactions
//   pulls_routes.cpp    pulls, files, commits, merge, reviews, review comments, requested
//                       reviewers, branch deletion (git/refs)
//   collab_routes.cpp   collaborators and permission, forks
//
// Every write is one signed transaction submitted on the caller's behalf (Services::submit_as);
// the answer comes once its block is applied, built from the new state. Access is declared per
// route (auth.h enforces it); the finer rules (triage to label, authors editing their own, ...)
// are the state machine's, so every node enforces the same ones.
#pragma once

#include "api/router.h"
#include "api/services.h"

namespace guts::git {
class RepoStore;
}

namespace guts::api {

class PullGit;

void add_issues_routes(Router& router, Services& services);
void add_pulls_routes(Router& router, Services& services, std::shared_ptr<PullGit> git);
void add_collab_routes(Router& router, Services& services, std::shared_ptr<PullGit> git);

// POST /pulls, PUT /pulls/{n}/merge and POST /pulls/{n}/reviews as functions, for the web's
// forms (one code path for the rules): `req` carries the JSON body, the path's {number} and the
// repository context; blocking (worker threads).
namespace collab {
struct CollabEnv;
}
Response pulls_create(collab::CollabEnv& env, Request& req);
Response pulls_merge(collab::CollabEnv& env, Request& req);
Response pulls_submit_review(collab::CollabEnv& env, Request& req);

// All of the above (what guts-node registers).
void add_collaboration_routes(Router& router, Services& services, git::RepoStore& store);

}  // namespace guts::api
