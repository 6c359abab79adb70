// JSON shapes of the GitHub objects made from git (commits, signatures, files of a
// comparison), for the browse and pull request routes. The shapes of objects kept in the state
// (users, repositories, issues, pull requests, comments, reviews, labels, milestones,
// reactions, collaborators) are built by collab::Shapes (collab_common.h) on top of
// user_json/repo_json (github.h). Route files build no such JSON themselves.
#pragma once

#include <string>

#include "api/github.h"
#include "git/browse.h"

namespace guts::api {

// {"name", "email", "date"} of an author, committer or tagger.
json signature_json(const git::Signature& s);

// A commit; `api` is .../api/v3/repos/owner/name and `html` .../owner/name. The repository's
// commits API adds the (always unsigned) "verification" object; a pull request's commits do
// not have it.
json commit_json(const std::string& api, const std::string& html, const git::Commit& c,
                 bool with_verification);

// A changed file of a comparison whose head is `head`.
json file_json(const std::string& api, const std::string& html, const std::string& head,
               const git::FileDiff& f);

}  // namespace guts::api
