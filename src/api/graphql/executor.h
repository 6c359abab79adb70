// The GraphQL executor (docs/api.md, "GraphQL"): resolves the subset of GitHub's GraphQL schema
// that the `gh` CLI uses by reading and writing through the REST API of the same node — each
// field that needs data becomes a REST request (GET /api/v3/repos/{o}/{r}/issues/{n}, ...) and
// each mutation the REST write GitHub documents as its equivalent (createIssue → POST .../issues,
// mergePullRequest → PUT .../pulls/{n}/merge, ...). The route (graphql_routes.cpp) sends those
// requests through the node's own router and its ONE authentication/authorization middleware,
// as the caller: the same permission rules, token scopes and signed transactions as REST.
//
// Before anything runs, the whole operation is checked against the schema (the table in
// executor.cpp): a field, argument, fragment or type the schema does not have fails the request
// with a GraphQL error naming it, and nothing is executed — a mutation is never half-run
// because a later field is unknown. Errors during execution (a repository that does not exist,
// a write refused) make that field null and add an error with its `path`, `locations` and a
// `type` (NOT_FOUND, FORBIDDEN, UNPROCESSABLE, ...), as GitHub does.
//
// Node ids (`id`, `node(id:)`, the ids mutations take) are base64url without padding of:
//   Repository:<repository id>          (the same as the REST node_id)
//   Issue:<repository id>:<number>      PullRequest:<repository id>:<number>
//   User:<login>                        Organization:<login>
//   Label:<repository id>:<label name>  Milestone:<repository id>:<number>
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/graphql/parser.h"

namespace guts::api::graphql {

// What the executor reads and writes through.
class Backend {
 public:
  virtual ~Backend() = default;
  struct Result {
    int status = 0;
    json body;  // the parsed JSON answer (null when there is none)
  };
  // One REST request as the caller: `target` is the path and query under the node
  // ("/api/v3/repos/o/r/issues?state=open"); `body` is sent as JSON unless null.
  virtual Result rest(std::string_view method, const std::string& target, const json& body) = 0;
  // "owner/name" of a repository id; nullopt when there is none.
  virtual std::optional<std::string> repo_full_name(uint64_t repo_id) = 0;
};

struct ExecLimits {
  ParseLimits parse;
  size_t max_field_visits = 20000;  // selections visited by the schema check (fragments expanded)
  size_t max_page = 100;            // first/last of a connection
  size_t max_rest_calls = 200;      // REST requests one GraphQL request may make
};

// Executes one GraphQL request body ({"query", "variables", "operationName"}) and returns
// the response object ({"data": ...} and/or {"errors": [...]}). Never throws for bad input.
json execute_request(std::string_view body, Backend& backend, const ExecLimits& limits = {});

// The same for a parsed document.
json execute(const Document& doc, std::string_view operation_name, const json& variables,
             Backend& backend, const ExecLimits& limits = {});

// Node ids (see the top of this file).
std::string encode_id(std::string_view raw);
std::optional<std::string> decode_id(std::string_view id);

}  // namespace guts::api::graphql
