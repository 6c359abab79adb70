// Markdown renderer (web/markdown.h) on arbitrary bytes, bounded input: never crashes, never
// emits a <script> element or a javascript: link, relative URLs go through the resolver.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "web/html.h"
#include "web/markdown.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  guts::web::MarkdownOptions mo;
  mo.max_input = 64 << 10;
  mo.resolve = [](std::string_view url, bool image) {
    std::string suffix;
    std::string path = guts::web::join_repo_path("docs", url, &suffix);
    return std::string(image ? "/o/r/raw/main/" : "/o/r/blob/main/") + guts::web::url_path(path) +
           suffix;
  };
  std::string out = guts::web::render_markdown(in, mo).html;
  if (out.find("<script") != std::string::npos) std::abort();
  if (out.find("href=\"javascript:") != std::string::npos) std::abort();
  std::string esc = guts::web::escape(in);
  if (esc.find('<') != std::string::npos || esc.find('"') != std::string::npos) std::abort();
  return 0;
}
