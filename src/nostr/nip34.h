// NIP-34 ("git stuff"): the Nostr events that announce git repositories and carry patches,
// issues and their status, in both directions of the Guts bridge (docs/nostr.md).
//
//   30617 repository announcement (addressable: "30617:<owner pubkey>:<d>" names a repository)
//   30618 repository state (refs and HEAD)
//   1617  patch (git format-patch text)     1621 issue (Markdown)
//   1630-1633 status of a patch or an issue: open, applied/merged/resolved, closed, draft
//
// Builders return UNSIGNED events with exactly the tags NIP-34 lists, in its order (the caller
// signs with sign_event); they throw guts::Error(kInvalidArgument) for arguments NIP-34 cannot
// carry. Parsers read what people publish to a bridged repository from events already verified
// (verify_event) and throw guts::Error: kInvalidArgument for an event of another kind, kMalformed
// naming the problem for one of the right kind that is not shaped as NIP-34 says or is over the
// bounds below. Pure: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nostr/event.h"

namespace guts::nostr {

inline constexpr uint32_t kRepoAnnouncement = 30617, kRepoState = 30618, kPatch = 1617,
                          kIssue = 1621, kStatusOpen = 1630, kStatusApplied = 1631,
                          kStatusClosed = 1632, kStatusDraft = 1633;

// NIP-34: "Patches SHOULD be used if each event is under 60kb"; what is accepted leaves the
// rest of kMaxEventBytes to the tags.
inline constexpr size_t kMaxPatchBytes = 96 * 1024;
inline constexpr size_t kMaxSubjectBytes = 256;
inline constexpr size_t kMaxLabels = 32;
inline constexpr size_t kMaxLabelBytes = 64;
inline constexpr size_t kMaxRepoIdBytes = 255;  // what an naddr's d record holds

// "30617:<pk>:<d>". Throws guts::Error(kInvalidArgument) for a pubkey that is not 64 lowercase
// hex or a d that is empty, over kMaxRepoIdBytes or not UTF-8.
std::string repo_address(std::string_view owner_pubkey_hex, std::string_view d);
struct RepoAddress {
  std::string pubkey;  // 64 lowercase hex
  std::string d;       // everything after the second ':' (a d may itself hold ':')
  bool operator==(const RepoAddress&) const = default;
};
// The parts of a "30617:<pk>:<d>" address; throws guts::Error(kMalformed) for anything else.
RepoAddress parse_repo_address(std::string_view address);

// Kind 30617, content "". Tags: d, name, description, web, clone, relays, r <euc> "euc",
// maintainers, t (one per hashtag); every tag but d only when non-empty.
struct RepoAnnouncement {
  std::string d, name, description;
  std::vector<std::string> web, clone, relays, maintainers;  // maintainers: 64-hex pubkeys
  std::string earliest_commit;                               // the root commit usually
  std::vector<std::string> hashtags;
};
Event repository_announcement(const RepoAnnouncement& a, int64_t created_at);

// Kind 30618, content "". Tags: d, one [<ref>, <sha>] per ref, then ["HEAD", "ref: <head>"].
struct RepoState {
  std::string d;
  std::vector<std::pair<std::string, std::string>> refs;  // "refs/heads/main" -> sha
  std::string head;                                       // "refs/heads/main" or empty
};
Event repository_state(const RepoState& s, int64_t created_at);

// Kind 1617, content the patch. Tags: a, r <euc>, p <owner>, p <mention>..., t root,
// t root-revision, commit, r <commit>, parent-commit, e <reply_to> "" "reply" (the optional ones
// only when set). The patch must look like git format-patch output (see parse_inbound_patch).
struct PatchOut {
  std::string repo_address, repo_owner, earliest_commit, patch /* git format-patch text */, commit,
      parent_commit;
  bool root = false, root_revision = false;
  std::string reply_to;              // previous patch or original root id, NIP-10 "reply" marker
  std::vector<std::string> mention;  // extra p tags
};
Event patch_event(const PatchOut& p, int64_t created_at);

// Kind 1621, content Markdown. Tags: a, p <owner>, subject, t <label>...
struct IssueOut {
  std::string repo_address, repo_owner, subject, content;
  std::vector<std::string> labels;
};
Event issue_event(const IssueOut& i, int64_t created_at);

// Kinds 1630-1633. Tags: e <root_event> "" "root", p <owner>, p <root_author> (when set and not
// the owner), a <repo_address> (when set), and for 1631 only: merge-commit + r <merge_commit>,
// applied-as-commits <commits...> + r <commit> for each.
struct StatusOut {
  uint32_t kind;
  std::string root_event /* issue or root patch id */, repo_address, repo_owner, root_author,
      content, merge_commit;
  std::vector<std::string> applied_commits;
};
Event status_event(const StatusOut& s, int64_t created_at);

// Inbound: events people publish to a bridged repository (parsed from verified events).
struct InboundIssue {
  std::string event_id, author, repo_address, subject, content;
  std::vector<std::string> labels;
  int64_t created_at = 0;
};
struct InboundPatch {
  std::string event_id, author, repo_address, patch, commit, parent_commit,
      root_event /* id of the series root when this is a reply, else empty */;
  bool root = false, root_revision = false;
  int64_t created_at = 0;
};

// A kind-1621 event. repo_address is the first "a" tag naming a 30617 address (required). The
// subject is the first non-blank line of the "subject" tag or, without one, of the content,
// trimmed and cut to kMaxSubjectBytes on a character boundary; an issue with neither is
// refused. Labels are the "t" tags, without duplicates (at most kMaxLabels of kMaxLabelBytes).
InboundIssue parse_inbound_issue(const Event& e);
// A kind-1617 event: an "a" tag as for issues, content at most kMaxPatchBytes that looks like
// git format-patch output (a first line "From <40 or 64 hex> ..." and a "Subject:" header before
// the first blank line). commit and parent_commit are the "commit" and "parent-commit" tags
// (empty when absent; commit ids when present). root / root_revision: the "t" tags of those
// names. root_event: the "e" tag marked "root", else the one marked "reply" (NIP-10), else empty.
InboundPatch parse_inbound_patch(const Event& e);

}  // namespace guts::nostr
