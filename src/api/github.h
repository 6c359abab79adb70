// GitHub REST v3 conventions: error bodies, validation errors, pagination, and the JSON shapes
// of users and repositories (https://docs.github.com/rest).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/errors.h"
#include "api/http.h"
#include "core/status.h"
#include "state/records.h"
#include "state/view.h"

namespace guts::api {

using json = nlohmann::ordered_json;

Response json_response(int status, const json& body);

// Parses a JSON object body. On failure answers 400 "Problems parsing JSON" (or 422 when the
// body is valid JSON but not an object) through `respond` and returns nullopt.
std::optional<nlohmann::json> parse_object_body(const Request& req, const Responder& respond);

// A typed optional field: nullopt if absent or null; throws FieldError if of another type.
struct FieldError {
  std::string field, expected;
};
std::optional<std::string> string_field(const nlohmann::json& j, const char* field);
std::optional<bool> bool_field(const nlohmann::json& j, const char* field);
Response field_type_error(const FieldError& e);

// The one way handlers check a JSON body: every field listed is checked in order, and the first
// one that is required but absent (or null) or of another type is answered 422 with GitHub's
// shape: {"message": ..., "errors": [{"resource", "code", "field"}]} ("missing_field" or
// "invalid"). nullopt when the body is acceptable. The typed getters above then read it.
struct BodyField {
  // kNameList: an array of strings or of {"name": string} (labels, assignees, reviewers);
  // kObjectArray: an array of objects; kUnsigned: a non-negative integer.
  enum Type {
    kString,
    kBoolean,
    kInteger,
    kUnsigned,
    kStringOrInteger,
    kArray,
    kNameList,
    kObjectArray
  };
  const char* name;
  Type type;
  bool required = false;
};
std::optional<Response> check_body(const nlohmann::json& body, std::string_view resource,
                                   std::initializer_list<BodyField> fields);

struct Page {
  size_t page = 1;
  size_t per_page = 30;
};
Page page_of(const Request& req);  // per_page capped at 100, invalid values use defaults
// Adds GitHub's Link header (next, last, first, prev) for `total` items.
void add_link_header(Response& resp, const Request& req, const std::string& public_url,
                     const Page& page, size_t total);

// Conditional requests: sets a strong ETag (hash of the body) on a 200 response and turns it
// into 304 Not Modified (empty body) when the request's If-None-Match lists that tag or "*".
Response with_etag(const Request& req, Response resp);
// Conditional requests everywhere in /api/v3 (ServerOptions::finish_response): a 200 answer to
// a GET or HEAD that has no ETag yet gets one, and 304 when If-None-Match names it.
void finish_rest_response(const Request& req, Response& resp);

// GitHub's opaque node ids ("<Type>:<id>", base64url).
std::string node_id(std::string_view type, uint64_t id);

// Entity JSON.
json user_json(const state::Account& account, const std::string& base);
json repo_json(const state::Repo& repo, const state::Account& owner, const std::string& base,
               std::optional<state::Permission> permission);

}  // namespace guts::api
