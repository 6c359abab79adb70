// The GraphQL request path on untrusted input (api/graphql): the query-language parser with
// its bounds, and the executor's schema check and execution against a backend that answers
// every REST request with an empty object — whatever the input, a JSON answer with "data"
// and/or "errors", never a crash.
#include <cstdlib>
#include <string_view>

#include "api/graphql/executor.h"
#include "api/graphql/parser.h"

namespace {

class NullBackend : public guts::api::graphql::Backend {
 public:
  Result rest(std::string_view, const std::string& target,
              const guts::api::graphql::json&) override {
    if (target.find("/issues?") != std::string::npos || target.find("/pulls?") != std::string::npos)
      return {200, guts::api::graphql::json::array()};
    return {404, {{"message", "Not Found"}}};
  }
  std::optional<std::string> repo_full_name(uint64_t) override { return std::nullopt; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace guts::api::graphql;
  ParseLimits limits;
  try {
    Document doc = parse(text, limits);
    if (doc.operations.empty()) std::abort();
  } catch (const ParseError& e) {
    if (e.at.line == 0 || e.at.column == 0) std::abort();
  }
  NullBackend backend;
  json body = {{"query", std::string(text)}};
  json out = execute_request(body.dump(-1, ' ', false, json::error_handler_t::replace), backend);
  if (!out.is_object() || (!out.contains("data") && !out.contains("errors"))) std::abort();
  (void)decode_id(text);
  return 0;
}
