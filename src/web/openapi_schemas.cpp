// Request and response schemas of the OpenAPI document (docs/web.md "API description"): the
// components of GitHub's main objects (the fields Guts fills, api/github.h and
// api/collab_common.h), and for the main operations their request body and success response.
// Only operations present in the document get them; every error response is the Error schema
// (docs/errors.md).
#include <nlohmann/json.hpp>

#include "web/pages.h"

namespace guts::web {

namespace {

using nlohmann::json;

json ref(std::string_view name) {
  return {{"$ref", "#/components/schemas/" + std::string(name)}};
}
json array_of(std::string_view name) {
  return {{"type", "array"}, {"items", ref(name)}};
}
json str() {
  return {{"type", "string"}};
}
json nstr() {
  return {{"type", "string"}, {"nullable", true}};
}
json integer() {
  return {{"type", "integer"}};
}
json boolean() {
  return {{"type", "boolean"}};
}
json time_() {
  return {{"type", "string"}, {"format", "date-time"}};
}
json object(json props, std::vector<std::string> required = {}) {
  json o = {{"type", "object"}, {"properties", std::move(props)}};
  if (!required.empty()) o["required"] = required;
  return o;
}
json strings() {
  return {{"type", "array"}, {"items", str()}};
}

json schemas() {
  json reactions = object({{"url", str()}, {"total_count", integer()}});
  for (const char* c : {"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"})
    reactions["properties"][c] = integer();
  json content = {{"type", "string"},
                  {"enum", {"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}}};
  json issue_props = {
      {"id", integer()},
      {"node_id", str()},
      {"number", integer()},
      {"title", str()},
      {"body", nstr()},
      {"state", {{"type", "string"}, {"enum", {"open", "closed"}}}},
      {"state_reason", nstr()},
      {"user", ref("User")},
      {"labels", array_of("Label")},
      {"assignees", array_of("User")},
      {"milestone", {{"allOf", {ref("Milestone")}}, {"nullable", true}}},
      {"locked", boolean()},
      {"comments", integer()},
      {"created_at", time_()},
      {"updated_at", time_()},
      {"closed_at", {{"type", "string"}, {"format", "date-time"}, {"nullable", true}}},
      {"reactions", ref("Reactions")},
      {"url", str()},
      {"html_url", str()}};
  json pull_props = issue_props;
  pull_props.erase("reactions");
  pull_props["head"] = ref("PullRef");
  pull_props["base"] = ref("PullRef");
  pull_props["draft"] = boolean();
  pull_props["merged"] = boolean();
  pull_props["mergeable"] = {{"type", "boolean"}, {"nullable", true}};
  pull_props["merge_commit_sha"] = nstr();
  return {
      {"Error", object({{"message", str()},
                        {"documentation_url", str()},
                        {"errors",
                         {{"type", "array"},
                          {"items", object({{"resource", str()},
                                            {"field", str()},
                                            {"code", str()},
                                            {"message", str()}})}}}},
                       {"message"})},
      {"User", object({{"login", str()},
                       {"id", integer()},
                       {"node_id", str()},
                       {"type", {{"type", "string"}, {"enum", {"User", "Organization"}}}},
                       {"url", str()},
                       {"html_url", str()},
                       {"avatar_url", str()}},
                      {"login", "id"})},
      {"Repository", object({{"id", integer()},
                             {"node_id", str()},
                             {"name", str()},
                             {"full_name", str()},
                             {"private", boolean()},
                             {"owner", ref("User")},
                             {"description", nstr()},
                             {"default_branch", str()},
                             {"url", str()},
                             {"html_url", str()},
                             {"clone_url", str()},
                             {"created_at", time_()},
                             {"updated_at", time_()}},
                            {"id", "name", "full_name", "private", "owner"})},
      {"RepositoryCreate", object({{"name", str()},
                                   {"description", str()},
                                   {"private", boolean()},
                                   {"auto_init", boolean()}},
                                  {"name"})},
      {"RepositoryUpdate", object({{"name", str()},
                                   {"description", str()},
                                   {"private", boolean()},
                                   {"default_branch", str()}})},
      {"Label", object({{"id", integer()},
                        {"name", str()},
                        {"color", str()},
                        {"description", nstr()},
                        {"default", boolean()}},
                       {"name"})},
      {"LabelCreate",
       object({{"name", str()}, {"color", str()}, {"description", str()}}, {"name"})},
      {"Milestone", object({{"id", integer()},
                            {"number", integer()},
                            {"title", str()},
                            {"description", nstr()},
                            {"state", {{"type", "string"}, {"enum", {"open", "closed"}}}},
                            {"open_issues", integer()},
                            {"closed_issues", integer()},
                            {"due_on", nstr()}},
                           {"number", "title"})},
      {"MilestoneCreate",
       object({{"title", str()}, {"description", str()}, {"state", str()}, {"due_on", time_()}},
              {"title"})},
      {"Reactions", reactions},
      {"Reaction", object({{"id", integer()},
                           {"node_id", str()},
                           {"content", content},
                           {"user", ref("User")},
                           {"created_at", time_()}},
                          {"id", "content"})},
      {"ReactionCreate", object({{"content", content}}, {"content"})},
      {"Issue", object(issue_props, {"id", "number", "title", "state", "user"})},
      {"IssueCreate", object({{"title", {{"oneOf", {str(), integer()}}}},
                              {"body", str()},
                              {"labels", strings()},
                              {"assignees", strings()},
                              {"assignee", str()},
                              {"milestone", {{"oneOf", {integer(), str()}}, {"nullable", true}}}},
                             {"title"})},
      {"IssueUpdate", object({{"title", str()},
                              {"body", str()},
                              {"state", {{"type", "string"}, {"enum", {"open", "closed"}}}},
                              {"state_reason", str()},
                              {"labels", strings()},
                              {"assignees", strings()},
                              {"milestone", {{"oneOf", {integer(), str()}}, {"nullable", true}}}})},
      {"IssueComment", object({{"id", integer()},
                               {"node_id", str()},
                               {"body", str()},
                               {"user", ref("User")},
                               {"created_at", time_()},
                               {"updated_at", time_()},
                               {"reactions", ref("Reactions")},
                               {"html_url", str()}},
                              {"id", "body", "user"})},
      {"CommentCreate", object({{"body", str()}}, {"body"})},
      {"PullRef", object({{"ref", str()},
                          {"sha", str()},
                          {"label", str()},
                          {"repo", {{"allOf", {ref("Repository")}}, {"nullable", true}}}},
                         {"ref", "sha"})},
      {"PullRequest", object(pull_props, {"id", "number", "title", "state", "head", "base"})},
      {"PullRequestCreate", object({{"title", str()},
                                    {"body", str()},
                                    {"head", str()},
                                    {"base", str()},
                                    {"draft", boolean()},
                                    {"issue", integer()}},
                                   {"head", "base"})},
      {"MergeRequest",
       object({{"commit_title", str()},
               {"commit_message", str()},
               {"sha", str()},
               {"merge_method", {{"type", "string"}, {"enum", {"merge", "squash", "rebase"}}}}})},
      {"MergeResult",
       object({{"sha", str()}, {"merged", boolean()}, {"message", str()}}, {"sha", "merged"})},
      {"Notification",
       object({{"id", str()},
               {"repository", ref("Repository")},
               {"subject",
                object({{"title", str()},
                        {"url", str()},
                        {"latest_comment_url", str()},
                        {"type", {{"type", "string"}, {"enum", {"Issue", "PullRequest"}}}}})},
               {"reason", str()},
               {"unread", boolean()},
               {"updated_at", time_()},
               {"last_read_at", nstr()},
               {"url", str()},
               {"subscription_url", str()}},
              {"id", "subject", "reason", "unread"})},
      {"Subscription", object({{"subscribed", boolean()},
                               {"ignored", boolean()},
                               {"reason", nstr()},
                               {"created_at", time_()},
                               {"url", str()},
                               {"repository_url", str()},
                               {"thread_url", str()}},
                              {"subscribed", "ignored"})},
      {"SubscriptionSet", object({{"subscribed", boolean()}, {"ignored", boolean()}})},
  };
}

// The main operations: path under /api/v3, method, request schema ("" none), success status,
// response schema (a name, "[]Name" for an array of it, "" for no body).
struct Op {
  const char* path;
  const char* method;
  const char* request;
  const char* status;
  const char* response;
};
constexpr Op kOps[] = {
    {"/user", "get", "", "200", "User"},
    {"/users/{username}", "get", "", "200", "User"},
    {"/users/{username}/repos", "get", "", "200", "[]Repository"},
    {"/user/repos", "get", "", "200", "[]Repository"},
    {"/user/repos", "post", "RepositoryCreate", "201", "Repository"},
    {"/repos/{owner}/{repo}", "get", "", "200", "Repository"},
    {"/repos/{owner}/{repo}", "patch", "RepositoryUpdate", "200", "Repository"},
    {"/repos/{owner}/{repo}", "delete", "", "204", ""},
    {"/repos/{owner}/{repo}/issues", "get", "", "200", "[]Issue"},
    {"/repos/{owner}/{repo}/issues", "post", "IssueCreate", "201", "Issue"},
    {"/repos/{owner}/{repo}/issues/{number}", "get", "", "200", "Issue"},
    {"/repos/{owner}/{repo}/issues/{number}", "patch", "IssueUpdate", "200", "Issue"},
    {"/repos/{owner}/{repo}/issues/{number}/comments", "get", "", "200", "[]IssueComment"},
    {"/repos/{owner}/{repo}/issues/{number}/comments", "post", "CommentCreate", "201",
     "IssueComment"},
    {"/repos/{owner}/{repo}/issues/{number}/reactions", "get", "", "200", "[]Reaction"},
    {"/repos/{owner}/{repo}/issues/{number}/reactions", "post", "ReactionCreate", "201",
     "Reaction"},
    {"/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", "get", "", "200",
     "[]Reaction"},
    {"/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", "post", "ReactionCreate",
     "201", "Reaction"},
    {"/repos/{owner}/{repo}/labels", "get", "", "200", "[]Label"},
    {"/repos/{owner}/{repo}/labels", "post", "LabelCreate", "201", "Label"},
    {"/repos/{owner}/{repo}/milestones", "get", "", "200", "[]Milestone"},
    {"/repos/{owner}/{repo}/milestones", "post", "MilestoneCreate", "201", "Milestone"},
    {"/repos/{owner}/{repo}/pulls", "get", "", "200", "[]PullRequest"},
    {"/repos/{owner}/{repo}/pulls", "post", "PullRequestCreate", "201", "PullRequest"},
    {"/repos/{owner}/{repo}/pulls/{number}", "get", "", "200", "PullRequest"},
    {"/repos/{owner}/{repo}/pulls/{number}/merge", "put", "MergeRequest", "200", "MergeResult"},
    {"/notifications", "get", "", "200", "[]Notification"},
    {"/repos/{owner}/{repo}/subscription", "get", "", "200", "Subscription"},
    {"/repos/{owner}/{repo}/subscription", "put", "SubscriptionSet", "200", "Subscription"},
    {"/repos/{owner}/{repo}/subscription", "delete", "", "204", ""},
    {"/repos/{owner}/{repo}/subscribers", "get", "", "200", "[]User"},
};

json body_of(std::string_view schema) {
  json s = schema.substr(0, 2) == "[]" ? array_of(schema.substr(2)) : ref(schema);
  return {{"application/json", {{"schema", std::move(s)}}}};
}

}  // namespace

void add_openapi_schemas(nlohmann::json& doc) {
  doc["components"]["schemas"] = schemas();
  auto& paths = doc["paths"];
  for (auto& [path, ops] : paths.items())
    for (auto& [method, op] : ops.items()) op["responses"]["default"]["content"] = body_of("Error");
  for (const auto& o : kOps) {
    std::string path = std::string("/api/v3") + o.path;
    if (!paths.contains(path) || !paths[path].contains(o.method)) continue;
    auto& op = paths[path][o.method];
    if (*o.request) op["requestBody"] = {{"required", true}, {"content", body_of(o.request)}};
    json resp = {{"description", "Success"}};
    if (*o.response) resp["content"] = body_of(o.response);
    op["responses"][o.status] = std::move(resp);
  }
}

}  // namespace guts::web
