// The one map from the error vocabulary (core/status.h) to HTTP: every REST answer, the
// server's own errors and git smart-HTTP errors take their status from http_status(), and every
// REST error body is GitHub's ({"message", "documentation_url"}, plus "errors" for 422
// Validation Failed). Policy and the table: docs/errors.md.
#pragma once

#include <string>
#include <string_view>

#include "api/http.h"
#include "core/status.h"

namespace guts::api {

inline constexpr const char* kDocsUrl = "https://docs.github.com/rest";

// The HTTP status of a code (200 for kOk).
int http_status(Code code);

// {"message": ..., "documentation_url": ...} with `status`.
Response error_response(int status, std::string_view message);
// 422 {"message":"Validation Failed","errors":[{resource, code, field[, message]}]}
Response validation_failed(std::string_view resource, std::string_view field, std::string_view code,
                           std::string_view message);

// A rejected request, transaction or operation as GitHub answers it. A message of the form
// "<field>: <reason>" (lower-case field) names the field; with a `resource`, a 422 then becomes
// Validation Failed with an errors[] entry ("already_exists" when the reason says exactly that,
// else "invalid" with the reason). A `field` given here instead makes an entry with code
// "custom" and the whole message (GitHub's shape for repository creation). 404 says "Not Found"
// when the status has no message; 500 never shows the message (it may hold internal detail).
Response status_response(const Status& st, std::string_view resource = "",
                         std::string_view field = "");

}  // namespace guts::api
