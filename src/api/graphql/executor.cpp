#include "api/graphql/executor.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <list>
#include <map>
#include <set>
#include <vector>

namespace guts::api::graphql {
namespace {

// ---- The schema subset (types, their fields with return type and accepted arguments) ----
//
// A return type is a scalar or enum name, an object type name, or "[T]" for a list. Arguments
// are the comma-separated names a field accepts; any other argument is refused.

struct FieldDef {
  std::string_view name, type, args;
};

const std::set<std::string_view> kScalars = {"String",
                                             "Int",
                                             "Boolean",
                                             "ID",
                                             "DateTime",
                                             "URI",
                                             "GitObjectID",
                                             "HTML",
                                             "IssueState",
                                             "PullRequestState",
                                             "RepositoryPermission",
                                             "MergeableState",
                                             "MergeStateStatus",
                                             "RepositoryVisibility",
                                             "IssueStateReason",
                                             "PullRequestReviewDecision",
                                             "CommentAuthorAssociation",
                                             "Date",
                                             "PullRequestMergeMethod"};

#define GUTS_CONNECTION_FIELDS(T)                                                      \
  {"totalCount", "Int", ""}, {"nodes", "[" T "]", ""}, {"edges", "[" T "Edge]", ""}, { \
    "pageInfo", "PageInfo", ""                                                         \
  }
#define GUTS_ACTOR_FIELDS                                                      \
  {"login", "String", ""}, {"avatarUrl", "URI", "size"}, {"url", "URI", ""}, { \
    "resourcePath", "URI", ""                                                  \
  }
#define GUTS_LIST_ARGS "first,last,after,before"
#define GUTS_COMMON_ISSUE_FIELDS                                                                   \
  {"id", "ID", ""}, {"databaseId", "Int", ""}, {"number", "Int", ""}, {"title", "String", ""},     \
      {"body", "String", ""}, {"bodyText", "String", ""}, {"url", "URI", ""},                      \
      {"resourcePath", "URI", ""}, {"createdAt", "DateTime", ""}, {"updatedAt", "DateTime", ""},   \
      {"closedAt", "DateTime", ""}, {"closed", "Boolean", ""}, {"locked", "Boolean", ""},          \
      {"author", "Actor", ""}, {"authorAssociation", "CommentAuthorAssociation", ""},              \
      {"labels", "LabelConnection", GUTS_LIST_ARGS ",orderBy"},                                    \
      {"assignees", "UserConnection", GUTS_LIST_ARGS},                                             \
      {"comments", "IssueCommentConnection", GUTS_LIST_ARGS}, {"milestone", "Milestone", ""},      \
      {"repository", "Repository", ""}, {"projectCards", "ProjectCardConnection", GUTS_LIST_ARGS}, \
      {"projectItems", "ProjectV2ItemConnection", GUTS_LIST_ARGS},                                 \
      {"reactionGroups", "[ReactionGroup]", ""}, {"viewerCanUpdate", "Boolean", ""}, {             \
    "isPinned", "Boolean", ""                                                                      \
  }

const std::map<std::string_view, std::vector<FieldDef>> kTypes = {
    {"Query",
     {{"repository", "Repository", "owner,name,followRenames"},
      {"viewer", "User", ""},
      {"user", "User", "login"},
      {"node", "Node", "id"},
      {"nodes", "[Node]", "ids"},
      {"__type", "__Type", "name"}}},
    // Introspection of a type's fields (gh asks which fields a server has).
    {"__Type",
     {{"name", "String", ""},
      {"kind", "String", ""},
      {"description", "String", ""},
      {"fields", "[__Field]", "includeDeprecated"}}},
    {"__Field",
     {{"name", "String", ""},
      {"description", "String", ""},
      {"isDeprecated", "Boolean", ""},
      {"deprecationReason", "String", ""}}},
    {"Mutation",
     {{"createIssue", "CreateIssuePayload", "input"},
      {"closeIssue", "CloseIssuePayload", "input"},
      {"reopenIssue", "ReopenIssuePayload", "input"},
      {"createPullRequest", "CreatePullRequestPayload", "input"},
      {"mergePullRequest", "MergePullRequestPayload", "input"},
      {"closePullRequest", "ClosePullRequestPayload", "input"},
      {"reopenPullRequest", "ReopenPullRequestPayload", "input"},
      {"addComment", "AddCommentPayload", "input"}}},
    {"CreateIssuePayload", {{"issue", "Issue", ""}, {"clientMutationId", "String", ""}}},
    {"CloseIssuePayload", {{"issue", "Issue", ""}, {"clientMutationId", "String", ""}}},
    {"ReopenIssuePayload", {{"issue", "Issue", ""}, {"clientMutationId", "String", ""}}},
    {"CreatePullRequestPayload",
     {{"pullRequest", "PullRequest", ""}, {"clientMutationId", "String", ""}}},
    {"MergePullRequestPayload",
     {{"pullRequest", "PullRequest", ""}, {"clientMutationId", "String", ""}}},
    {"ClosePullRequestPayload",
     {{"pullRequest", "PullRequest", ""}, {"clientMutationId", "String", ""}}},
    {"ReopenPullRequestPayload",
     {{"pullRequest", "PullRequest", ""}, {"clientMutationId", "String", ""}}},
    {"AddCommentPayload",
     {{"commentEdge", "IssueCommentEdge", ""},
      {"subject", "Node", ""},
      {"clientMutationId", "String", ""}}},
    {"Repository",
     {{"id", "ID", ""},
      {"databaseId", "Int", ""},
      {"name", "String", ""},
      {"nameWithOwner", "String", ""},
      {"owner", "RepositoryOwner", ""},
      {"description", "String", ""},
      {"url", "URI", ""},
      {"resourcePath", "URI", ""},
      {"sshUrl", "String", ""},
      {"homepageUrl", "URI", ""},
      {"isPrivate", "Boolean", ""},
      {"visibility", "RepositoryVisibility", ""},
      {"isFork", "Boolean", ""},
      {"isArchived", "Boolean", ""},
      {"isDisabled", "Boolean", ""},
      {"isEmpty", "Boolean", ""},
      {"isLocked", "Boolean", ""},
      {"isMirror", "Boolean", ""},
      {"isTemplate", "Boolean", ""},
      {"isSecurityPolicyEnabled", "Boolean", ""},
      {"isInOrganization", "Boolean", ""},
      {"isUserConfigurationRepository", "Boolean", ""},
      {"parent", "Repository", ""},
      {"templateRepository", "Repository", ""},
      {"createdAt", "DateTime", ""},
      {"updatedAt", "DateTime", ""},
      {"pushedAt", "DateTime", ""},
      {"hasIssuesEnabled", "Boolean", ""},
      {"hasWikiEnabled", "Boolean", ""},
      {"hasProjectsEnabled", "Boolean", ""},
      {"hasDiscussionsEnabled", "Boolean", ""},
      {"mergeCommitAllowed", "Boolean", ""},
      {"squashMergeAllowed", "Boolean", ""},
      {"rebaseMergeAllowed", "Boolean", ""},
      {"autoMergeAllowed", "Boolean", ""},
      {"deleteBranchOnMerge", "Boolean", ""},
      {"forkingAllowed", "Boolean", ""},
      {"viewerPermission", "RepositoryPermission", ""},
      {"viewerCanAdminister", "Boolean", ""},
      {"viewerHasStarred", "Boolean", ""},
      {"viewerSubscription", "String", ""},
      {"stargazerCount", "Int", ""},
      {"forkCount", "Int", ""},
      {"diskUsage", "Int", ""},
      {"defaultBranchRef", "Ref", ""},
      {"primaryLanguage", "Language", ""},
      {"issue", "Issue", "number"},
      {"pullRequest", "PullRequest", "number"},
      {"issueOrPullRequest", "IssueOrPullRequest", "number"},
      {"issues", "IssueConnection", GUTS_LIST_ARGS ",states,labels,orderBy,filterBy"},
      {"pullRequests", "PullRequestConnection",
       GUTS_LIST_ARGS ",states,labels,orderBy,headRefName,baseRefName"},
      {"labels", "LabelConnection", GUTS_LIST_ARGS ",orderBy,query"},
      {"assignableUsers", "UserConnection", GUTS_LIST_ARGS ",query"},
      {"mentionableUsers", "UserConnection", GUTS_LIST_ARGS ",query"},
      {"milestones", "MilestoneConnection", GUTS_LIST_ARGS ",states,orderBy"},
      {"stargazers", "UserConnection", GUTS_LIST_ARGS},
      {"watchers", "UserConnection", GUTS_LIST_ARGS},
      {"repositoryTopics", "RepositoryTopicConnection", GUTS_LIST_ARGS},
      {"projects", "ProjectConnection", GUTS_LIST_ARGS ",states"},
      {"projectsV2", "ProjectV2Connection", GUTS_LIST_ARGS ",query"}}},
    {"RepositoryOwner", {{"id", "ID", ""}, GUTS_ACTOR_FIELDS}},
    {"Actor", {GUTS_ACTOR_FIELDS}},
    {"Node", {{"id", "ID", ""}}},
    {"IssueOrPullRequest", {}},
    {"User",
     {{"id", "ID", ""},
      {"databaseId", "Int", ""},
      GUTS_ACTOR_FIELDS,
      {"name", "String", ""},
      {"email", "String", ""},
      {"bio", "String", ""},
      {"company", "String", ""},
      {"location", "String", ""},
      {"createdAt", "DateTime", ""},
      {"isViewer", "Boolean", ""}}},
    {"Organization",
     {{"id", "ID", ""}, {"databaseId", "Int", ""}, GUTS_ACTOR_FIELDS, {"name", "String", ""}}},
    {"Bot", {{"id", "ID", ""}, GUTS_ACTOR_FIELDS}},
    {"Mannequin", {{"id", "ID", ""}, GUTS_ACTOR_FIELDS}},
    {"EnterpriseUserAccount", {{"id", "ID", ""}, GUTS_ACTOR_FIELDS, {"name", "String", ""}}},
    {"Team",
     {{"id", "ID", ""},
      {"name", "String", ""},
      {"slug", "String", ""},
      {"organization", "Organization", ""}}},
    {"Issue",
     {GUTS_COMMON_ISSUE_FIELDS,
      {"state", "IssueState", ""},
      {"stateReason", "IssueStateReason", ""}}},
    {"PullRequest",
     {GUTS_COMMON_ISSUE_FIELDS,
      {"state", "PullRequestState", ""},
      {"isDraft", "Boolean", ""},
      {"merged", "Boolean", ""},
      {"mergedAt", "DateTime", ""},
      {"mergedBy", "Actor", ""},
      {"mergeable", "MergeableState", ""},
      {"mergeStateStatus", "MergeStateStatus", ""},
      {"mergeCommit", "Commit", ""},
      {"headRefName", "String", ""},
      {"headRefOid", "GitObjectID", ""},
      {"baseRefName", "String", ""},
      {"baseRefOid", "GitObjectID", ""},
      {"headRepository", "Repository", ""},
      {"headRepositoryOwner", "RepositoryOwner", ""},
      {"baseRepository", "Repository", ""},
      {"isCrossRepository", "Boolean", ""},
      {"maintainerCanModify", "Boolean", ""},
      {"additions", "Int", ""},
      {"deletions", "Int", ""},
      {"changedFiles", "Int", ""},
      {"reviewDecision", "PullRequestReviewDecision", ""},
      {"isInMergeQueue", "Boolean", ""},
      {"isMergeQueueEnabled", "Boolean", ""},
      {"autoMergeRequest", "AutoMergeRequest", ""},
      {"viewerCanMergeAsAdmin", "Boolean", ""},
      {"commits", "PullRequestCommitConnection", GUTS_LIST_ARGS},
      {"reviewRequests", "ReviewRequestConnection", GUTS_LIST_ARGS},
      {"reviews", "PullRequestReviewConnection", GUTS_LIST_ARGS ",states"},
      {"latestReviews", "PullRequestReviewConnection", GUTS_LIST_ARGS},
      {"files", "PullRequestChangedFileConnection", GUTS_LIST_ARGS}}},
    {"Label",
     {{"id", "ID", ""},
      {"name", "String", ""},
      {"color", "String", ""},
      {"description", "String", ""},
      {"url", "URI", ""},
      {"isDefault", "Boolean", ""}}},
    {"Milestone",
     {{"id", "ID", ""},
      {"number", "Int", ""},
      {"title", "String", ""},
      {"description", "String", ""},
      {"dueOn", "DateTime", ""},
      {"state", "String", ""},
      {"url", "URI", ""}}},
    {"IssueComment",
     {{"id", "ID", ""},
      {"databaseId", "Int", ""},
      {"author", "Actor", ""},
      {"authorAssociation", "CommentAuthorAssociation", ""},
      {"body", "String", ""},
      {"createdAt", "DateTime", ""},
      {"updatedAt", "DateTime", ""},
      {"includesCreatedEdit", "Boolean", ""},
      {"isMinimized", "Boolean", ""},
      {"minimizedReason", "String", ""},
      {"url", "URI", ""},
      {"viewerDidAuthor", "Boolean", ""},
      {"reactionGroups", "[ReactionGroup]", ""}}},
    {"ReactionGroup", {{"content", "String", ""}, {"users", "UserConnection", GUTS_LIST_ARGS}}},
    {"Ref",
     {{"id", "ID", ""},
      {"name", "String", ""},
      {"prefix", "String", ""},
      {"target", "GitObject", ""}}},
    {"GitObject", {{"oid", "GitObjectID", ""}, {"id", "ID", ""}}},
    {"Commit",
     {{"oid", "GitObjectID", ""},
      {"id", "ID", ""},
      {"abbreviatedOid", "String", ""},
      {"messageHeadline", "String", ""},
      {"messageBody", "String", ""},
      {"message", "String", ""},
      {"url", "URI", ""},
      {"committedDate", "DateTime", ""},
      {"authoredDate", "DateTime", ""},
      {"statusCheckRollup", "StatusCheckRollup", ""}}},
    // Commit statuses and checks: always null (the REST statuses API has them).
    {"StatusCheckRollup",
     {{"state", "String", ""}, {"contexts", "StatusCheckRollupContextConnection", GUTS_LIST_ARGS}}},
    {"StatusCheckRollupContext", {}},
    {"StatusContext",
     {{"context", "String", ""},
      {"state", "String", ""},
      {"targetUrl", "URI", ""},
      {"createdAt", "DateTime", ""}}},
    {"CheckRun",
     {{"name", "String", ""},
      {"checkSuite", "CheckSuite", ""},
      {"status", "String", ""},
      {"conclusion", "String", ""},
      {"startedAt", "DateTime", ""},
      {"completedAt", "DateTime", ""},
      {"detailsUrl", "URI", ""}}},
    {"CheckSuite", {{"workflowRun", "WorkflowRun", ""}}},
    {"WorkflowRun", {{"workflow", "Workflow", ""}}},
    {"Workflow", {{"name", "String", ""}}},
    {"PullRequestCommit", {{"id", "ID", ""}, {"commit", "Commit", ""}}},
    {"Language", {{"name", "String", ""}, {"color", "String", ""}}},
    {"AutoMergeRequest", {{"mergeMethod", "PullRequestMergeMethod", ""}}},
    {"PullRequestReview",
     {{"id", "ID", ""},
      {"author", "Actor", ""},
      {"authorAssociation", "CommentAuthorAssociation", ""},
      {"commit", "Commit", ""},
      {"reactionGroups", "[ReactionGroup]", ""},
      {"state", "String", ""},
      {"body", "String", ""},
      {"submittedAt", "DateTime", ""}}},
    {"ReviewRequest", {{"requestedReviewer", "RequestedReviewer", ""}}},
    {"RequestedReviewer", {}},
    {"PullRequestChangedFile",
     {{"path", "String", ""}, {"additions", "Int", ""}, {"deletions", "Int", ""}}},
    {"RepositoryTopic", {{"topic", "Topic", ""}}},
    {"Topic", {{"name", "String", ""}}},
    // Guts has no projects: these connections are always empty.
    {"ProjectCard",
     {{"id", "ID", ""}, {"project", "Project", ""}, {"column", "ProjectColumn", ""}}},
    {"ProjectColumn", {{"name", "String", ""}}},
    {"ProjectV2Item", {{"id", "ID", ""}, {"project", "ProjectV2", ""}}},
    {"Project", {{"id", "ID", ""}, {"name", "String", ""}}},
    {"ProjectV2", {{"id", "ID", ""}, {"title", "String", ""}}},
    {"PageInfo",
     {{"hasNextPage", "Boolean", ""},
      {"hasPreviousPage", "Boolean", ""},
      {"startCursor", "String", ""},
      {"endCursor", "String", ""}}},
};

// Connections and their edges, generated from the item types.
const std::vector<std::pair<std::string_view, std::string_view>> kConnections = {
    {"IssueConnection", "Issue"},
    {"PullRequestConnection", "PullRequest"},
    {"LabelConnection", "Label"},
    {"UserConnection", "User"},
    {"IssueCommentConnection", "IssueComment"},
    {"MilestoneConnection", "Milestone"},
    {"PullRequestCommitConnection", "PullRequestCommit"},
    {"ReviewRequestConnection", "ReviewRequest"},
    {"PullRequestReviewConnection", "PullRequestReview"},
    {"PullRequestChangedFileConnection", "PullRequestChangedFile"},
    {"RepositoryTopicConnection", "RepositoryTopic"},
    {"ProjectCardConnection", "ProjectCard"},
    {"ProjectV2ItemConnection", "ProjectV2Item"},
    {"ProjectConnection", "Project"},
    {"ProjectV2Connection", "ProjectV2"},
    {"StatusCheckRollupContextConnection", "StatusCheckRollupContext"},
};

// Abstract types and the concrete types that implement them.
const std::map<std::string_view, std::set<std::string_view>> kAbstract = {
    {"Node",
     {"Repository", "Issue", "PullRequest", "User", "Organization", "Bot", "Label", "Milestone",
      "IssueComment", "Commit", "Ref", "Team", "Mannequin", "PullRequestCommit",
      "PullRequestReview"}},
    {"Actor", {"User", "Organization", "Bot", "Mannequin", "EnterpriseUserAccount"}},
    {"RepositoryOwner", {"User", "Organization"}},
    {"IssueOrPullRequest", {"Issue", "PullRequest"}},
    {"GitObject", {"Commit"}},
    {"RequestedReviewer", {"User", "Team", "Mannequin", "Bot"}},
    {"StatusCheckRollupContext", {"StatusContext", "CheckRun"}},
};

struct Schema {
  std::map<std::string, std::map<std::string, FieldDef>> types;
  std::map<std::string, std::string> connection_item;  // connection type → item type

  Schema() {
    for (const auto& [t, fields] : kTypes)
      for (const auto& f : fields) types[std::string(t)][std::string(f.name)] = f;
    for (const auto& [conn, item] : kConnections) {
      std::string c(conn), i(item);
      connection_item[c] = i;
      auto& cf = types[c];
      cf["totalCount"] = {"totalCount", "Int", ""};
      edge_types.push_back(i + "Edge");
      list_types.push_back("[" + i + "]");
      cf["nodes"] = {"nodes", list_types.back(), ""};
      list_types.push_back("[" + i + "Edge]");
      cf["edges"] = {"edges", list_types.back(), ""};
      cf["pageInfo"] = {"pageInfo", "PageInfo", ""};
      types[i + "Edge"]["node"] = {"node", item, ""};
      types[i + "Edge"]["cursor"] = {"cursor", "String", ""};
    }
  }
  bool is_type(const std::string& t) const {
    return types.count(t) || kAbstract.count(t) || kScalars.count(t);
  }
  const FieldDef* field(const std::string& type, const std::string& name) const {
    auto t = types.find(type);
    if (t == types.end()) return nullptr;
    auto f = t->second.find(name);
    return f == t->second.end() ? nullptr : &f->second;
  }
  // Whether a fragment on `cond` applies to an object of concrete type `type`.
  static bool applies(std::string_view cond, std::string_view type) {
    if (cond.empty() || cond == type) return true;
    auto a = kAbstract.find(cond);
    return a != kAbstract.end() && a->second.count(type);
  }
  // The fields an abstract type's selections may name: those of any of its concrete types.
  const FieldDef* field_of_any(const std::string& type, const std::string& name) const {
    if (auto* f = field(type, name)) return f;
    auto a = kAbstract.find(type);
    if (a == kAbstract.end()) return nullptr;
    for (auto c : a->second)
      if (auto* f = field(std::string(c), name)) return f;
    return nullptr;
  }

 private:
  std::list<std::string> edge_types, list_types;  // storage for the string_views above
};

const Schema& schema() {
  static const Schema s;
  return s;
}

std::string element_type(std::string_view t) {
  if (!t.empty() && t.front() == '[') return std::string(t.substr(1, t.size() - 2));
  return std::string(t);
}

// ---- Errors ----

// A request-level error: nothing is executed (or what remains is not).
struct RequestError {
  std::string message;
  Location loc;
  bool has_loc = false;
  std::string type;
};

// A field error: the field becomes null.
struct FieldFailure {
  std::string type, message;
};

json error_json(const std::string& message, const Location* loc, const json& path,
                const std::string& type) {
  json e = json::object();
  if (!type.empty()) e["type"] = type;
  if (path.is_array() && !path.empty()) e["path"] = path;
  if (loc) e["locations"] = json::array({{{"line", loc->line}, {"column", loc->column}}});
  e["message"] = message;
  return e;
}

// ---- base64url ----

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace

std::string encode_id(std::string_view raw) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kB64[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += kB64[(acc << (6 - bits)) & 0x3F];
  return out;
}

std::optional<std::string> decode_id(std::string_view id) {
  if (id.size() > 512) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : id) {
    const char* p = c ? std::strchr(kB64, c) : nullptr;
    if (!p) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

namespace {

// ---- Validation: every field, argument, fragment and type is known ----

class Validator {
 public:
  Validator(const Document& doc, const ExecLimits& limits) : doc_(doc), limits_(limits) {}

  void check(const std::vector<Selection>& sels, const std::string& type, size_t depth) {
    if (depth > limits_.parse.max_depth * 2)
      throw RequestError{"the query is nested too deeply (fragments included)", {}, false, ""};
    for (const auto& s : sels) {
      if (++visits_ > limits_.max_field_visits)
        throw RequestError{"the query selects too many fields (fragments expanded)", s.loc, true,
                           "MAX_NODE_LIMIT_EXCEEDED"};
      for (const auto& d : s.directives)
        if (d.name != "skip" && d.name != "include")
          fail(s.loc, "Directive '" + d.name + "' is not supported");
      switch (s.kind) {
        case Selection::kField:
          field(s, type, depth);
          break;
        case Selection::kFragmentSpread: {
          auto f = doc_.fragments.find(s.name);
          if (f == doc_.fragments.end()) fail(s.loc, "Fragment " + s.name + " was not found");
          condition(f->second.type_condition, s.loc);
          check(f->second.selections, narrow(type, f->second.type_condition), depth + 1);
          break;
        }
        case Selection::kInlineFragment:
          if (!s.type_condition.empty()) condition(s.type_condition, s.loc);
          check(s.selections, narrow(type, s.type_condition), depth + 1);
          break;
      }
    }
  }

 private:
  [[noreturn]] void fail(Location at, std::string why, std::string type = "") {
    throw RequestError{std::move(why), at, true, std::move(type)};
  }
  void condition(const std::string& cond, Location at) {
    if (!schema().is_type(cond))
      fail(at, "No such type " + cond + ", so it can't be a fragment condition");
  }
  static std::string narrow(const std::string& type, const std::string& cond) {
    return cond.empty() ? type : cond;
  }
  void field(const Selection& s, const std::string& type, size_t depth) {
    if (s.name == "__typename") {
      if (!s.selections.empty())
        fail(s.loc, "Selections can't be made on scalars (field '__typename')");
      return;
    }
    const FieldDef* f = schema().field_of_any(type, s.name);
    if (!f)
      fail(s.loc,
           "Field '" + s.name + "' doesn't exist on type '" + type +
               "' (or is not supported by Guts)",
           "undefinedField");
    for (const auto& [arg, value] : s.args) {
      std::string accepted = "," + std::string(f->args) + ",";
      if (accepted.find("," + arg + ",") == std::string::npos)
        fail(s.loc, "Field '" + s.name + "' doesn't accept argument '" + arg + "'",
             "argumentNotAccepted");
    }
    std::string t = element_type(f->type);
    bool scalar = kScalars.count(t) > 0;
    if (scalar && !s.selections.empty())
      fail(s.loc, "Selections can't be made on scalars (field '" + s.name + "' returns " + t + ")");
    if (!scalar && s.selections.empty())
      fail(s.loc, "Field must have selections (field '" + s.name + "' returns " + t +
                      " but has no selections)");
    if (!scalar) check(s.selections, t, depth + 1);
  }

  const Document& doc_;
  const ExecLimits& limits_;
  size_t visits_ = 0;
};

// ---- Execution ----

// A resolved object: its concrete GraphQL type and the REST JSON it is made from.
struct Obj {
  std::string type;
  json data;
};

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string url_escape(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

json str_or(const json& j, const char* key, json fallback = nullptr) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? fallback : *it;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t b = 0;
  while (true) {
    size_t e = s.find(sep, b);
    out.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return out;
}

class Executor {
 public:
  Executor(const Document& doc, json vars, Backend& be, const ExecLimits& limits)
      : doc_(doc), vars_(std::move(vars)), be_(be), limits_(limits) {}

  json run(const Operation& op) {
    json data = json::object();
    root_type_ = op.type == Operation::kMutation ? "Mutation" : "Query";
    Obj root{root_type_, json::object()};
    // Mutation fields run one after the other, in order (they do anyway: one thread).
    data = select(root, op.selections);
    json out = json::object();
    out["data"] = data;
    if (!errors_.empty()) out["errors"] = errors_;
    return out;
  }

 private:
  // ---- selections ----

  void collect(const std::string& type, const std::vector<Selection>& sels,
               std::vector<std::pair<std::string, std::vector<const Selection*>>>& out,
               size_t depth) {
    for (const auto& s : sels) {
      if (!included(s)) continue;
      if (s.kind == Selection::kField) {
        auto it = std::find_if(out.begin(), out.end(),
                               [&](const auto& p) { return p.first == s.response_key(); });
        if (it == out.end())
          out.push_back({s.response_key(), {&s}});
        else
          it->second.push_back(&s);
      } else if (s.kind == Selection::kFragmentSpread) {
        const auto& f = doc_.fragments.at(s.name);
        if (Schema::applies(f.type_condition, type)) collect(type, f.selections, out, depth + 1);
      } else if (Schema::applies(s.type_condition, type)) {
        collect(type, s.selections, out, depth + 1);
      }
    }
  }

  bool included(const Selection& s) {
    for (const auto& d : s.directives) {
      json cond = nullptr;
      for (const auto& [k, v] : d.args)
        if (k == "if") cond = value(v);
      if (!cond.is_boolean())
        throw RequestError{"Directive '" + d.name + "' needs a Boolean 'if'", s.loc, true, ""};
      if (d.name == "skip" && cond.get<bool>()) return false;
      if (d.name == "include" && !cond.get<bool>()) return false;
    }
    return true;
  }

  json select(const Obj& o, const std::vector<Selection>& sels) {
    std::vector<std::pair<std::string, std::vector<const Selection*>>> fields;
    collect(o.type, sels, fields, 0);
    json out = json::object();
    for (const auto& [key, group] : fields) {
      // Same response key more than once: one field, the sub-selections merged.
      Selection merged = *group.front();
      for (size_t i = 1; i < group.size(); ++i)
        merged.selections.insert(merged.selections.end(), group[i]->selections.begin(),
                                 group[i]->selections.end());
      path_.push_back(key);
      try {
        out[key] = field(o, merged);
      } catch (const FieldFailure& f) {
        out[key] = nullptr;
        errors_.push_back(error_json(f.message, &merged.loc, path_, f.type));
      }
      path_.erase(path_.size() - 1);
    }
    return out;
  }

  json sub(const std::optional<Obj>& o, const Selection& f) {
    if (!o) return nullptr;
    return select(*o, f.selections);
  }

  json list(const std::vector<Obj>& items, const Selection& f) {
    json out = json::array();
    for (size_t i = 0; i < items.size(); ++i) {
      path_.push_back(i);
      out.push_back(select(items[i], f.selections));
      path_.erase(path_.size() - 1);
    }
    return out;
  }

  // ---- values and arguments ----

  json value(const json& v) {
    if (v.is_object()) {
      if (v.size() == 1 && v.contains("$var")) {
        const std::string name = v["$var"].get<std::string>();
        auto it = vars_.find(name);
        if (it == vars_.end()) return nullptr;
        return *it;
      }
      json out = json::object();
      for (const auto& [k, x] : v.items()) out[k] = value(x);
      return out;
    }
    if (v.is_array()) {
      json out = json::array();
      for (const auto& x : v) out.push_back(value(x));
      return out;
    }
    return v;
  }

  json arg(const Selection& f, std::string_view name) {
    for (const auto& [k, v] : f.args)
      if (k == name) return value(v);
    return nullptr;
  }

  std::string string_arg(const Selection& f, std::string_view name, bool required = true) {
    json v = arg(f, name);
    if (v.is_string()) return v.get<std::string>();
    if (v.is_null() && !required) return "";
    throw FieldFailure{"INVALID_ARGUMENT", "Argument '" + std::string(name) + "' on Field '" +
                                               f.name + "' must be a String"};
  }

  uint64_t number_arg(const Selection& f, std::string_view name) {
    json v = arg(f, name);
    if (v.is_number_integer() && v.get<int64_t>() > 0) return v.get<uint64_t>();
    throw FieldFailure{"INVALID_ARGUMENT", "Argument '" + std::string(name) + "' on Field '" +
                                               f.name + "' must be a positive Int"};
  }

  // ---- REST ----

  json rest(std::string_view method, const std::string& target, const json& body = nullptr,
            std::string_view what = "") {
    const bool get = method == "GET";
    if (get) {
      auto c = cache_.find(target);
      if (c != cache_.end()) return c->second;
    }
    if (++rest_calls_ > limits_.max_rest_calls)
      throw RequestError{"the query needs too many lookups; ask for fewer objects",
                         {},
                         false,
                         "MAX_NODE_LIMIT_EXCEEDED"};
    auto r = be_.rest(method, target, body);
    if (r.status >= 200 && r.status < 300) {
      if (get)
        cache_[target] = r.body;
      else
        cache_.clear();  // a write: what was read may have changed
      return r.body;
    }
    std::string message =
        r.body.is_object() && r.body.contains("message") && r.body["message"].is_string()
            ? r.body["message"].get<std::string>()
            : "HTTP " + std::to_string(r.status);
    if (r.body.is_object() && r.body.contains("errors") && r.body["errors"].is_array())
      for (const auto& e : r.body["errors"])
        if (e.is_object() && e.contains("message") && e["message"].is_string())
          message += ": " + e["message"].get<std::string>();
    std::string type = "UNPROCESSABLE";
    if (r.status == 404) {
      type = "NOT_FOUND";
      if (!what.empty()) message = std::string(what);
    } else if (r.status == 401 || r.status == 403) {
      type = "FORBIDDEN";
    } else if (r.status == 429) {
      type = "RATE_LIMITED";
    } else if (r.status >= 500) {
      type = "INTERNAL";
    }
    throw FieldFailure{type, message};
  }

  // All the items of a REST list (pages of 100, bounded by the REST call budget).
  json rest_all(const std::string& target) {
    json all = json::array();
    const char sep = target.find('?') == std::string::npos ? '?' : '&';
    for (int page = 1; page <= 50; ++page) {
      json items = rest("GET", target + sep + "per_page=100&page=" + std::to_string(page));
      if (!items.is_array()) break;
      for (auto& i : items) all.push_back(std::move(i));
      if (items.size() < 100) break;
    }
    return all;
  }

  // ---- objects ----

  static std::string repo_prefix(const json& repo) {
    return "/api/v3/repos/" + repo["full_name"].get<std::string>();
  }

  Obj repository(const std::string& owner, const std::string& name) {
    json r = rest("GET", "/api/v3/repos/" + url_escape(owner) + "/" + url_escape(name), nullptr,
                  "Could not resolve to a Repository with the name '" + owner + "/" + name + "'.");
    return Obj{"Repository", r};
  }
  Obj repository_of_full(const std::string& full) {
    auto slash = full.find('/');
    return repository(full.substr(0, slash), full.substr(slash + 1));
  }
  Obj repository_by_id(uint64_t id) {
    auto full = be_.repo_full_name(id);
    if (!full) throw FieldFailure{"NOT_FOUND", "Could not resolve to a Repository"};
    return repository_of_full(*full);
  }

  // An issue or pull request of a repository; `data` keeps the REST JSON plus "_repo".
  Obj issue(const json& repo, uint64_t number, bool pull_only, bool issue_only) {
    const std::string n = std::to_string(number);
    const std::string what = std::string("Could not resolve to ") +
                             (pull_only    ? "a PullRequest"
                              : issue_only ? "an Issue"
                                           : "an issue or pull request") +
                             " with the number of " + n + ".";
    json x = rest("GET", repo_prefix(repo) + "/issues/" + n, nullptr, what);
    bool is_pull = x.contains("pull_request");
    if ((pull_only && !is_pull) || (issue_only && is_pull)) throw FieldFailure{"NOT_FOUND", what};
    if (is_pull) {
      x = rest("GET", repo_prefix(repo) + "/pulls/" + n, nullptr, what);
      x["_full"] = true;
    }
    x["_repo"] = repo;
    return Obj{is_pull ? "PullRequest" : "Issue", x};
  }

  Obj user_obj(const json& u) {
    std::string type =
        u.is_object() && u.value("type", "") == "Organization" ? "Organization" : "User";
    return Obj{type, u};
  }
  std::optional<Obj> user_or_null(const json& u) {
    if (!u.is_object()) return std::nullopt;
    return user_obj(u);
  }

  // The node an id names.
  std::optional<Obj> node(const std::string& id) {
    auto raw = decode_id(id);
    if (!raw)
      throw FieldFailure{"NOT_FOUND",
                         "Could not resolve to a node with the global id of '" + id + "'"};
    auto parts = split(*raw, ':');
    auto num = [&](const std::string& s) -> uint64_t {
      if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
        throw FieldFailure{"NOT_FOUND",
                           "Could not resolve to a node with the global id of '" + id + "'"};
      return std::stoull(s);
    };
    const std::string& t = parts[0];
    if (t == "Repository" && parts.size() == 2) return repository_by_id(num(parts[1]));
    if ((t == "Issue" || t == "PullRequest") && parts.size() == 3) {
      Obj repo = repository_by_id(num(parts[1]));
      return issue(repo.data, num(parts[2]), t == "PullRequest", t == "Issue");
    }
    if ((t == "User" || t == "Organization") && parts.size() == 2)
      return user_obj(rest("GET", "/api/v3/users/" + url_escape(parts[1]), nullptr,
                           "Could not resolve to a User with the login of '" + parts[1] + "'."));
    throw FieldFailure{"NOT_FOUND",
                       "Could not resolve to a node with the global id of '" + id + "'"};
  }

  // (repository REST JSON, number) of an Issue or PullRequest id.
  std::pair<json, uint64_t> issue_ref(const std::string& id, const char* type) {
    auto o = node(id);
    if (!o || (o->type != type && !(std::string(type) == "IssueOrPullRequest" &&
                                    (o->type == "Issue" || o->type == "PullRequest"))))
      throw FieldFailure{"NOT_FOUND",
                         "Could not resolve to a node with the global id of '" + id + "'"};
    return {o->data["_repo"], o->data["number"].get<uint64_t>()};
  }

  // ---- connections ----

  // A connection over `items` (already filtered and ordered), paged by first/after/last/before.
  Obj connection(const std::string& type, std::vector<Obj> items, const Selection& f) {
    size_t total = items.size();
    size_t begin = 0, end = total;
    auto cursor = [&](const char* name) -> std::optional<size_t> {
      json c = arg(f, name);
      if (c.is_null()) return std::nullopt;
      auto raw = c.is_string() ? decode_id(c.get<std::string>()) : std::nullopt;
      if (!raw || raw->rfind("cursor:", 0) != 0 || raw->size() > 20)
        throw FieldFailure{"INVALID_CURSOR_ARGUMENTS",
                           "`" + std::string(name) + "` is not a valid cursor"};
      try {
        return std::stoull(raw->substr(7));
      } catch (const std::exception&) {
        throw FieldFailure{"INVALID_CURSOR_ARGUMENTS",
                           "`" + std::string(name) + "` is not a valid cursor"};
      }
    };
    if (auto a = cursor("after")) begin = std::min(total, *a + 1);
    if (auto b = cursor("before")) end = std::min(end, *b);
    if (end < begin) end = begin;
    auto count = [&](const char* name) -> std::optional<size_t> {
      json v = arg(f, name);
      if (v.is_null()) return std::nullopt;
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<uint64_t>() > limits_.max_page)
        throw FieldFailure{"EXCESSIVE_PAGE_SIZE",
                           "Requesting " + v.dump() + " records on the `" + f.name +
                               "` connection exceeds the `" + name + "` limit of " +
                               std::to_string(limits_.max_page) + " records."};
      return v.get<size_t>();
    };
    auto first = count("first"), last = count("last");
    if (first && end - begin > *first) end = begin + *first;
    if (last && end - begin > *last) begin = end - *last;
    if (!first && !last && end - begin > limits_.max_page) end = begin + limits_.max_page;
    json page = json::array();
    std::vector<Obj> slice(items.begin() + static_cast<std::ptrdiff_t>(begin),
                           items.begin() + static_cast<std::ptrdiff_t>(end));
    Obj c{type, {{"total", total}, {"begin", begin}, {"end", end}}};
    c.data["_items"] = json::array();
    for (auto& o : slice) c.data["_items"].push_back({{"type", o.type}, {"data", o.data}});
    return c;
  }

  json connection_field(const Obj& c, const Selection& f) {
    const json& items = c.data["_items"];
    const size_t begin = c.data["begin"].get<size_t>(), end = c.data["end"].get<size_t>(),
                 total = c.data["total"].get<size_t>();
    auto cursor_of = [](size_t i) { return encode_id("cursor:" + std::to_string(i)); };
    if (f.name == "totalCount") return total;
    if (f.name == "nodes") {
      std::vector<Obj> objs;
      for (const auto& i : items) objs.push_back({i["type"].get<std::string>(), i["data"]});
      return list(objs, f);
    }
    if (f.name == "edges") {
      std::vector<Obj> edges;
      size_t k = begin;
      for (const auto& i : items)
        edges.push_back(
            {i["type"].get<std::string>() + "Edge", {{"node", i}, {"cursor", cursor_of(k++)}}});
      // Edge types are named after the item type; abstract items keep their concrete type.
      return list(edges, f);
    }
    if (f.name == "pageInfo") {
      json pi{{"hasNextPage", end < total},
              {"hasPreviousPage", begin > 0},
              {"startCursor", begin < end ? json(cursor_of(begin)) : json(nullptr)},
              {"endCursor", begin < end ? json(cursor_of(end - 1)) : json(nullptr)}};
      return select(Obj{"PageInfo", pi}, f.selections);
    }
    return unsupported(c, f);
  }

  [[noreturn]] json unsupported(const Obj& o, const Selection& f) {
    throw FieldFailure{"undefinedField",
                       "Field '" + f.name + "' on type '" + o.type + "' is not supported by Guts"};
  }

  // ---- fields, by type ----

  json field(const Obj& o, const Selection& f) {
    if (f.name == "__typename") return o.type;
    const std::string& t = o.type;
    if (t == "Query") return query_field(f);
    if (t == "Mutation") return mutation_field(f);
    if (t == "Repository") return repository_field(o, f);
    if (t == "Issue" || t == "PullRequest") return issue_field(o, f);
    if (t == "User" || t == "Organization" || t == "Bot") return user_field(o, f);
    if (t == "Label") return label_field(o, f);
    if (t == "Milestone") return milestone_field(o, f);
    if (t == "IssueComment") return comment_field(o, f);
    if (t == "PageInfo" || t == "Commit" || t == "__Type" || t == "__Field" || t == "Ref" ||
        t == "PullRequestCommit" || t == "PullRequestReview" || t == "PullRequestChangedFile" ||
        t == "ReviewRequest" || t.find("Payload") != std::string::npos)
      return plain_field(o, f);
    if (t.size() > 4 && t.compare(t.size() - 4, 4, "Edge") == 0) {
      if (f.name == "cursor") return o.data["cursor"];
      if (f.name == "node")
        return select(Obj{o.data["node"]["type"].get<std::string>(), o.data["node"]["data"]},
                      f.selections);
      return unsupported(o, f);
    }
    if (schema().connection_item.count(t)) return connection_field(o, f);
    return unsupported(o, f);
  }

  // Objects made here from a JSON object whose keys are the field names: scalars as they are,
  // {"type", "data"} objects as objects, arrays of them as lists.
  json plain_field(const Obj& o, const Selection& f) {
    auto it = o.data.find(f.name);
    if (it == o.data.end()) return unsupported(o, f);
    const json& v = *it;
    if (f.selections.empty()) return v;
    if (v.is_null()) return nullptr;
    if (v.is_object() && v.contains("type") && v.contains("data"))
      return select(Obj{v["type"].get<std::string>(), v["data"]}, f.selections);
    if (v.is_object() && v.contains("_conn")) return connection_field_from(v, f);
    if (v.is_array()) {
      std::vector<Obj> objs;
      for (const auto& i : v) objs.push_back({i["type"].get<std::string>(), i["data"]});
      return list(objs, f);
    }
    return unsupported(o, f);
  }

  json connection_field_from(const json& v, const Selection& f) {
    std::vector<Obj> items;
    for (const auto& i : v["items"]) items.push_back({i["type"].get<std::string>(), i["data"]});
    return select(connection(v["_conn"].get<std::string>(), std::move(items), f), f.selections);
  }

  json query_field(const Selection& f) {
    if (f.name == "repository") {
      return select(repository(string_arg(f, "owner"), string_arg(f, "name")), f.selections);
    }
    if (f.name == "viewer") return select(user_obj(rest("GET", "/api/v3/user")), f.selections);
    if (f.name == "user") {
      std::string login = string_arg(f, "login");
      return select(
          user_obj(rest("GET", "/api/v3/users/" + url_escape(login), nullptr,
                        "Could not resolve to a User with the login of '" + login + "'.")),
          f.selections);
    }
    if (f.name == "node") return sub(node(string_arg(f, "id")), f);
    if (f.name == "nodes") {
      json ids = arg(f, "ids");
      if (!ids.is_array() || ids.size() > limits_.max_page)
        throw FieldFailure{"INVALID_ARGUMENT", "Argument 'ids' must be a list of at most 100 IDs"};
      json out = json::array();
      for (size_t i = 0; i < ids.size(); ++i) {
        path_.push_back(i);
        try {
          out.push_back(ids[i].is_string() ? sub(node(ids[i].get<std::string>()), f)
                                           : json(nullptr));
        } catch (const FieldFailure& e) {
          out.push_back(nullptr);
          errors_.push_back(error_json(e.message, &f.loc, path_, e.type));
        }
        path_.erase(path_.size() - 1);
      }
      return out;
    }
    if (f.name == "__type") {
      std::string name = string_arg(f, "name");
      const Schema& sc = schema();
      if (!sc.is_type(name)) return nullptr;
      std::string kind = kScalars.count(name)    ? "SCALAR"
                         : kAbstract.count(name) ? "INTERFACE"
                                                 : "OBJECT";
      json fields = json::array();
      auto t = sc.types.find(name);
      if (t != sc.types.end())
        for (const auto& [fname, def] : t->second)
          fields.push_back({{"type", "__Field"},
                            {"data",
                             {{"name", fname},
                              {"description", nullptr},
                              {"isDeprecated", false},
                              {"deprecationReason", nullptr}}}});
      return select(Obj{"__Type",
                        {{"name", name},
                         {"kind", kind},
                         {"description", nullptr},
                         {"fields", kind == "SCALAR" ? json(nullptr) : fields}}},
                    f.selections);
    }
    return unsupported(Obj{"Query", {}}, f);
  }

  static std::string permission_of(const json& repo) {
    auto it = repo.find("permissions");
    if (it == repo.end() || !it->is_object()) return "READ";
    const json& p = *it;
    if (p.value("admin", false)) return "ADMIN";
    if (p.value("maintain", false)) return "MAINTAIN";
    if (p.value("push", false)) return "WRITE";
    if (p.value("triage", false)) return "TRIAGE";
    return "READ";
  }

  json repository_field(const Obj& o, const Selection& f) {
    const json& r = o.data;
    const std::string& n = f.name;
    if (n == "id") return r["node_id"];
    if (n == "databaseId") return r["id"];
    if (n == "name") return r["name"];
    if (n == "nameWithOwner") return r["full_name"];
    if (n == "owner") return select(user_obj(r["owner"]), f.selections);
    if (n == "description") return str_or(r, "description", "");
    if (n == "url") return r["html_url"];
    if (n == "resourcePath") return "/" + r["full_name"].get<std::string>();
    if (n == "sshUrl") return str_or(r, "ssh_url", "");
    if (n == "homepageUrl") return str_or(r, "homepage", "");
    if (n == "isPrivate") return r.value("private", false);
    if (n == "visibility") return upper(r.value("visibility", "public"));
    if (n == "isFork") return r.value("fork", false);
    if (n == "isArchived") return r.value("archived", false);
    if (n == "isDisabled") return r.value("disabled", false);
    if (n == "isEmpty") return r["pushed_at"].is_null();
    if (n == "isInOrganization") return r["owner"].value("type", "") == "Organization";
    if (n == "isLocked" || n == "isMirror" || n == "isTemplate" || n == "isSecurityPolicyEnabled" ||
        n == "isUserConfigurationRepository" || n == "hasDiscussionsEnabled" ||
        n == "autoMergeAllowed" || n == "deleteBranchOnMerge" || n == "viewerHasStarred")
      return false;
    if (n == "hasIssuesEnabled") return r.value("has_issues", true);
    if (n == "hasWikiEnabled" || n == "hasProjectsEnabled") return false;
    if (n == "mergeCommitAllowed" || n == "squashMergeAllowed" || n == "rebaseMergeAllowed" ||
        n == "forkingAllowed")
      return true;
    if (n == "parent") {
      auto p = r.find("parent");
      if (p == r.end() || !p->is_object()) return nullptr;
      return select(Obj{"Repository", *p}, f.selections);
    }
    if (n == "templateRepository" || n == "primaryLanguage") return nullptr;
    if (n == "createdAt") return r["created_at"];
    if (n == "updatedAt") return r["updated_at"];
    if (n == "pushedAt") return r["pushed_at"];
    if (n == "viewerPermission") return permission_of(r);
    if (n == "viewerCanAdminister") return permission_of(r) == "ADMIN";
    if (n == "viewerSubscription") return "UNSUBSCRIBED";
    if (n == "stargazerCount") return r.value("stargazers_count", 0);
    if (n == "forkCount") return r.value("forks_count", 0);
    if (n == "diskUsage") return r.value("size", 0);
    if (n == "defaultBranchRef") {
      std::string branch = r.value("default_branch", "");
      if (branch.empty()) return nullptr;
      json b;
      try {
        b = rest("GET", repo_prefix(r) + "/branches/" + url_escape(branch));
      } catch (const FieldFailure& e) {
        if (e.type == "NOT_FOUND") return nullptr;  // an empty repository
        throw;
      }
      std::string sha = b["commit"].value("sha", "");
      json target{{"type", "Commit"}, {"data", commit_json(sha, b["commit"])}};
      return select(
          Obj{"Ref",
              {{"id", encode_id("Ref:" + std::to_string(r["id"].get<uint64_t>()) + ":" + branch)},
               {"name", branch},
               {"prefix", "refs/heads/"},
               {"target", target}}},
          f.selections);
    }
    if (n == "issue" || n == "pullRequest" || n == "issueOrPullRequest")
      return select(issue(r, number_arg(f, "number"), n == "pullRequest", n == "issue"),
                    f.selections);
    if (n == "issues" || n == "pullRequests") return issues_connection(r, f, n == "pullRequests");
    if (n == "labels") {
      std::vector<Obj> items;
      std::string q = lower(string_arg(f, "query", false));
      for (auto& l : rest_all(repo_prefix(r) + "/labels")) {
        if (!q.empty() && lower(l.value("name", "")).find(q) == std::string::npos) continue;
        l["_repo_id"] = r["id"];
        items.push_back({"Label", l});
      }
      return select(connection("LabelConnection", std::move(items), f), f.selections);
    }
    if (n == "assignableUsers" || n == "mentionableUsers") {
      std::vector<Obj> items;
      std::string q = lower(string_arg(f, "query", false));
      for (auto& u : rest_all(repo_prefix(r) + "/assignees")) {
        if (!q.empty() && lower(u.value("login", "")).find(q) == std::string::npos) continue;
        items.push_back(user_obj(u));
      }
      return select(connection("UserConnection", std::move(items), f), f.selections);
    }
    if (n == "milestones") {
      std::vector<Obj> items;
      json states = arg(f, "states");
      std::string state = "open";
      if (states.is_array() && states.size() == 1 && states[0] == "CLOSED") state = "closed";
      if (states.is_array() && states.size() > 1) state = "all";
      for (auto& m : rest_all(repo_prefix(r) + "/milestones?state=" + state)) {
        m["_repo_id"] = r["id"];
        items.push_back({"Milestone", m});
      }
      return select(connection("MilestoneConnection", std::move(items), f), f.selections);
    }
    if (n == "stargazers" || n == "watchers")
      return select(connection("UserConnection", {}, f), f.selections);
    if (n == "repositoryTopics")
      return select(connection("RepositoryTopicConnection", {}, f), f.selections);
    if (n == "projects") return select(connection("ProjectConnection", {}, f), f.selections);
    if (n == "projectsV2") return select(connection("ProjectV2Connection", {}, f), f.selections);
    return unsupported(o, f);
  }

  static json commit_json(const std::string& sha, const json& rest_commit) {
    std::string message;
    std::string date;
    if (rest_commit.is_object() && rest_commit.contains("commit") &&
        rest_commit["commit"].is_object()) {
      message = rest_commit["commit"].value("message", "");
      if (rest_commit["commit"].contains("committer") &&
          rest_commit["commit"]["committer"].is_object())
        date = rest_commit["commit"]["committer"].value("date", "");
    }
    auto nl = message.find('\n');
    std::string headline = message.substr(0, nl);
    std::string body = nl == std::string::npos ? "" : message.substr(nl + 1);
    while (!body.empty() && body.front() == '\n') body.erase(body.begin());
    return json{{"oid", sha},
                {"id", encode_id("Commit:" + sha)},
                {"abbreviatedOid", sha.substr(0, 7)},
                {"message", message},
                {"messageHeadline", headline},
                {"messageBody", body},
                {"url", rest_commit.is_object() ? rest_commit.value("html_url", "") : ""},
                {"committedDate", date.empty() ? json(nullptr) : json(date)},
                {"authoredDate", date.empty() ? json(nullptr) : json(date)},
                {"statusCheckRollup", nullptr}};
  }

  json issues_connection(const json& r, const Selection& f, bool pulls) {
    std::string target = repo_prefix(r) + (pulls ? "/pulls" : "/issues");
    std::vector<std::string> query;
    json states = arg(f, "states");
    std::string state = "all";
    if (states.is_array() && !states.empty()) {
      bool open = false, closed = false;
      for (const auto& s : states) {
        if (s == "OPEN")
          open = true;
        else
          closed = true;  // CLOSED, MERGED
      }
      state = open && closed ? "all" : open ? "open" : "closed";
    }
    query.push_back("state=" + state);
    bool only_merged =
        pulls && states.is_array() && !states.empty() &&
        std::all_of(states.begin(), states.end(), [](const json& s) { return s == "MERGED"; });
    bool no_merged =
        pulls && states.is_array() && !states.empty() &&
        std::none_of(states.begin(), states.end(), [](const json& s) { return s == "MERGED"; }) &&
        state != "open";
    json labels = arg(f, "labels");
    if (labels.is_array() && !labels.empty()) {
      std::string l;
      for (const auto& x : labels)
        if (x.is_string()) l += (l.empty() ? "" : ",") + url_escape(x.get<std::string>());
      query.push_back("labels=" + l);
    }
    json order = arg(f, "orderBy");
    if (order.is_object()) {
      std::string field = order.value("field", "CREATED_AT");
      query.push_back(std::string("sort=") + (field == "UPDATED_AT" ? "updated"
                                              : field == "COMMENTS" ? "comments"
                                                                    : "created"));
      query.push_back("direction=" + lower(order.value("direction", "DESC")));
    }
    json filter = arg(f, "filterBy");
    if (filter.is_object()) {
      for (const auto& [k, v] : filter.items()) {
        if (v.is_null()) continue;
        if (k == "assignee" && v.is_string())
          query.push_back("assignee=" + url_escape(v.get<std::string>()));
        else if (k == "createdBy" && v.is_string())
          query.push_back("creator=" + url_escape(v.get<std::string>()));
        else if (k == "mentioned" && v.is_string())
          query.push_back("mentioned=" + url_escape(v.get<std::string>()));
        else if (k == "milestone" && v.is_string())
          query.push_back("milestone=" + url_escape(v.get<std::string>()));
        else if (k == "labels" && v.is_array() && !v.empty()) {
          std::string l;
          for (const auto& x : v)
            if (x.is_string()) l += (l.empty() ? "" : ",") + url_escape(x.get<std::string>());
          query.push_back("labels=" + l);
        } else if (k == "states") {
          // the same as `states`
        } else {
          throw FieldFailure{"INVALID_ARGUMENT", "filterBy." + k + " is not supported by Guts"};
        }
      }
    }
    std::string head = string_arg(f, "headRefName", false),
                base = string_arg(f, "baseRefName", false);
    if (!base.empty()) query.push_back("base=" + url_escape(base));
    std::string t = target;
    for (size_t i = 0; i < query.size(); ++i) t += (i ? "&" : "?") + query[i];
    std::vector<Obj> items;
    for (auto& x : rest_all(t)) {
      bool is_pull = x.contains("pull_request") || pulls;
      if (is_pull != pulls) continue;
      if (pulls) {
        if (!head.empty() && x["head"].value("ref", "") != head) continue;
        bool merged = !x.value("merged_at", json(nullptr)).is_null();
        if (only_merged && !merged) continue;
        if (no_merged && merged && states.is_array() &&
            std::find(states.begin(), states.end(), "OPEN") == states.end())
          continue;
      }
      x["_repo"] = r;
      items.push_back({pulls ? "PullRequest" : "Issue", x});
    }
    return select(
        connection(pulls ? "PullRequestConnection" : "IssueConnection", std::move(items), f),
        f.selections);
  }

  // A pull request's full REST JSON (lists leave out the git-derived fields).
  json full_pull(const Obj& o) {
    if (o.data.contains("_full")) return o.data;
    json x = rest("GET", repo_prefix(o.data["_repo"]) + "/pulls/" +
                             std::to_string(o.data["number"].get<uint64_t>()));
    x["_repo"] = o.data["_repo"];
    return x;
  }

  json issue_field(const Obj& o, const Selection& f) {
    const json& x = o.data;
    const json& repo = x["_repo"];
    const bool pull = o.type == "PullRequest";
    const std::string& n = f.name;
    const std::string number = std::to_string(x["number"].get<uint64_t>());
    const std::string repo_id = std::to_string(repo["id"].get<uint64_t>());
    if (n == "id") return encode_id(o.type + ":" + repo_id + ":" + number);
    if (n == "databaseId") return x["id"];
    if (n == "number") return x["number"];
    if (n == "title") return x["title"];
    if (n == "body" || n == "bodyText") return str_or(x, "body", "");
    if (n == "url") return x["html_url"];
    if (n == "resourcePath")
      return "/" + repo["full_name"].get<std::string>() + (pull ? "/pull/" : "/issues/") + number;
    if (n == "createdAt") return x["created_at"];
    if (n == "updatedAt") return x["updated_at"];
    if (n == "closedAt") return x["closed_at"];
    if (n == "closed") return x.value("state", "") == "closed";
    if (n == "locked") return x.value("locked", false);
    if (n == "author") return sub(user_or_null(x["user"]), f);
    if (n == "authorAssociation") return upper(x.value("author_association", "NONE"));
    if (n == "state") {
      if (pull && (!str_or(x, "merged_at").is_null() || x.value("merged", false))) return "MERGED";
      return upper(x.value("state", "open"));
    }
    if (n == "stateReason") {
      json r = str_or(x, "state_reason");
      return r.is_string() ? json(upper(r.get<std::string>())) : json(nullptr);
    }
    if (n == "labels") {
      std::vector<Obj> items;
      for (auto l : x.value("labels", json::array())) {
        l["_repo_id"] = repo["id"];
        items.push_back({"Label", l});
      }
      return select(connection("LabelConnection", std::move(items), f), f.selections);
    }
    if (n == "assignees") {
      std::vector<Obj> items;
      for (const auto& u : x.value("assignees", json::array())) items.push_back(user_obj(u));
      return select(connection("UserConnection", std::move(items), f), f.selections);
    }
    if (n == "comments") {
      std::vector<Obj> items;
      size_t count = x.value("comments", 0);
      if (count > 0 && wants_items(f))
        for (auto& c : rest_all(repo_prefix(repo) + "/issues/" + number + "/comments")) {
          c["_issue_url"] = x["html_url"];
          items.push_back({"IssueComment", c});
        }
      Obj c = connection("IssueCommentConnection", std::move(items), f);
      if (!wants_items(f)) c.data["total"] = count;
      return select(c, f.selections);
    }
    if (n == "milestone") {
      json m = str_or(x, "milestone");
      if (!m.is_object()) return nullptr;
      m["_repo_id"] = repo["id"];
      return select(Obj{"Milestone", m}, f.selections);
    }
    if (n == "repository" || n == "baseRepository")
      return select(Obj{"Repository", repo}, f.selections);
    if (n == "projectCards")
      return select(connection("ProjectCardConnection", {}, f), f.selections);
    if (n == "projectItems")
      return select(connection("ProjectV2ItemConnection", {}, f), f.selections);
    if (n == "reactionGroups") return json::array();
    if (n == "viewerCanUpdate") return permission_of(repo) != "READ";
    if (n == "isPinned") return false;
    if (!pull) return unsupported(o, f);
    // Pull requests only.
    if (n == "isDraft") return x.value("draft", false);
    if (n == "merged") return !str_or(x, "merged_at").is_null() || x.value("merged", false);
    if (n == "mergedAt") return str_or(x, "merged_at");
    if (n == "headRefName") return x["head"]["ref"];
    if (n == "headRefOid") return x["head"]["sha"];
    if (n == "baseRefName") return x["base"]["ref"];
    if (n == "baseRefOid") return x["base"]["sha"];
    if (n == "headRepository") {
      json hr = x["head"]["repo"];
      return hr.is_object() ? select(Obj{"Repository", hr}, f.selections) : json(nullptr);
    }
    if (n == "headRepositoryOwner") return sub(user_or_null(x["head"]["user"]), f);
    if (n == "isCrossRepository") {
      json hr = x["head"]["repo"];
      return !hr.is_object() || hr["id"] != repo["id"];
    }
    if (n == "maintainerCanModify") return x.value("maintainer_can_modify", false);
    if (n == "reviewDecision" || n == "autoMergeRequest") return nullptr;
    if (n == "isInMergeQueue" || n == "isMergeQueueEnabled") return false;
    if (n == "viewerCanMergeAsAdmin") return permission_of(repo) == "ADMIN";
    if (n == "mergeCommit") {
      json sha = str_or(x, "merge_commit_sha");
      if (!sha.is_string() || str_or(x, "merged_at").is_null()) return nullptr;
      return select(Obj{"Commit", commit_json(sha.get<std::string>(), nullptr)}, f.selections);
    }
    if (n == "reviewRequests") {
      std::vector<Obj> items;
      for (const auto& u : x.value("requested_reviewers", json::array()))
        items.push_back(
            {"ReviewRequest", {{"requestedReviewer", {{"type", "User"}, {"data", u}}}}});
      return select(connection("ReviewRequestConnection", std::move(items), f), f.selections);
    }
    if (n == "reviews" || n == "latestReviews") {
      std::vector<Obj> items;
      for (const auto& rv : rest_all(repo_prefix(repo) + "/pulls/" + number + "/reviews"))
        items.push_back(
            {"PullRequestReview",
             {{"id", encode_id("PullRequestReview:" + repo_id + ":" + number + ":" +
                               std::to_string(rv.value("id", 0)))},
              {"author", rv["user"].is_object() ? json{{"type", "User"}, {"data", rv["user"]}}
                                                : json(nullptr)},
              {"authorAssociation", upper(rv.value("author_association", "NONE"))},
              {"commit",
               {{"type", "Commit"}, {"data", commit_json(rv.value("commit_id", ""), nullptr)}}},
              {"reactionGroups", json::array()},
              {"state", rv.value("state", "")},
              {"body", rv.value("body", "")},
              {"submittedAt", str_or(rv, "submitted_at")}}});
      return select(connection("PullRequestReviewConnection", std::move(items), f), f.selections);
    }
    json full = full_pull(o);
    if (n == "mergedBy") return sub(user_or_null(str_or(full, "merged_by")), f);
    if (n == "mergeable") {
      json m = str_or(full, "mergeable");
      return m.is_boolean() ? (m.get<bool>() ? "MERGEABLE" : "CONFLICTING") : "UNKNOWN";
    }
    if (n == "mergeStateStatus") {
      std::string s = full.value("mergeable_state", "unknown");
      return upper(s);
    }
    if (n == "additions") return full.value("additions", 0);
    if (n == "deletions") return full.value("deletions", 0);
    if (n == "changedFiles") return full.value("changed_files", 0);
    if (n == "commits") {
      std::vector<Obj> items;
      if (wants_items(f))
        for (const auto& c : rest_all(repo_prefix(repo) + "/pulls/" + number + "/commits")) {
          std::string sha = c.value("sha", "");
          items.push_back({"PullRequestCommit",
                           {{"id", encode_id("PullRequestCommit:" + sha)},
                            {"commit", {{"type", "Commit"}, {"data", commit_json(sha, c)}}}}});
        }
      Obj c = connection("PullRequestCommitConnection", std::move(items), f);
      if (!wants_items(f)) c.data["total"] = full.value("commits", 0);
      return select(c, f.selections);
    }
    if (n == "files") {
      std::vector<Obj> items;
      for (const auto& file : rest_all(repo_prefix(repo) + "/pulls/" + number + "/files"))
        items.push_back({"PullRequestChangedFile",
                         {{"path", file.value("filename", "")},
                          {"additions", file.value("additions", 0)},
                          {"deletions", file.value("deletions", 0)}}});
      return select(connection("PullRequestChangedFileConnection", std::move(items), f),
                    f.selections);
    }
    return unsupported(o, f);
  }

  // Whether a connection's selection needs its items (not only totalCount).
  bool wants_items(const Selection& f) {
    std::vector<std::pair<std::string, std::vector<const Selection*>>> fields;
    collect("", f.selections, fields, 0);  // fragments with a type condition do not count
    for (const auto& [key, group] : fields)
      if (group.front()->name != "totalCount" && group.front()->name != "__typename") return true;
    return false;
  }

  json user_field(const Obj& o, const Selection& f) {
    const json& u = o.data;
    const std::string& n = f.name;
    if (n == "id") return encode_id(o.type + ":" + u.value("login", ""));
    if (n == "databaseId") return u["id"];
    if (n == "login") return u["login"];
    if (n == "name") return str_or(u, "name", u.value("login", ""));
    if (n == "avatarUrl") return u.value("avatar_url", "");
    if (n == "url") return u.value("html_url", "");
    if (n == "resourcePath") return "/" + u.value("login", "");
    if (n == "email" || n == "bio" || n == "company" || n == "location")
      return str_or(u, n.c_str(), "");
    if (n == "createdAt") return str_or(u, "created_at");
    if (n == "isViewer") return false;
    return unsupported(o, f);
  }

  json label_field(const Obj& o, const Selection& f) {
    const json& l = o.data;
    const std::string& n = f.name;
    if (n == "id")
      return encode_id("Label:" + std::to_string(l.value("_repo_id", 0)) + ":" +
                       l.value("name", ""));
    if (n == "name") return l["name"];
    if (n == "color") return l.value("color", "");
    if (n == "description") return str_or(l, "description", "");
    if (n == "url") return l.value("url", "");
    if (n == "isDefault") return l.value("default", false);
    return unsupported(o, f);
  }

  json milestone_field(const Obj& o, const Selection& f) {
    const json& m = o.data;
    const std::string& n = f.name;
    if (n == "id")
      return encode_id("Milestone:" + std::to_string(m.value("_repo_id", 0)) + ":" +
                       std::to_string(m.value("number", 0)));
    if (n == "number") return m["number"];
    if (n == "title") return m["title"];
    if (n == "description") return str_or(m, "description", "");
    if (n == "dueOn") return str_or(m, "due_on");
    if (n == "state") return upper(m.value("state", "open"));
    if (n == "url") return m.value("html_url", "");
    return unsupported(o, f);
  }

  json comment_field(const Obj& o, const Selection& f) {
    const json& c = o.data;
    const std::string& n = f.name;
    if (n == "id") return c.value("node_id", "");
    if (n == "databaseId") return c["id"];
    if (n == "author") return sub(user_or_null(c["user"]), f);
    if (n == "authorAssociation") return upper(c.value("author_association", "NONE"));
    if (n == "body") return str_or(c, "body", "");
    if (n == "createdAt") return c["created_at"];
    if (n == "updatedAt") return c["updated_at"];
    if (n == "includesCreatedEdit" || n == "isMinimized" || n == "viewerDidAuthor") return false;
    if (n == "minimizedReason") return nullptr;
    if (n == "url") return c.value("html_url", "");
    if (n == "reactionGroups") return json::array();
    return unsupported(o, f);
  }

  // ---- mutations: each is the REST write GitHub documents as its equivalent ----

  json input_of(const Selection& f) {
    json in = arg(f, "input");
    if (!in.is_object())
      throw FieldFailure{"INVALID_ARGUMENT",
                         "Argument 'input' on Field '" + f.name + "' must be an object"};
    return in;
  }
  static std::string input_string(const json& in, const char* key, bool required,
                                  const std::string& field) {
    auto it = in.find(key);
    if (it == in.end() || it->is_null()) {
      if (required)
        throw FieldFailure{"INVALID_ARGUMENT", "Argument 'input' on Field '" + field +
                                                   "' is missing the required field '" + key + "'"};
      return "";
    }
    if (!it->is_string())
      throw FieldFailure{"INVALID_ARGUMENT", "input." + std::string(key) + " must be a String"};
    return it->get<std::string>();
  }

  json payload(const Selection& f, const json& in, const char* key, const Obj& obj) {
    json data{{"clientMutationId", str_or(in, "clientMutationId")},
              {key, {{"type", obj.type}, {"data", obj.data}}}};
    return select(Obj{f.name + "Payload", data}, f.selections);
  }

  json mutation_field(const Selection& f) {
    const std::string& n = f.name;
    json in = input_of(f);
    if (n == "createIssue") {
      Obj repo = node_of_type(input_string(in, "repositoryId", true, n), "Repository");
      json body{{"title", input_string(in, "title", true, n)}};
      if (in.contains("body") && in["body"].is_string()) body["body"] = in["body"];
      if (in.contains("labelIds") && in["labelIds"].is_array())
        body["labels"] = label_names(repo.data, in["labelIds"]);
      if (in.contains("assigneeIds") && in["assigneeIds"].is_array())
        body["assignees"] = logins(in["assigneeIds"]);
      if (in.contains("milestoneId") && in["milestoneId"].is_string())
        body["milestone"] = milestone_number(in["milestoneId"].get<std::string>());
      json x = rest("POST", repo_prefix(repo.data) + "/issues", body);
      x["_repo"] = repo.data;
      return payload(f, in, "issue", Obj{"Issue", x});
    }
    if (n == "closeIssue" || n == "reopenIssue") {
      auto [repo, number] = issue_ref(input_string(in, "issueId", true, n), "IssueOrPullRequest");
      json body{{"state", n == "closeIssue" ? "closed" : "open"}};
      if (n == "closeIssue" && in.contains("stateReason") && in["stateReason"].is_string())
        body["state_reason"] = lower(in["stateReason"].get<std::string>());
      rest("PATCH", repo_prefix(repo) + "/issues/" + std::to_string(number), body);
      return payload(f, in, "issue", issue(repo, number, false, false));
    }
    if (n == "createPullRequest") {
      Obj repo = node_of_type(input_string(in, "repositoryId", true, n), "Repository");
      json body{{"title", input_string(in, "title", true, n)},
                {"head", input_string(in, "headRefName", true, n)},
                {"base", input_string(in, "baseRefName", true, n)}};
      if (in.contains("body") && in["body"].is_string()) body["body"] = in["body"];
      if (in.contains("draft") && in["draft"].is_boolean()) body["draft"] = in["draft"];
      json x = rest("POST", repo_prefix(repo.data) + "/pulls", body);
      x["_repo"] = repo.data;
      x["_full"] = true;
      return payload(f, in, "pullRequest", Obj{"PullRequest", x});
    }
    if (n == "mergePullRequest") {
      auto [repo, number] = issue_ref(input_string(in, "pullRequestId", true, n), "PullRequest");
      json body = json::object();
      std::string method = lower(input_string(in, "mergeMethod", false, n));
      if (!method.empty()) body["merge_method"] = method;
      std::string headline = input_string(in, "commitHeadline", false, n);
      if (!headline.empty()) body["commit_title"] = headline;
      if (in.contains("commitBody") && in["commitBody"].is_string())
        body["commit_message"] = in["commitBody"];
      std::string expected = input_string(in, "expectedHeadOid", false, n);
      if (!expected.empty()) body["sha"] = expected;
      rest("PUT", repo_prefix(repo) + "/pulls/" + std::to_string(number) + "/merge", body);
      return payload(f, in, "pullRequest", issue(repo, number, true, false));
    }
    if (n == "closePullRequest" || n == "reopenPullRequest") {
      auto [repo, number] = issue_ref(input_string(in, "pullRequestId", true, n), "PullRequest");
      rest("PATCH", repo_prefix(repo) + "/pulls/" + std::to_string(number),
           json{{"state", n == "closePullRequest" ? "closed" : "open"}});
      return payload(f, in, "pullRequest", issue(repo, number, true, false));
    }
    if (n == "addComment") {
      auto [repo, number] = issue_ref(input_string(in, "subjectId", true, n), "IssueOrPullRequest");
      json c = rest("POST", repo_prefix(repo) + "/issues/" + std::to_string(number) + "/comments",
                    json{{"body", input_string(in, "body", true, n)}});
      json data{{"clientMutationId", str_or(in, "clientMutationId")},
                {"commentEdge",
                 {{"type", "IssueCommentEdge"},
                  {"data",
                   {{"cursor", encode_id("cursor:0")},
                    {"node", {{"type", "IssueComment"}, {"data", c}}}}}}},
                {"subject", {{"type", "Node"}, {"data", json::object()}}}};
      Obj subj = issue(repo, number, false, false);
      data["subject"] = {{"type", subj.type}, {"data", subj.data}};
      return select(Obj{"AddCommentPayload", data}, f.selections);
    }
    return unsupported(Obj{"Mutation", {}}, f);
  }

  Obj node_of_type(const std::string& id, const char* type) {
    auto o = node(id);
    if (!o || o->type != type)
      throw FieldFailure{"NOT_FOUND",
                         "Could not resolve to a node with the global id of '" + id + "'"};
    return *o;
  }

  json label_names(const json& repo, const json& ids) {
    json names = json::array();
    for (const auto& id : ids) {
      auto raw = id.is_string() ? decode_id(id.get<std::string>()) : std::nullopt;
      std::string prefix = "Label:" + std::to_string(repo["id"].get<uint64_t>()) + ":";
      if (!raw || raw->rfind(prefix, 0) != 0)
        throw FieldFailure{"NOT_FOUND", "Could not resolve to a Label with the id of " + id.dump()};
      names.push_back(raw->substr(prefix.size()));
    }
    return names;
  }
  json logins(const json& ids) {
    json out = json::array();
    for (const auto& id : ids) {
      auto raw = id.is_string() ? decode_id(id.get<std::string>()) : std::nullopt;
      if (!raw || raw->rfind("User:", 0) != 0)
        throw FieldFailure{"NOT_FOUND", "Could not resolve to a User with the id of " + id.dump()};
      out.push_back(raw->substr(5));
    }
    return out;
  }
  json milestone_number(const std::string& id) {
    auto raw = decode_id(id);
    auto parts = raw ? split(*raw, ':') : std::vector<std::string>{};
    if (parts.size() != 3 || parts[0] != "Milestone" || parts[2].empty() ||
        parts[2].find_first_not_of("0123456789") != std::string::npos || parts[2].size() > 19)
      throw FieldFailure{"NOT_FOUND",
                         "Could not resolve to a Milestone with the id of '" + id + "'"};
    return std::stoull(parts[2]);
  }

  const Document& doc_;
  json vars_;
  Backend& be_;
  const ExecLimits& limits_;
  std::string root_type_;
  json path_ = json::array();
  json errors_ = json::array();
  std::map<std::string, json> cache_;
  size_t rest_calls_ = 0;
};

// Coerces the request's variables against the operation's definitions: defaults filled in, a
// missing non-null variable refused.
json coerce_variables(const Operation& op, const json& given) {
  json out = json::object();
  for (const auto& v : op.variables) {
    if (given.is_object() && given.contains(v.name) && !given[v.name].is_null()) {
      out[v.name] = given[v.name];
    } else if (v.has_default) {
      out[v.name] = v.default_value;
    } else if (v.non_null) {
      throw RequestError{"Variable $" + v.name + " of type " + v.type +
                             " was provided invalid value (a value is required)",
                         op.loc, true, ""};
    } else {
      out[v.name] = nullptr;
    }
  }
  return out;
}

json request_error(const RequestError& e) {
  return json{{"errors", json::array({error_json(e.message, e.has_loc ? &e.loc : nullptr,
                                                 json::array(), e.type)})}};
}

}  // namespace

json execute(const Document& doc, std::string_view operation_name, const json& variables,
             Backend& backend, const ExecLimits& limits) {
  try {
    const Operation* op = nullptr;
    if (operation_name.empty()) {
      if (doc.operations.size() != 1)
        throw RequestError{
            "An operation name is required when the document has several", {}, false, ""};
      op = &doc.operations.front();
    } else {
      for (const auto& o : doc.operations)
        if (o.name == operation_name) op = &o;
      if (!op)
        throw RequestError{
            "No operation named \"" + std::string(operation_name) + "\"", {}, false, ""};
    }
    Validator v(doc, limits);
    v.check(op->selections, op->type == Operation::kMutation ? "Mutation" : "Query", 0);
    for (const auto& [name, f] : doc.fragments)
      if (!schema().is_type(f.type_condition))
        throw RequestError{
            "No such type " + f.type_condition + ", so it can't be a fragment condition", f.loc,
            true, ""};
    Executor ex(doc, coerce_variables(*op, variables), backend, limits);
    return ex.run(*op);
  } catch (const RequestError& e) {
    return request_error(e);
  }
}

json execute_request(std::string_view body, Backend& backend, const ExecLimits& limits) {
  nlohmann::json req = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded() || !req.is_object())
    return request_error({"Problems parsing JSON", {}, false, ""});
  if (!req.contains("query") || !req["query"].is_string())
    return request_error(
        {"A query attribute must be specified and must be a string.", {}, false, ""});
  json variables = json::object();
  if (req.contains("variables") && !req["variables"].is_null()) {
    if (!req["variables"].is_object())
      return request_error({"Variables are invalid JSON.", {}, false, ""});
    variables = json::parse(req["variables"].dump());
  }
  std::string op_name;
  if (req.contains("operationName") && req["operationName"].is_string())
    op_name = req["operationName"].get<std::string>();
  Document doc;
  try {
    doc = parse(req["query"].get<std::string>(), limits.parse);
  } catch (const ParseError& e) {
    return request_error({std::string("Parse error: ") + e.what(), e.at, true, ""});
  }
  return execute(doc, op_name, variables, backend, limits);
}

}  // namespace guts::api::graphql
