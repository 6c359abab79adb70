// What the repository pages share: the opened repository (authorized by the middleware's
// repo:read, api/auth.h), ref/path splitting, the repository header with its tabs, breadcrumbs,
// and who may see which repository in listings (state::effective_permission, as the API).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "api/auth.h"
#include "git/browse.h"
#include "web/page.h"

namespace guts::web {

struct RepoView {
  const api::RepoContext* rc = nullptr;
  std::filesystem::path dir;
  std::unique_ptr<git::Browser> git;  // null: this node holds no git data for it (yet)
  bool hosted = true;                 // false: this node's seeding policy leaves it out
  std::string full;                   // "owner/name"
  std::string base;                   // "/owner/name" (percent-encoded)
};

// Opens the request's repository (params owner, repo).
RepoView open_repo(WebEnv& env, const api::Request& req);
// The git data, or Error(kNotFound) "This repository is empty" when there is none.
git::Browser& git_of(const RepoView& rv);

// "<ref>/<path>" split at the longest prefix that names a branch or a tag, else at the first
// '/' (a sha or an expression like "main~2"). Empty: the default branch and the root.
std::pair<std::string, std::string> split_ref(const git::Browser& git, std::string_view rest,
                                              const std::string& default_branch);

// Title (owner / name, visibility), description and the tabs; `tab` is "code", "commits",
// "branches", "tags", "issues", "pulls" or "actions".
void repo_header(Html& h, const RepoView& rv, std::string_view tab, std::string_view ref = {});
// owner/name / dir / file links for `path` at `ref`.
void breadcrumbs(Html& h, const RepoView& rv, std::string_view ref, std::string_view path);

// Whether `who` may see `repo` in listings.
bool can_read(WebEnv& env, const api::Principal& who, const state::Repo& repo);

// A user's or organization's login, or the start of their did:key when they have none.
std::string display_name(const state::StateView& view, const crypto::PublicKey& key);
// Who an issue, pull request or comment of `repo_id` is shown as: the claimant of a confirmed
// placeholder for a migrated item (state::claimed_author; docs/migrate.md), else `author`.
crypto::PublicKey shown_author(const state::StateView& view, uint64_t repo_id,
                               const crypto::PublicKey& author, std::string_view body);

// One repository of a list (home, profiles, search): link, private pill, description, age.
void repo_item(Html& h, const state::Repo& r, const std::string& owner, uint64_t now);

// First line of a commit message.
std::string summary_line(std::string_view message);

// A field of a posted form (application/x-www-form-urlencoded body), with the CR LF line ends
// browsers send in textareas turned into LF; nullopt when absent.
std::optional<std::string> form_field(const api::Request& req, std::string_view name);
// A number from a path segment or form field (issue, comment, milestone, notification): digits
// only and bounded (nullopt otherwise); empty is 0, which names nothing.
std::optional<uint64_t> decimal(std::string_view text);

// "/{owner}/{repo}" of the repository a request resolved to, URL-encoded.
std::string repo_base_url(const api::RepoContext& ctx);

}  // namespace guts::web
