#include "nostr/nip34.h"

#include <algorithm>

#include "core/status.h"
#include "core/utf8.h"

namespace guts::nostr {
namespace {

using Tag = std::vector<std::string>;

[[noreturn]] void invalid(const std::string& message) {
  throw Error(Code::kInvalidArgument, message);
}

[[noreturn]] void malformed(const std::string& message) {
  throw Error(Code::kMalformed, message);
}

// A git object id: SHA-1 (40) or SHA-256 (64) lowercase hex.
bool is_commit_id(std::string_view s) {
  return is_lower_hex(s, 40) || is_lower_hex(s, 64);
}

void require_pubkey(std::string_view s, const char* what) {
  if (!is_lower_hex(s, 64)) invalid(std::string(what) + " is not a 64-hex pubkey");
}

void require_commit(std::string_view s, const char* what) {
  if (!is_commit_id(s)) invalid(std::string(what) + " is not a 40- or 64-hex commit id");
}

void require_text(std::string_view s, const char* what) {
  if (!is_valid_utf8(s)) invalid(std::string(what) + " is not valid UTF-8");
}

// A tag [name, values...]: one tag holds at most kMaxTagValues strings, name included.
Tag list_tag(const char* name, const std::vector<std::string>& values) {
  if (values.size() + 1 > kMaxTagValues) {
    invalid(std::string("at most ") + std::to_string(kMaxTagValues - 1) + " " + name +
            " values fit in one tag");
  }
  Tag t{name};
  for (const auto& v : values) {
    require_text(v, name);
    t.push_back(v);
  }
  return t;
}

void require_repo_id(std::string_view d) {
  if (d.empty() || d.size() > kMaxRepoIdBytes) {
    invalid("a repository identifier (d) is 1 to " + std::to_string(kMaxRepoIdBytes) + " bytes");
  }
  require_text(d, "the repository identifier (d)");
}

void require_address(std::string_view address) {
  try {
    parse_repo_address(address);
  } catch (const Error& e) {
    invalid(e.what());
  }
}

Event unsigned_event(uint32_t kind, int64_t created_at, std::string content) {
  if (created_at < 0 || created_at > kMaxCreatedAt) invalid("created_at is out of range");
  Event e;
  e.kind = kind;
  e.created_at = created_at;
  e.content = std::move(content);
  return e;
}

// Why `patch` is not git format-patch output, or nullptr: a first line "From <sha> ..." (the
// mbox separator format-patch writes) and a "Subject:" header before the first blank line.
const char* format_patch_problem(std::string_view patch) {
  constexpr std::string_view kFrom = "From ";
  if (patch.substr(0, kFrom.size()) != kFrom) return "its first line is not \"From <commit> ...\"";
  std::string_view rest = patch.substr(kFrom.size());
  size_t sha_end = rest.find_first_of(" \r\n");
  if (sha_end == std::string_view::npos || !is_commit_id(rest.substr(0, sha_end))) {
    return "its first line is not \"From <commit> ...\"";
  }
  size_t pos = patch.find('\n');
  while (pos != std::string_view::npos && pos + 1 < patch.size()) {
    size_t start = pos + 1;
    pos = patch.find('\n', start);
    std::string_view line = patch.substr(start, pos == std::string_view::npos ? pos : pos - start);
    if (line.empty() || line == "\r") break;  // the end of the mail headers
    if (line.substr(0, 8) == "Subject:") return nullptr;
  }
  return "it has no \"Subject:\" header";
}

// `code`: kInvalidArgument for a patch the bridge was given, kMalformed for one it received.
void require_patch(std::string_view patch, Code code) {
  if (patch.size() > kMaxPatchBytes) {
    throw Error(code, "the patch is " + std::to_string(patch.size()) +
                          " bytes, over the bound of " + std::to_string(kMaxPatchBytes));
  }
  if (const char* problem = format_patch_problem(patch)) {
    throw Error(code, std::string("the patch is not git format-patch output: ") + problem);
  }
}

// The first non-blank line of `text`, without surrounding blanks, cut to kMaxSubjectBytes
// without splitting a UTF-8 character.
std::string subject_line(std::string_view text) {
  constexpr std::string_view kBlanks = " \t\r\v\f";
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    size_t first = line.find_first_not_of(kBlanks);
    if (first == std::string_view::npos) continue;
    line = line.substr(first, line.find_last_not_of(kBlanks) - first + 1);
    if (line.size() > kMaxSubjectBytes) {
      size_t cut = kMaxSubjectBytes;
      while (cut > 0 && (static_cast<uint8_t>(line[cut]) & 0xc0) == 0x80) --cut;
      line = line.substr(0, cut);
    }
    return std::string(line);
  }
  return "";
}

// The first "a" tag that names a repository announcement; other "a" tags (NIP-34 events may
// point at other addressable events too) are passed over.
std::string inbound_repo_address(const Event& e, const char* what) {
  for (const auto& tag : tags_named(e, "a")) {
    if (tag.size() < 2 || tag[1].rfind("30617:", 0) != 0) continue;
    try {
      parse_repo_address(tag[1]);
    } catch (const Error& err) {
      malformed(std::string(what) + ": " + err.what());
    }
    return tag[1];
  }
  malformed(std::string(what) + " has no \"a\" tag naming a repository (30617:<pubkey>:<d>)");
}

bool has_t(const Event& e, std::string_view value) {
  auto ts = tags_named(e, "t");
  return std::any_of(ts.begin(), ts.end(),
                     [&](const Tag& t) { return t.size() >= 2 && t[1] == value; });
}

void require_kind(const Event& e, uint32_t kind, const char* what) {
  if (e.kind != kind) {
    invalid("event kind " + std::to_string(e.kind) + " is not " + what + " (" +
            std::to_string(kind) + ")");
  }
}

}  // namespace

std::string repo_address(std::string_view owner_pubkey_hex, std::string_view d) {
  require_pubkey(owner_pubkey_hex, "the repository owner");
  require_repo_id(d);
  return "30617:" + std::string(owner_pubkey_hex) + ":" + std::string(d);
}

RepoAddress parse_repo_address(std::string_view address) {
  constexpr std::string_view kPrefix = "30617:";
  if (address.substr(0, kPrefix.size()) != kPrefix) {
    malformed("a repository address does not start with \"30617:\"");
  }
  std::string_view rest = address.substr(kPrefix.size());
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos || !is_lower_hex(rest.substr(0, colon), 64)) {
    malformed("a repository address is not 30617:<64-hex pubkey>:<d>");
  }
  std::string_view d = rest.substr(colon + 1);
  if (d.empty() || d.size() > kMaxRepoIdBytes || !is_valid_utf8(d)) {
    malformed("a repository address has an empty, overlong or non-UTF-8 identifier");
  }
  return {std::string(rest.substr(0, colon)), std::string(d)};
}

Event repository_announcement(const RepoAnnouncement& a, int64_t created_at) {
  require_repo_id(a.d);
  Event e = unsigned_event(kRepoAnnouncement, created_at, "");
  e.tags.push_back({"d", a.d});
  if (!a.name.empty()) e.tags.push_back(list_tag("name", {a.name}));
  if (!a.description.empty()) e.tags.push_back(list_tag("description", {a.description}));
  if (!a.web.empty()) e.tags.push_back(list_tag("web", a.web));
  if (!a.clone.empty()) e.tags.push_back(list_tag("clone", a.clone));
  if (!a.relays.empty()) e.tags.push_back(list_tag("relays", a.relays));
  if (!a.earliest_commit.empty()) {
    require_commit(a.earliest_commit, "the earliest unique commit");
    e.tags.push_back({"r", a.earliest_commit, "euc"});
  }
  if (!a.maintainers.empty()) {
    for (const auto& m : a.maintainers) require_pubkey(m, "a maintainer");
    e.tags.push_back(list_tag("maintainers", a.maintainers));
  }
  if (a.hashtags.size() > kMaxLabels) invalid("too many hashtags");
  for (const auto& t : a.hashtags) e.tags.push_back(list_tag("t", {t}));
  return e;
}

Event repository_state(const RepoState& s, int64_t created_at) {
  require_repo_id(s.d);
  if (s.refs.size() + 2 > kMaxTags) invalid("too many refs for one state event");
  Event e = unsigned_event(kRepoState, created_at, "");
  e.tags.push_back({"d", s.d});
  for (const auto& [name, sha] : s.refs) {
    if (name.rfind("refs/", 0) != 0) invalid("a ref name does not start with \"refs/\"");
    require_text(name, "a ref name");
    require_commit(sha, "a ref's target");
    e.tags.push_back({name, sha});
  }
  if (!s.head.empty()) {
    if (s.head.rfind("refs/", 0) != 0) invalid("HEAD does not name a ref (\"refs/...\")");
    require_text(s.head, "HEAD");
    e.tags.push_back({"HEAD", "ref: " + s.head});
  }
  return e;
}

Event patch_event(const PatchOut& p, int64_t created_at) {
  require_address(p.repo_address);
  require_pubkey(p.repo_owner, "the repository owner");
  require_patch(p.patch, Code::kInvalidArgument);
  require_text(p.patch, "the patch");
  Event e = unsigned_event(kPatch, created_at, p.patch);
  e.tags.push_back({"a", p.repo_address});
  if (!p.earliest_commit.empty()) {
    require_commit(p.earliest_commit, "the earliest unique commit");
    e.tags.push_back({"r", p.earliest_commit});
  }
  e.tags.push_back({"p", p.repo_owner});
  for (const auto& m : p.mention) {
    require_pubkey(m, "a mentioned pubkey");
    if (m != p.repo_owner) e.tags.push_back({"p", m});
  }
  if (p.root) e.tags.push_back({"t", "root"});
  if (p.root_revision) e.tags.push_back({"t", "root-revision"});
  if (!p.commit.empty()) {
    require_commit(p.commit, "the commit");
    e.tags.push_back({"commit", p.commit});
    e.tags.push_back({"r", p.commit});
  }
  if (!p.parent_commit.empty()) {
    require_commit(p.parent_commit, "the parent commit");
    e.tags.push_back({"parent-commit", p.parent_commit});
  }
  if (!p.reply_to.empty()) {
    if (!is_lower_hex(p.reply_to, 64)) invalid("reply_to is not a 64-hex event id");
    e.tags.push_back({"e", p.reply_to, "", "reply"});
  }
  return e;
}

Event issue_event(const IssueOut& i, int64_t created_at) {
  require_address(i.repo_address);
  require_pubkey(i.repo_owner, "the repository owner");
  if (i.subject.empty() || i.subject.size() > kMaxSubjectBytes) {
    invalid("an issue subject is 1 to " + std::to_string(kMaxSubjectBytes) + " bytes");
  }
  require_text(i.subject, "the subject");
  require_text(i.content, "the issue body");
  if (i.labels.size() > kMaxLabels) invalid("too many labels");
  Event e = unsigned_event(kIssue, created_at, i.content);
  e.tags.push_back({"a", i.repo_address});
  e.tags.push_back({"p", i.repo_owner});
  e.tags.push_back({"subject", i.subject});
  for (const auto& l : i.labels) e.tags.push_back(list_tag("t", {l}));
  return e;
}

Event status_event(const StatusOut& s, int64_t created_at) {
  if (s.kind < kStatusOpen || s.kind > kStatusDraft) {
    invalid("status kind " + std::to_string(s.kind) + " is not 1630-1633");
  }
  if (!is_lower_hex(s.root_event, 64)) invalid("the root event is not a 64-hex event id");
  require_pubkey(s.repo_owner, "the repository owner");
  if (!s.root_author.empty()) require_pubkey(s.root_author, "the root event's author");
  if (!s.repo_address.empty()) require_address(s.repo_address);
  if (s.kind != kStatusApplied && (!s.merge_commit.empty() || !s.applied_commits.empty())) {
    invalid("only an applied status (1631) names merged or applied commits");
  }
  require_text(s.content, "the status text");
  Event e = unsigned_event(s.kind, created_at, s.content);
  e.tags.push_back({"e", s.root_event, "", "root"});
  e.tags.push_back({"p", s.repo_owner});
  if (!s.root_author.empty() && s.root_author != s.repo_owner) {
    e.tags.push_back({"p", s.root_author});
  }
  if (!s.repo_address.empty()) e.tags.push_back({"a", s.repo_address});
  if (!s.merge_commit.empty()) {
    require_commit(s.merge_commit, "the merge commit");
    e.tags.push_back({"merge-commit", s.merge_commit});
    e.tags.push_back({"r", s.merge_commit});
  }
  if (!s.applied_commits.empty()) {
    for (const auto& c : s.applied_commits) require_commit(c, "an applied commit");
    if (s.applied_commits.size() + 3 > kMaxTags) invalid("too many applied commits");
    e.tags.push_back(list_tag("applied-as-commits", s.applied_commits));
    for (const auto& c : s.applied_commits) e.tags.push_back({"r", c});
  }
  return e;
}

InboundIssue parse_inbound_issue(const Event& e) {
  require_kind(e, kIssue, "an issue");
  InboundIssue out;
  out.event_id = e.id;
  out.author = e.pubkey;
  out.created_at = e.created_at;
  out.repo_address = inbound_repo_address(e, "the issue");
  if (auto subject = tag_value(e, "subject")) out.subject = subject_line(*subject);
  if (out.subject.empty()) out.subject = subject_line(e.content);
  if (out.subject.empty()) malformed("the issue has no subject: no subject tag and no text");
  out.content = e.content;
  for (const auto& t : tags_named(e, "t")) {
    if (t.size() < 2 || t[1].empty()) continue;
    if (t[1].size() > kMaxLabelBytes) {
      malformed("an issue label is over " + std::to_string(kMaxLabelBytes) + " bytes");
    }
    if (std::find(out.labels.begin(), out.labels.end(), t[1]) != out.labels.end()) continue;
    if (out.labels.size() == kMaxLabels) {
      malformed("the issue has more than " + std::to_string(kMaxLabels) + " labels");
    }
    out.labels.push_back(t[1]);
  }
  return out;
}

InboundPatch parse_inbound_patch(const Event& e) {
  require_kind(e, kPatch, "a patch");
  InboundPatch out;
  out.event_id = e.id;
  out.author = e.pubkey;
  out.created_at = e.created_at;
  out.repo_address = inbound_repo_address(e, "the patch");
  require_patch(e.content, Code::kMalformed);
  out.patch = e.content;
  if (auto c = tag_value(e, "commit")) {
    if (!is_commit_id(*c)) malformed("the patch's commit tag is not a 40- or 64-hex commit id");
    out.commit = *c;
  }
  if (auto c = tag_value(e, "parent-commit")) {
    if (!is_commit_id(*c)) {
      malformed("the patch's parent-commit tag is not a 40- or 64-hex commit id");
    }
    out.parent_commit = *c;
  }
  out.root = has_t(e, "root");
  out.root_revision = has_t(e, "root-revision");
  std::string reply;
  for (const auto& t : tags_named(e, "e")) {
    if (t.size() < 4 || (t[3] != "root" && t[3] != "reply")) continue;
    if (!is_lower_hex(t[1], 64)) malformed("the patch's e tag is not a 64-hex event id");
    if (t[3] == "root" && out.root_event.empty()) out.root_event = t[1];
    if (t[3] == "reply" && reply.empty()) reply = t[1];
  }
  if (out.root_event.empty()) out.root_event = reply;
  return out;
}

}  // namespace guts::nostr
