#include "state/collab.h"

#include <algorithm>
#include <array>

#include "codec/codec.h"
#include "core/utf8.h"
#include "state/field_codec.h"

namespace guts::state {

using codec::DecodeError;
using codec::Reader;
using codec::Writer;
using namespace field;  // state/field_codec.h

namespace {

constexpr size_t kMaxStr = 4096;  // names, refs, paths, short texts
constexpr size_t kMaxText = kMaxBodyBytesCollab;
constexpr size_t kMaxList = 1000;
constexpr size_t kMaxOid = 32;

std::vector<std::string> get_strs(Reader& r, const char* what) {
  return field::get_strs(r, kMaxList, kMaxStr, what);
}
std::vector<crypto::PublicKey> get_keys(Reader& r, const char* what) {
  return field::get_keys(r, kMaxList, what);
}
Bytes get_oid(Reader& r, const char* what) {
  Bytes oid = r.bytes(kMaxOid, what);
  if (!oid.empty() && oid.size() != 20 && oid.size() != 32)
    throw DecodeError(std::string(what) + " must be 0, 20 or 32 bytes");
  return oid;
}
std::vector<uint64_t> get_u64s(Reader& r, const char* what) {
  return field::get_u64s(r, kMaxList, what);
}

}  // namespace

const char* state_reason_name(uint8_t reason) {
  switch (reason) {
    case kReasonCompleted:
      return "completed";
    case kReasonNotPlanned:
      return "not_planned";
    case kReasonReopened:
      return "reopened";
    default:
      return "";
  }
}
const char* merge_method_name(uint8_t method) {
  switch (method) {
    case kMergeCommit:
      return "merge";
    case kMergeSquash:
      return "squash";
    case kMergeRebase:
      return "rebase";
    default:
      return "";
  }
}
const char* review_state_name(uint8_t state) {
  switch (state) {
    case kReviewApprove:
      return "APPROVED";
    case kReviewRequestChanges:
      return "CHANGES_REQUESTED";
    case kReviewComment:
      return "COMMENTED";
    case kReviewDismissed:
      return "DISMISSED";
    default:
      return "PENDING";
  }
}
const char* side_name(uint8_t side) {
  switch (side) {
    case kSideLeft:
      return "LEFT";
    case kSideRight:
      return "RIGHT";
    default:
      return "";
  }
}

// ---- bodies ----

void encode_collab_body(Writer& w, const SetCollaborator& b) {
  w.varint(b.repo_id).fixed(b.user).u8(b.permission);
}
void encode_collab_body(Writer& w, const ForkRepo& b) {
  w.varint(b.parent_id).str(b.name).boolean(b.default_branch_only);
}
void encode_collab_body(Writer& w, const CreateIssue& b) {
  w.varint(b.repo_id).str(b.title).str(b.body);
  put_strs(w, b.labels);
  put_keys(w, b.assignees);
  w.varint(b.milestone);
}
void encode_collab_body(Writer& w, const EditIssue& b) {
  w.varint(b.repo_id).varint(b.number);
  put_opt_str(w, b.title);
  put_opt_str(w, b.body);
  put_opt_u8(w, b.state);
  w.u8(b.state_reason);
  w.boolean(b.labels.has_value());
  if (b.labels) put_strs(w, *b.labels);
  put_strs(w, b.labels_add);
  put_strs(w, b.labels_remove);
  w.boolean(b.assignees.has_value());
  if (b.assignees) put_keys(w, *b.assignees);
  put_keys(w, b.assignees_add);
  put_keys(w, b.assignees_remove);
  put_opt_u64(w, b.milestone);
  put_opt_bool(w, b.locked);
  w.str(b.lock_reason);
  put_opt_str(w, b.base);
  put_opt_bool(w, b.draft);
  put_keys(w, b.reviewers_add);
  put_keys(w, b.reviewers_remove);
}
void encode_collab_body(Writer& w, const CreateComment& b) {
  w.varint(b.repo_id).varint(b.number).str(b.body);
}
void encode_collab_body(Writer& w, const EditComment& b) {
  w.varint(b.repo_id).varint(b.comment_id).str(b.body);
}
void encode_collab_body(Writer& w, const DeleteComment& b) {
  w.varint(b.repo_id).varint(b.comment_id);
}
void encode_collab_body(Writer& w, const SetLabel& b) {
  w.varint(b.repo_id).u8(b.op).str(b.name);
  put_opt_str(w, b.new_name);
  put_opt_str(w, b.color);
  put_opt_str(w, b.description);
}
void encode_collab_body(Writer& w, const SetMilestone& b) {
  w.varint(b.repo_id).u8(b.op).varint(b.number);
  put_opt_str(w, b.title);
  put_opt_str(w, b.description);
  put_opt_u8(w, b.state);
  put_opt_u64(w, b.due_on_ms);
}
void encode_collab_body(Writer& w, const SetReaction& b) {
  w.varint(b.repo_id).u8(b.target_type).varint(b.target_id).str(b.content).boolean(b.remove);
}
void encode_collab_body(Writer& w, const OpenPullRequest& b) {
  w.varint(b.repo_id).str(b.title).str(b.body).varint(b.head_repo_id).str(b.head).str(b.base);
  w.bytes(b.head_sha).boolean(b.draft);
}
void encode_collab_body(Writer& w, const MergePullRequest& b) {
  w.varint(b.repo_id)
      .varint(b.number)
      .u8(b.method)
      .bytes(b.head_sha)
      .bytes(b.base_old)
      .bytes(b.merge_sha);
}
void encode_collab_body(Writer& w, const SubmitReview& b) {
  w.varint(b.repo_id).varint(b.number).u8(b.event).str(b.body).bytes(b.commit_sha);
  w.varint(b.comments.size());
  for (const auto& c : b.comments)
    w.str(c.path).varint(c.line).u8(c.side).varint(c.start_line).str(c.body);
}
void encode_collab_body(Writer& w, const CreateReviewComment& b) {
  w.varint(b.repo_id).varint(b.number).str(b.body).bytes(b.commit_sha).str(b.path).varint(b.line);
  w.u8(b.side).varint(b.start_line).varint(b.in_reply_to);
}
void encode_collab_body(Writer& w, const DismissReview& b) {
  w.varint(b.repo_id).varint(b.number).varint(b.review_id).str(b.message);
}

template <>
SetCollaborator decode_collab_body<SetCollaborator>(Reader& r) {
  SetCollaborator b;
  b.repo_id = r.varint();
  b.user = r.fixed<32>();
  b.permission = r.u8();
  return b;
}
template <>
ForkRepo decode_collab_body<ForkRepo>(Reader& r) {
  ForkRepo b;
  b.parent_id = r.varint();
  b.name = r.str(kMaxStr, "name");
  b.default_branch_only = r.boolean();
  return b;
}
template <>
CreateIssue decode_collab_body<CreateIssue>(Reader& r) {
  CreateIssue b;
  b.repo_id = r.varint();
  b.title = r.str(kMaxStr, "title");
  b.body = r.str(kMaxText, "body");
  b.labels = get_strs(r, "labels");
  b.assignees = get_keys(r, "assignees");
  b.milestone = r.varint();
  return b;
}
template <>
EditIssue decode_collab_body<EditIssue>(Reader& r) {
  EditIssue b;
  b.repo_id = r.varint();
  b.number = r.varint();
  b.title = get_opt_str(r, kMaxStr, "title");
  b.body = get_opt_str(r, kMaxText, "body");
  b.state = get_opt_u8(r);
  b.state_reason = r.u8();
  if (r.boolean()) b.labels = get_strs(r, "labels");
  b.labels_add = get_strs(r, "labels");
  b.labels_remove = get_strs(r, "labels");
  if (r.boolean()) b.assignees = get_keys(r, "assignees");
  b.assignees_add = get_keys(r, "assignees");
  b.assignees_remove = get_keys(r, "assignees");
  b.milestone = get_opt_u64(r);
  b.locked = get_opt_bool(r);
  b.lock_reason = r.str(kMaxStr, "lock reason");
  b.base = get_opt_str(r, kMaxStr, "base");
  b.draft = get_opt_bool(r);
  b.reviewers_add = get_keys(r, "reviewers");
  b.reviewers_remove = get_keys(r, "reviewers");
  return b;
}
template <>
CreateComment decode_collab_body<CreateComment>(Reader& r) {
  CreateComment b;
  b.repo_id = r.varint();
  b.number = r.varint();
  b.body = r.str(kMaxText, "body");
  return b;
}
template <>
EditComment decode_collab_body<EditComment>(Reader& r) {
  EditComment b;
  b.repo_id = r.varint();
  b.comment_id = r.varint();
  b.body = r.str(kMaxText, "body");
  return b;
}
template <>
DeleteComment decode_collab_body<DeleteComment>(Reader& r) {
  DeleteComment b;
  b.repo_id = r.varint();
  b.comment_id = r.varint();
  return b;
}
template <>
SetLabel decode_collab_body<SetLabel>(Reader& r) {
  SetLabel b;
  b.repo_id = r.varint();
  b.op = r.u8();
  b.name = r.str(kMaxStr, "name");
  b.new_name = get_opt_str(r, kMaxStr, "name");
  b.color = get_opt_str(r, kMaxStr, "color");
  b.description = get_opt_str(r, kMaxStr, "description");
  return b;
}
template <>
SetMilestone decode_collab_body<SetMilestone>(Reader& r) {
  SetMilestone b;
  b.repo_id = r.varint();
  b.op = r.u8();
  b.number = r.varint();
  b.title = get_opt_str(r, kMaxStr, "title");
  b.description = get_opt_str(r, kMaxText, "description");
  b.state = get_opt_u8(r);
  b.due_on_ms = get_opt_u64(r);
  return b;
}
template <>
SetReaction decode_collab_body<SetReaction>(Reader& r) {
  SetReaction b;
  b.repo_id = r.varint();
  b.target_type = r.u8();
  b.target_id = r.varint();
  b.content = r.str(64, "content");
  b.remove = r.boolean();
  return b;
}
template <>
OpenPullRequest decode_collab_body<OpenPullRequest>(Reader& r) {
  OpenPullRequest b;
  b.repo_id = r.varint();
  b.title = r.str(kMaxStr, "title");
  b.body = r.str(kMaxText, "body");
  b.head_repo_id = r.varint();
  b.head = r.str(kMaxStr, "head");
  b.base = r.str(kMaxStr, "base");
  b.head_sha = get_oid(r, "head sha");
  b.draft = r.boolean();
  return b;
}
template <>
MergePullRequest decode_collab_body<MergePullRequest>(Reader& r) {
  MergePullRequest b;
  b.repo_id = r.varint();
  b.number = r.varint();
  b.method = r.u8();
  b.head_sha = get_oid(r, "head sha");
  b.base_old = get_oid(r, "base sha");
  b.merge_sha = get_oid(r, "merge sha");
  return b;
}
template <>
SubmitReview decode_collab_body<SubmitReview>(Reader& r) {
  SubmitReview b;
  b.repo_id = r.varint();
  b.number = r.varint();
  b.event = r.u8();
  b.body = r.str(kMaxText, "body");
  b.commit_sha = get_oid(r, "commit sha");
  size_t n = r.count(kMaxList, "comments");
  for (size_t i = 0; i < n; ++i) {
    ReviewCommentInput c;
    c.path = r.str(kMaxStr, "path");
    c.line = r.varint();
    c.side = r.u8();
    c.start_line = r.varint();
    c.body = r.str(kMaxText, "body");
    b.comments.push_back(std::move(c));
  }
  return b;
}
template <>
CreateReviewComment decode_collab_body<CreateReviewComment>(Reader& r) {
  CreateReviewComment b;
  b.repo_id = r.varint();
  b.number = r.varint();
  b.body = r.str(kMaxText, "body");
  b.commit_sha = get_oid(r, "commit sha");
  b.path = r.str(kMaxStr, "path");
  b.line = r.varint();
  b.side = r.u8();
  b.start_line = r.varint();
  b.in_reply_to = r.varint();
  return b;
}
template <>
DismissReview decode_collab_body<DismissReview>(Reader& r) {
  DismissReview b;
  b.repo_id = r.varint();
  b.number = r.varint();
  b.review_id = r.varint();
  b.message = r.str(kMaxText, "message");
  return b;
}

// ---- records ----

std::string encode_issue(const Issue& x) {
  Writer w;
  w.varint(x.id).varint(x.repo_id).varint(x.number).boolean(x.is_pull).fixed(x.author);
  w.str(x.title).str(x.body).u8(x.state).u8(x.state_reason);
  put_u64s(w, x.labels);
  put_keys(w, x.assignees);
  w.varint(x.milestone).boolean(x.locked).str(x.lock_reason).varint(x.comments);
  w.varint(x.created_ms).varint(x.updated_ms).varint(x.closed_ms);
  put_opt_key(w, x.closed_by);
  if (x.is_pull) {
    w.varint(x.head_repo_id).str(x.head_ref).bytes(x.head_sha).str(x.base_ref).bytes(x.base_sha);
    w.boolean(x.draft).boolean(x.merged).varint(x.merged_ms);
    put_opt_key(w, x.merged_by);
    w.bytes(x.merge_sha).u8(x.merge_method).varint(x.review_comments);
    put_keys(w, x.requested_reviewers);
    w.varint(x.revisions);
  }
  return guts::to_string(w.data());
}

Issue decode_issue(std::string_view data) {
  Reader r(as_bytes(data));
  Issue x;
  x.id = r.varint();
  x.repo_id = r.varint();
  x.number = r.varint();
  x.is_pull = r.boolean();
  x.author = r.fixed<32>();
  x.title = r.str(kMaxStr);
  x.body = r.str(kMaxText);
  x.state = r.u8();
  x.state_reason = r.u8();
  x.labels = get_u64s(r, "labels");
  x.assignees = get_keys(r, "assignees");
  x.milestone = r.varint();
  x.locked = r.boolean();
  x.lock_reason = r.str(kMaxStr);
  x.comments = r.varint();
  x.created_ms = r.varint();
  x.updated_ms = r.varint();
  x.closed_ms = r.varint();
  x.closed_by = get_opt_key(r);
  if (x.is_pull) {
    x.head_repo_id = r.varint();
    x.head_ref = r.str(kMaxStr);
    x.head_sha = r.bytes(kMaxOid);
    x.base_ref = r.str(kMaxStr);
    x.base_sha = r.bytes(kMaxOid);
    x.draft = r.boolean();
    x.merged = r.boolean();
    x.merged_ms = r.varint();
    x.merged_by = get_opt_key(r);
    x.merge_sha = r.bytes(kMaxOid);
    x.merge_method = r.u8();
    x.review_comments = r.varint();
    x.requested_reviewers = get_keys(r, "reviewers");
    x.revisions = r.varint();
  }
  r.finish();
  return x;
}

std::string encode_comment(const Comment& x) {
  Writer w;
  w.varint(x.id).varint(x.repo_id).varint(x.number).u8(x.kind).fixed(x.author).str(x.body);
  w.varint(x.created_ms).varint(x.updated_ms);
  if (x.kind == kReviewCommentKind) {
    w.varint(x.review_id).str(x.path).varint(x.line).u8(x.side).varint(x.start_line);
    w.bytes(x.commit_sha).varint(x.in_reply_to);
  }
  return guts::to_string(w.data());
}

Comment decode_comment(std::string_view data) {
  Reader r(as_bytes(data));
  Comment x;
  x.id = r.varint();
  x.repo_id = r.varint();
  x.number = r.varint();
  x.kind = r.u8();
  x.author = r.fixed<32>();
  x.body = r.str(kMaxText);
  x.created_ms = r.varint();
  x.updated_ms = r.varint();
  if (x.kind == kReviewCommentKind) {
    x.review_id = r.varint();
    x.path = r.str(kMaxStr);
    x.line = r.varint();
    x.side = r.u8();
    x.start_line = r.varint();
    x.commit_sha = r.bytes(kMaxOid);
    x.in_reply_to = r.varint();
  }
  r.finish();
  return x;
}

std::string encode_label(const Label& x) {
  Writer w;
  w.varint(x.id).varint(x.repo_id).str(x.name).str(x.color).str(x.description);
  return guts::to_string(w.data());
}
Label decode_label(std::string_view data) {
  Reader r(as_bytes(data));
  Label x;
  x.id = r.varint();
  x.repo_id = r.varint();
  x.name = r.str(kMaxStr);
  x.color = r.str(kMaxStr);
  x.description = r.str(kMaxStr);
  r.finish();
  return x;
}

std::string encode_milestone(const Milestone& x) {
  Writer w;
  w.varint(x.id).varint(x.repo_id).varint(x.number).str(x.title).str(x.description).u8(x.state);
  w.varint(x.due_on_ms).fixed(x.creator).varint(x.created_ms).varint(x.updated_ms);
  w.varint(x.closed_ms).varint(x.open_issues).varint(x.closed_issues);
  return guts::to_string(w.data());
}
Milestone decode_milestone(std::string_view data) {
  Reader r(as_bytes(data));
  Milestone x;
  x.id = r.varint();
  x.repo_id = r.varint();
  x.number = r.varint();
  x.title = r.str(kMaxStr);
  x.description = r.str(kMaxText);
  x.state = r.u8();
  x.due_on_ms = r.varint();
  x.creator = r.fixed<32>();
  x.created_ms = r.varint();
  x.updated_ms = r.varint();
  x.closed_ms = r.varint();
  x.open_issues = r.varint();
  x.closed_issues = r.varint();
  r.finish();
  return x;
}

std::string encode_reaction(const Reaction& x) {
  Writer w;
  w.varint(x.id).varint(x.repo_id).u8(x.target_type).varint(x.target_id).fixed(x.user);
  w.str(x.content).varint(x.created_ms);
  return guts::to_string(w.data());
}
Reaction decode_reaction(std::string_view data) {
  Reader r(as_bytes(data));
  Reaction x;
  x.id = r.varint();
  x.repo_id = r.varint();
  x.target_type = r.u8();
  x.target_id = r.varint();
  x.user = r.fixed<32>();
  x.content = r.str(64);
  x.created_ms = r.varint();
  r.finish();
  return x;
}

std::string encode_review(const Review& x) {
  Writer w;
  w.varint(x.id).varint(x.repo_id).varint(x.number).fixed(x.author).u8(x.state).str(x.body);
  w.bytes(x.commit_sha).varint(x.submitted_ms).str(x.dismiss_message);
  return guts::to_string(w.data());
}
Review decode_review(std::string_view data) {
  Reader r(as_bytes(data));
  Review x;
  x.id = r.varint();
  x.repo_id = r.varint();
  x.number = r.varint();
  x.author = r.fixed<32>();
  x.state = r.u8();
  x.body = r.str(kMaxText);
  x.commit_sha = r.bytes(kMaxOid);
  x.submitted_ms = r.varint();
  x.dismiss_message = r.str(kMaxText);
  r.finish();
  return x;
}

std::string encode_revision(const Revision& x) {
  Writer w;
  w.varint(x.index).bytes(x.head_sha).bytes(x.base_sha).varint(x.recorded_ms);
  return guts::to_string(w.data());
}
Revision decode_revision(std::string_view data) {
  Reader r(as_bytes(data));
  Revision x;
  x.index = r.varint();
  x.head_sha = r.bytes(kMaxOid);
  x.base_sha = r.bytes(kMaxOid);
  x.recorded_ms = r.varint();
  r.finish();
  return x;
}

std::string encode_collaborator(const Collaborator& x) {
  Writer w;
  w.fixed(x.user).u8(x.permission).varint(x.added_ms);
  return guts::to_string(w.data());
}
Collaborator decode_collaborator(std::string_view data) {
  Reader r(as_bytes(data));
  Collaborator x;
  x.user = r.fixed<32>();
  x.permission = r.u8();
  x.added_ms = r.varint();
  r.finish();
  return x;
}

// ---- validity helpers ----

size_t utf8_chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xc0) != 0x80) ++n;
  return n;
}

std::optional<std::string> title_error(std::string_view title) {
  if (!is_valid_utf8(title)) return "is not valid UTF-8";
  bool blank =
      std::all_of(title.begin(), title.end(), [](char c) { return c == ' ' || c == '\t'; });
  if (title.empty() || blank) return "can't be blank";
  if (utf8_chars(title) > kMaxTitleChars)
    return "is too long (maximum is " + std::to_string(kMaxTitleChars) + " characters)";
  for (unsigned char c : title)
    if (c < 0x20 && c != '\t') return "may not contain control characters";
  return std::nullopt;
}

std::optional<std::string> body_error(std::string_view body) {
  if (!is_valid_utf8(body)) return "is not valid UTF-8";
  if (body.size() > kMaxBodyBytesCollab)
    return "is too long (maximum is " + std::to_string(kMaxBodyBytesCollab) + " bytes)";
  return std::nullopt;
}

std::optional<std::string> label_name_error(std::string_view name) {
  if (!is_valid_utf8(name)) return "is not valid UTF-8";
  if (name.empty()) return "can't be blank";
  if (utf8_chars(name) > kMaxLabelNameChars)
    return "is too long (maximum is " + std::to_string(kMaxLabelNameChars) + " characters)";
  if (name.front() == ' ' || name.back() == ' ') return "may not begin or end with a space";
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return "may not contain control characters";
    if (c == ',') return "may not contain a comma";
  }
  return std::nullopt;
}

std::optional<std::string> label_color_error(std::string_view color) {
  if (color.size() != 6) return "must be 6 hexadecimal digits";
  for (char c : color)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return "must be 6 hexadecimal digits";
  return std::nullopt;
}

std::optional<std::string> label_description_error(std::string_view description) {
  if (!is_valid_utf8(description)) return "is not valid UTF-8";
  if (utf8_chars(description) > kMaxLabelDescriptionChars)
    return "is too long (maximum is " + std::to_string(kMaxLabelDescriptionChars) + " characters)";
  return std::nullopt;
}

bool is_valid_reaction(std::string_view content) {
  static constexpr std::array<std::string_view, 8> kContents = {
      "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"};
  return std::find(kContents.begin(), kContents.end(), content) != kContents.end();
}

int reaction_index(std::string_view content) {
  for (int i = 0; i < 8; ++i)
    if (content == kReactionContents[i]) return i;
  return -1;
}

std::string encode_reaction_counts(const ReactionCounts& c) {
  Writer w;
  for (auto n : c) w.varint(n);
  return guts::to_string(w.data());
}

ReactionCounts decode_reaction_counts(std::string_view data) {
  Reader r(as_bytes(data));
  ReactionCounts c{};
  for (auto& n : c) n = r.varint();
  r.finish();
  return c;
}

bool is_valid_lock_reason(std::string_view reason) {
  return reason.empty() || reason == "off-topic" || reason == "too heated" ||
         reason == "resolved" || reason == "spam";
}

}  // namespace guts::state
