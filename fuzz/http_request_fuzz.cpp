// Request parsing as the API sees it: the target (path, percent escapes, query), an X-Request-Id
// and a JSON body.
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "api/http_parse.h"
#include "api/request_id.h"
#include "core/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto t = guts::api::parse_target(text)) {
    if (t->path.empty() || t->path[0] != '/') std::abort();
    if (t->path.find('\0') != std::string::npos) std::abort();
    (void)guts::api::find_query_param(t->query, "page");
    (void)guts::api::percent_decode_query(t->query);
  }
  // X-Request-Id: what is kept goes back in a response header and into the access log.
  auto id = guts::api::request_id_for(text);
  if (id.empty() || id.size() > guts::api::kMaxRequestIdLength ||
      id.find_first_of("\r\n\" ") != std::string::npos)
    std::abort();
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    // Whatever parses must serialize to valid UTF-8 (what we send back to clients).
    if (!guts::is_valid_utf8(j.dump())) std::abort();
  }
  return 0;
}
