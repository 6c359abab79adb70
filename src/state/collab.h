// Collaboration: collaborators, forks, issues, comments, labels, milestones, reactions, pull
// requests, reviews and merges as signed transactions (issue 7; docs/protocol.md §3.2).
//
// Bodies are encoded with the rules of codec.h (docs/protocol.md gives every field in order);
// records are the values stored in the collaboration column families (kv.h). Issues and pull
// requests share one number sequence per repository, as on GitHub; comments, reviews, labels
// and reactions have chain-wide ids. Every time stored comes from the block's timestamp.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"

namespace guts::codec {
class Writer;
class Reader;
}  // namespace guts::codec

namespace guts::state {

// ---- enumerations (their numeric values are part of the encodings) ----

enum IssueState : uint8_t { kIssueOpen = 1, kIssueClosed = 2 };
enum StateReason : uint8_t {
  kReasonNone = 0,
  kReasonCompleted = 1,
  kReasonNotPlanned = 2,
  kReasonReopened = 3,
};
enum LabelOp : uint8_t { kLabelCreate = 1, kLabelUpdate = 2, kLabelDelete = 3 };
enum MilestoneOp : uint8_t { kMilestoneCreate = 1, kMilestoneUpdate = 2, kMilestoneDelete = 3 };
enum ReactionTarget : uint8_t { kReactIssue = 1, kReactComment = 2 };
enum MergeMethod : uint8_t { kMergeCommit = 1, kMergeSquash = 2, kMergeRebase = 3 };
enum ReviewEvent : uint8_t {
  kReviewApprove = 1,
  kReviewRequestChanges = 2,
  kReviewComment = 3,
  kReviewDismissed = 4,  // a review's state after DismissReview (never in a transaction)
};
enum DiffSide : uint8_t { kSideNone = 0, kSideLeft = 1, kSideRight = 2 };
enum CommentKind : uint8_t { kIssueComment = 1, kReviewCommentKind = 2 };

const char* state_reason_name(uint8_t reason);  // "completed", "not_planned", "reopened", ""
const char* merge_method_name(uint8_t method);  // "merge", "squash", "rebase"
const char* review_state_name(uint8_t state);   // "APPROVED", "CHANGES_REQUESTED", ...
const char* side_name(uint8_t side);            // "LEFT", "RIGHT", ""

// ---- transaction bodies ----

// permission: 0 removes the collaborator; 1 read, 2 triage, 3 write, 4 maintain, 5 admin.
struct SetCollaborator {
  uint64_t repo_id = 0;
  crypto::PublicKey user{};
  uint8_t permission = 0;
};
// A new repository of the author whose refs (branches and tags; only the default branch when
// default_branch_only) start as the parent's; the parent is recorded.
struct ForkRepo {
  uint64_t parent_id = 0;
  std::string name;
  bool default_branch_only = false;
};
struct CreateIssue {
  uint64_t repo_id = 0;
  std::string title;
  std::string body;
  std::vector<std::string> labels;  // names; created when missing (triage and above)
  std::vector<crypto::PublicKey> assignees;
  uint64_t milestone = 0;  // number, 0: none
};
// Edits an issue or a pull request. Absent fields are unchanged.
struct EditIssue {
  uint64_t repo_id = 0;
  uint64_t number = 0;
  std::optional<std::string> title;
  std::optional<std::string> body;
  std::optional<uint8_t> state;  // IssueState
  uint8_t state_reason = kReasonNone;
  std::optional<std::vector<std::string>> labels;  // replaces the set
  std::vector<std::string> labels_add;
  std::vector<std::string> labels_remove;
  std::optional<std::vector<crypto::PublicKey>> assignees;  // replaces the set
  std::vector<crypto::PublicKey> assignees_add;
  std::vector<crypto::PublicKey> assignees_remove;
  std::optional<uint64_t> milestone;  // 0 clears
  std::optional<bool> locked;
  std::string lock_reason;  // "", "off-topic", "too heated", "resolved", "spam"
  // Pull requests only.
  std::optional<std::string> base;
  std::optional<bool> draft;
  std::vector<crypto::PublicKey> reviewers_add;
  std::vector<crypto::PublicKey> reviewers_remove;
};
struct CreateComment {
  uint64_t repo_id = 0;
  uint64_t number = 0;
  std::string body;
};
struct EditComment {
  uint64_t repo_id = 0;
  uint64_t comment_id = 0;
  std::string body;
};
struct DeleteComment {
  uint64_t repo_id = 0;
  uint64_t comment_id = 0;
};
struct SetLabel {
  uint64_t repo_id = 0;
  uint8_t op = kLabelCreate;
  std::string name;  // the label (create: the new name)
  std::optional<std::string> new_name;
  std::optional<std::string> color;  // 6 hex digits
  std::optional<std::string> description;
};
struct SetMilestone {
  uint64_t repo_id = 0;
  uint8_t op = kMilestoneCreate;
  uint64_t number = 0;  // update / delete
  std::optional<std::string> title;
  std::optional<std::string> description;
  std::optional<uint8_t> state;       // IssueState
  std::optional<uint64_t> due_on_ms;  // 0 clears
};
struct SetReaction {
  uint64_t repo_id = 0;
  uint8_t target_type = kReactIssue;
  uint64_t target_id = 0;  // issue number or comment id
  std::string content;     // +1, -1, laugh, confused, heart, hooray, rocket, eyes
  bool remove = false;
};
struct OpenPullRequest {
  uint64_t repo_id = 0;
  std::string title;
  std::string body;
  uint64_t head_repo_id = 0;  // the repository itself or one of its fork network
  std::string head;           // branch name
  std::string base;           // branch name in repo_id
  Bytes head_sha;             // must be the head branch's current value
  bool draft = false;
};
// Records a merge and moves the base branch from base_old to merge_sha in one step. The node
// creates merge_sha (and its objects) in the repository before submitting.
struct MergePullRequest {
  uint64_t repo_id = 0;
  uint64_t number = 0;
  uint8_t method = kMergeCommit;
  Bytes head_sha;  // the head the merge was computed from (stale: rejected)
  Bytes base_old;  // the base branch's value the merge was computed on (compare-and-swap)
  Bytes merge_sha;
};
struct ReviewCommentInput {
  std::string path;
  uint64_t line = 0;
  uint8_t side = kSideRight;
  uint64_t start_line = 0;  // multi-line comments; 0: single line
  std::string body;
  bool operator==(const ReviewCommentInput&) const = default;
};
struct SubmitReview {
  uint64_t repo_id = 0;
  uint64_t number = 0;
  uint8_t event = kReviewComment;
  std::string body;
  Bytes commit_sha;  // empty: the pull request's head
  std::vector<ReviewCommentInput> comments;
};
// A single review comment (its own COMMENTED review), or a reply when in_reply_to is set
// (path, line and side then come from the thread).
struct CreateReviewComment {
  uint64_t repo_id = 0;
  uint64_t number = 0;
  std::string body;
  Bytes commit_sha;
  std::string path;
  uint64_t line = 0;
  uint8_t side = kSideRight;
  uint64_t start_line = 0;
  uint64_t in_reply_to = 0;
};
struct DismissReview {
  uint64_t repo_id = 0;
  uint64_t number = 0;
  uint64_t review_id = 0;
  std::string message;
};

// ---- records ----

struct Issue {
  uint64_t id = 0;  // chain-wide
  uint64_t repo_id = 0;
  uint64_t number = 0;
  bool is_pull = false;
  crypto::PublicKey author{};
  std::string title;
  std::string body;
  uint8_t state = kIssueOpen;
  uint8_t state_reason = kReasonNone;
  std::vector<uint64_t> labels;  // label ids
  std::vector<crypto::PublicKey> assignees;
  uint64_t milestone = 0;
  bool locked = false;
  std::string lock_reason;
  uint64_t comments = 0;
  uint64_t created_ms = 0;
  uint64_t updated_ms = 0;
  uint64_t closed_ms = 0;
  std::optional<crypto::PublicKey> closed_by;
  // Pull requests.
  uint64_t head_repo_id = 0;
  std::string head_ref;
  Bytes head_sha;
  std::string base_ref;
  Bytes base_sha;  // at open; at merge, the base the merge was made on
  bool draft = false;
  bool merged = false;
  uint64_t merged_ms = 0;
  std::optional<crypto::PublicKey> merged_by;
  Bytes merge_sha;
  uint8_t merge_method = 0;
  uint64_t review_comments = 0;
  std::vector<crypto::PublicKey> requested_reviewers;
  uint64_t revisions = 0;  // head revisions recorded (the first at open)
};

struct Comment {
  uint64_t id = 0;
  uint64_t repo_id = 0;
  uint64_t number = 0;
  uint8_t kind = kIssueComment;
  crypto::PublicKey author{};
  std::string body;
  uint64_t created_ms = 0;
  uint64_t updated_ms = 0;
  // Review comments.
  uint64_t review_id = 0;
  std::string path;
  uint64_t line = 0;
  uint8_t side = kSideNone;
  uint64_t start_line = 0;
  Bytes commit_sha;
  uint64_t in_reply_to = 0;  // root of the thread
};

struct Label {
  uint64_t id = 0;
  uint64_t repo_id = 0;
  std::string name;
  std::string color;
  std::string description;
};

struct Milestone {
  uint64_t id = 0;
  uint64_t repo_id = 0;
  uint64_t number = 0;
  std::string title;
  std::string description;
  uint8_t state = kIssueOpen;
  uint64_t due_on_ms = 0;
  crypto::PublicKey creator{};
  uint64_t created_ms = 0;
  uint64_t updated_ms = 0;
  uint64_t closed_ms = 0;
  uint64_t open_issues = 0;
  uint64_t closed_issues = 0;
};

struct Reaction {
  uint64_t id = 0;
  uint64_t repo_id = 0;
  uint8_t target_type = kReactIssue;
  uint64_t target_id = 0;
  crypto::PublicKey user{};
  std::string content;
  uint64_t created_ms = 0;
};

struct Review {
  uint64_t id = 0;
  uint64_t repo_id = 0;
  uint64_t number = 0;
  crypto::PublicKey author{};
  uint8_t state = kReviewComment;  // ReviewEvent
  std::string body;
  Bytes commit_sha;
  uint64_t submitted_ms = 0;
  std::string dismiss_message;
};

struct Revision {
  uint64_t index = 0;  // 0 = at open
  Bytes head_sha;
  Bytes base_sha;
  uint64_t recorded_ms = 0;
};

struct Collaborator {
  crypto::PublicKey user{};
  uint8_t permission = 0;
  uint64_t added_ms = 0;
};

// ---- encodings (collab.cpp) ----

void encode_collab_body(codec::Writer& w, const SetCollaborator& b);
void encode_collab_body(codec::Writer& w, const ForkRepo& b);
void encode_collab_body(codec::Writer& w, const CreateIssue& b);
void encode_collab_body(codec::Writer& w, const EditIssue& b);
void encode_collab_body(codec::Writer& w, const CreateComment& b);
void encode_collab_body(codec::Writer& w, const EditComment& b);
void encode_collab_body(codec::Writer& w, const DeleteComment& b);
void encode_collab_body(codec::Writer& w, const SetLabel& b);
void encode_collab_body(codec::Writer& w, const SetMilestone& b);
void encode_collab_body(codec::Writer& w, const SetReaction& b);
void encode_collab_body(codec::Writer& w, const OpenPullRequest& b);
void encode_collab_body(codec::Writer& w, const MergePullRequest& b);
void encode_collab_body(codec::Writer& w, const SubmitReview& b);
void encode_collab_body(codec::Writer& w, const CreateReviewComment& b);
void encode_collab_body(codec::Writer& w, const DismissReview& b);

template <typename T>
T decode_collab_body(codec::Reader& r);

std::string encode_issue(const Issue& x);
Issue decode_issue(std::string_view data);
std::string encode_comment(const Comment& x);
Comment decode_comment(std::string_view data);
std::string encode_label(const Label& x);
Label decode_label(std::string_view data);
std::string encode_milestone(const Milestone& x);
Milestone decode_milestone(std::string_view data);
std::string encode_reaction(const Reaction& x);
Reaction decode_reaction(std::string_view data);
std::string encode_review(const Review& x);
Review decode_review(std::string_view data);
std::string encode_revision(const Revision& x);
Revision decode_revision(std::string_view data);
std::string encode_collaborator(const Collaborator& x);
Collaborator decode_collaborator(std::string_view data);

// ---- validity helpers shared with the API (early 422s) ----

inline constexpr size_t kMaxTitleChars = 256;
inline constexpr size_t kMaxBodyBytesCollab = 65536;
inline constexpr size_t kMaxLabelNameChars = 50;
inline constexpr size_t kMaxLabelDescriptionChars = 100;
inline constexpr size_t kMaxLabelsPerRepo = 1000;
inline constexpr size_t kMaxLabelsPerIssue = 100;
inline constexpr size_t kMaxAssignees = 10;
inline constexpr size_t kMaxReviewComments = 100;
inline constexpr size_t kMaxPathBytes = 4096;
inline constexpr size_t kMaxRequestedReviewers = 15;

size_t utf8_chars(std::string_view s);
std::optional<std::string> title_error(std::string_view title);
std::optional<std::string> body_error(std::string_view body);
std::optional<std::string> label_name_error(std::string_view name);
std::optional<std::string> label_color_error(std::string_view color);
std::optional<std::string> label_description_error(std::string_view description);
bool is_valid_reaction(std::string_view content);
// The eight reaction contents, in the order of the per-target counts; -1 when invalid.
inline constexpr const char* kReactionContents[8] = {"+1",    "-1",     "laugh",  "confused",
                                                     "heart", "hooray", "rocket", "eyes"};
int reaction_index(std::string_view content);
using ReactionCounts = std::array<uint64_t, 8>;
std::string encode_reaction_counts(const ReactionCounts& c);
ReactionCounts decode_reaction_counts(std::string_view data);
bool is_valid_lock_reason(std::string_view reason);

}  // namespace guts::state
