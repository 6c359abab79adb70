// What the Guts→Nostr half of the bridge publishes (docs/nostr.md "What is published"): a pure
// function from a snapshot of a bridged repository (read from the node) and the bridge's record
// of what it published before, to the NIP-34 events still to publish.
//
// Event ids do not depend on the signature, so the plan computes them (the bridge's pubkey is
// set) and a status event can name a root published in the same round. Issues, patches and
// statuses take their created_at from the forge item (creation, merge, close time), so the same
// item always yields the same event id: publishing again after a crash is idempotent on every
// relay. Announcements and repository states are replaceable events: a new one only when what
// they say changes.
//
// Items that came from Nostr (an origin line, see nostr/origin.h) are never published back as
// new roots; their status changes are published against the original event.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nostr/event.h"
#include "nostr/origin.h"

namespace guts::nostr {

struct ForgeIssue {
  uint64_t number = 0;
  std::string title, body;
  // Written by the bridge's own user: only then does an origin line in the body count (anyone
  // can type one).
  bool by_bridge = false;
  bool open = true;
  std::vector<std::string> labels;
  int64_t created_at = 0, closed_at = 0;  // Unix seconds (closed_at: 0 when never closed)
};

struct ForgePatch {
  std::string commit, parent, text;  // text: git format-patch of one commit
};

struct ForgePull {
  uint64_t number = 0;
  std::string title, body;
  bool by_bridge = false;  // as ForgeIssue::by_bridge
  bool open = true, merged = false, draft = false;
  std::string merge_commit, head_sha;
  int64_t created_at = 0, closed_at = 0, merged_at = 0;
  // The commits base..head as format-patch texts, oldest first; empty when git could not give
  // them (then the pull request is published once the patches are known) and when the record
  // already has this head (nothing to publish: see patches_needed).
  std::vector<ForgePatch> patches;
};

struct ForgeRepo {
  std::string owner, name, description, web_url;
  std::vector<std::string> clone_urls;
  std::string default_branch, earliest_commit;
  // Nostr keys (hex) of the people who maintain it on Guts: the owner's bound key, if any.
  std::vector<std::string> maintainers;
  std::vector<std::pair<std::string, std::string>> refs;  // "refs/heads/main" → sha, sorted
  std::vector<ForgeIssue> issues;
  std::vector<ForgePull> pulls;
  std::string d() const { return owner + "/" + name; }  // the NIP-34 repository identifier
};

// What was published for one issue or pull request.
struct PublishedItem {
  std::string root;         // the issue event or the first root patch
  std::string root_author;  // hex pubkey of the root's author (ours, or the Nostr author's)
  std::string head;         // pull requests: the head whose series was published last
  std::string status;       // last status published: "", "open", "closed", "merged", "draft"
  bool operator==(const PublishedItem&) const = default;
};

struct RepoRecord {
  std::string announcement;                    // digest of the last announcement's tags
  std::string state;                           // digest of the last state's tags
  std::map<std::string, PublishedItem> items;  // "issue/12", "pull/3"
  bool operator==(const RepoRecord&) const = default;
};

struct PlanOptions {
  std::string pubkey;               // the bridge's key, 64 hex
  std::vector<std::string> relays;  // announced in 30617 "relays"
  int64_t now = 0;                  // created_at of replaceable events
  size_t max_patches = 100;         // a longer series is not published (logged by the caller)
};

struct Plan {
  std::vector<Event> events;       // unsigned (pubkey and id set), in publication order
  RepoRecord record;               // the record once they are published
  std::vector<std::string> notes;  // what was skipped, and why (logged)
};

Plan plan_repo(const ForgeRepo& repo, const RepoRecord& before, const PlanOptions& options);

// `s` cut to at most `max` bytes on a UTF-8 character boundary.
std::string cut_utf8(std::string s, size_t max);

// The origin of an item that came from Nostr: its origin line, if the bridge's user wrote it.
std::optional<Origin> bridge_origin(bool by_bridge, std::string_view body);
// Whether plan_repo may publish patches for `pull` (so the snapshot must read its commits): not
// when it came from Nostr, nor when the record already published (or skipped) this head.
bool patches_needed(const RepoRecord& record, uint64_t number, const std::string& head_sha,
                    bool open, bool from_nostr);

}  // namespace guts::nostr
