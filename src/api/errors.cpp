#include "api/errors.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace guts::api {

int http_status(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kMalformed:
      return 400;
    case Code::kUnauthenticated:
      return 401;
    case Code::kPermissionDenied:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kFailedPrecondition:
      return 405;
    case Code::kConflict:
      return 409;
    case Code::kTooLarge:
      return 413;
    case Code::kInvalidArgument:
    case Code::kAlreadyExists:
      return 422;
    case Code::kInternal:
      return 500;
    case Code::kUnavailable:
      return 503;
    case Code::kRateLimited:
      return 429;
  }
  return 500;
}

namespace {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  out.reserve(s.size() + 2);
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out += '"';
  return out;
}

// "<field>: <reason>" with a short lower-case field; false otherwise.
bool split_field(const std::string& msg, std::string& field, std::string& reason) {
  auto colon = msg.find(": ");
  if (colon == std::string::npos || colon == 0 || colon >= 40) return false;
  if (!std::all_of(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(colon),
                   [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; }))
    return false;
  field = msg.substr(0, colon);
  reason = msg.substr(colon + 2);
  return true;
}

}  // namespace

Response error_response(int status, std::string_view message) {
  return Response::json(status, "{\"message\":" + json_string(message) +
                                    ",\"documentation_url\":\"" + kDocsUrl + "\"}");
}

Response validation_failed(std::string_view resource, std::string_view field, std::string_view code,
                           std::string_view message) {
  std::string err = "{\"resource\":" + json_string(resource) + ",\"code\":" + json_string(code) +
                    ",\"field\":" + json_string(field);
  if (!message.empty()) err += ",\"message\":" + json_string(message);
  err += "}";
  return Response::json(422, "{\"message\":\"Validation Failed\",\"errors\":[" + err +
                                 "],\"documentation_url\":\"" + kDocsUrl + "\"}");
}

Response status_response(const Status& st, std::string_view resource, std::string_view field) {
  int status = http_status(st.code());
  std::string named, reason;
  bool has_field = split_field(st.message(), named, reason);
  switch (st.code()) {
    case Code::kOk:
      return error_response(200, "OK");
    case Code::kNotFound:
      return error_response(status, st.message().empty() ? "Not Found" : st.message());
    case Code::kInternal:
      return error_response(status, "Internal Server Error");
    case Code::kInvalidArgument:
    case Code::kAlreadyExists:
      if (!resource.empty() && !field.empty())
        return validation_failed(resource, field, "custom", st.message());
      if (!resource.empty() && has_field)
        return reason == "already_exists" ? validation_failed(resource, named, "already_exists", "")
                                          : validation_failed(resource, named, "invalid", reason);
      return error_response(status, st.message());
    case Code::kConflict:
      return error_response(status, has_field ? reason : st.message());
    // Back-pressure (the door's rate limit, a full mempool, a node not ready): the message may
    // end with "retry after N s"; otherwise a second.
    case Code::kRateLimited:
    case Code::kUnavailable: {
      Response r = error_response(status, st.message());
      auto at = st.message().rfind("retry after ");
      uint64_t secs = 1;
      if (at != std::string::npos) {
        secs = 0;
        for (size_t i = at + 12;
             i < st.message().size() && std::isdigit(static_cast<unsigned char>(st.message()[i])) &&
             secs < 86400;
             ++i)
          secs = secs * 10 + static_cast<uint64_t>(st.message()[i] - '0');
      }
      r.headers.set("Retry-After", std::to_string(std::max<uint64_t>(secs, 1)));
      return r;
    }
    default:
      return error_response(status, st.message());
  }
}

}  // namespace guts::api
