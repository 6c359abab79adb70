// The bridge's view of a Guts node (docs/nostr.md): REST reads that make a ForgeRepo snapshot,
// a local bare git mirror per bridged repository (format-patch of pull requests' commits, the
// earliest commit), and the writes an import needs (an issue; a patch applied with `git am` and
// pushed to a branch, then a pull request).
//
// The node is reached as the user the bridge runs as (a token from `guts auth login`): imported
// items are written by that identity, with an origin line naming the Nostr author
// (nostr/origin.h). Only public repositories are bridged: what the bridge publishes is public.
//
// That user must NOT be able to write to a bridged repository: patches from anyone on Nostr
// become commits, and CI runs a pull request's workflows with the repository's secrets when its
// author may write. So the bridge keeps imported series in its user's fork of the repository
// (branches nostr/<id>) and opens cross-repository pull requests, which run without secrets
// like any outsider's; snapshot() refuses a repository the user may write to.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "cli/http_client.h"
#include "nostr/bridge_plan.h"
#include "nostr/nip34.h"

namespace guts::nostr {

struct ForgeOptions {
  std::string node_url;            // http(s)://host:port
  std::string username;            // the bridge's Guts user (pushes authenticate as it)
  std::string token;               // its API token
  std::filesystem::path work_dir;  // mirrors live in work_dir/git/OWNER/NAME.git
  size_t max_patches = 100;
};

class Forge {
 public:
  explicit Forge(ForgeOptions options);

  // Everything plan_repo needs: refreshes the mirror, then reads the repository, its issues and
  // pull requests (with their commits as format-patch texts). Throws guts::Error: kNotFound,
  // kPermissionDenied (a private repository), kUnavailable (node or git unreachable).
  // Commits are read (format-patch) only for pull requests whose head the record has not seen.
  ForgeRepo snapshot(const std::string& owner, const std::string& name, const RepoRecord& record);

  // The Guts user a Nostr key is bound to (kind 75), or "" (none, or the node cannot say).
  std::string bound_login(const std::string& pubkey_hex);

  // Imports. Each returns the issue or pull request number. `body` starts with the origin line.
  uint64_t create_issue(const ForgeRepo& repo, const std::string& title, const std::string& body);
  // A patch series root: applied on its parent commit when the mirror has it, else on the
  // default branch, pushed to nostr/<first 16 hex of the event id> in the user's fork (made on
  // first use), and opened as a pull request from there. Throws guts::Error(kInvalidArgument)
  // when the patch does not apply or the node refuses the request (4xx), kUnavailable when the
  // node cannot be reached (5xx, network).
  uint64_t open_pull(const ForgeRepo& repo, const InboundPatch& patch, const std::string& title,
                     const std::string& body);
  // A later patch of the series whose root is `root_event`: applied on that branch's tip and
  // pushed. False when the branch already holds an equal change (same `git patch-id`): replays
  // are idempotent. Throws as open_pull.
  bool append_patch(const ForgeRepo& repo, const std::string& root_event,
                    const InboundPatch& patch);

  static std::string branch_of(const std::string& root_event);  // "nostr/<16 hex>"

 private:
  nlohmann::json get_json(const std::string& path);
  // Every item of a paginated list ("…?state=all"), page by page.
  void for_each_item(const std::string& path, const std::function<void(const nlohmann::json&)>& fn);
  std::filesystem::path mirror_of(const ForgeRepo& repo) const;
  void refresh_mirror(const std::filesystem::path& mirror, const std::string& clone_url);
  std::vector<ForgePatch> patches_of(const std::filesystem::path& mirror, const std::string& base,
                                     const std::string& head);
  // Applies `patch` on `base` in a temporary worktree of the mirror; the new commit.
  std::string apply(const std::filesystem::path& mirror, const std::string& base,
                    const std::string& patch);
  void push(const ForgeRepo& repo, const std::string& commit, const std::string& branch);
  std::string clone_url_of(const std::string& owner, const std::string& name) const;
  // The user's fork of `repo` ("name", or "owner-name" when the user has another repository
  // called "name"), made when missing; its name.
  std::string ensure_fork(const ForgeRepo& repo);
  // POST, the response JSON on 201/202; 4xx → kInvalidArgument, else kUnavailable.
  nlohmann::json post_json(const std::string& path, const nlohmann::json& body);

  ForgeOptions opt_;
  cli::HttpClient http_;
  std::map<std::string, std::string> forks_;  // "owner/name" → the fork's name
};

}  // namespace guts::nostr
