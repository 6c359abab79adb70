#include "web/markdown.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

namespace guts::web {

namespace {

void register_extensions() {
  static std::once_flag once;
  std::call_once(once, [] { cmark_gfm_core_extensions_ensure_registered(); });
}

struct ParserFree {
  void operator()(cmark_parser* p) const { cmark_parser_free(p); }
};
struct NodeFree {
  void operator()(cmark_node* n) const { cmark_node_free(n); }
};
struct IterFree {
  void operator()(cmark_iter* i) const { cmark_iter_free(i); }
};

void rewrite_links(cmark_node* doc, const MarkdownOptions& options) {
  if (!options.resolve) return;
  std::unique_ptr<cmark_iter, IterFree> it(cmark_iter_new(doc));
  cmark_event_type ev;
  while ((ev = cmark_iter_next(it.get())) != CMARK_EVENT_DONE) {
    if (ev != CMARK_EVENT_ENTER) continue;
    cmark_node* n = cmark_iter_get_node(it.get());
    auto type = cmark_node_get_type(n);
    if (type != CMARK_NODE_LINK && type != CMARK_NODE_IMAGE) continue;
    const char* url = cmark_node_get_url(n);
    if (!url || !*url || !is_relative_url(url)) continue;
    std::string out = options.resolve(url, type == CMARK_NODE_IMAGE);
    if (!out.empty()) cmark_node_set_url(n, out.c_str());
  }
}

}  // namespace

bool is_relative_url(std::string_view url) {
  if (url.empty() || url[0] == '#') return false;
  if (url.size() >= 2 && url[0] == '/' && url[1] == '/') return false;
  // A scheme: letters, digits, + - . before the first ':' that comes before any '/', '?', '#'.
  for (size_t i = 0; i < url.size(); ++i) {
    char c = url[i];
    if (c == ':') return i == 0;  // ":x" is a path; "x:" a scheme
    if (c == '/' || c == '?' || c == '#') return true;
    bool scheme_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
    if (!scheme_char) return true;
  }
  return true;
}

std::string join_repo_path(std::string_view dir, std::string_view url, std::string* suffix) {
  size_t cut = url.find_first_of("?#");
  if (suffix) *suffix = cut == std::string_view::npos ? "" : std::string(url.substr(cut));
  std::string_view path = url.substr(0, cut);
  std::vector<std::string> parts;
  auto push_all = [&](std::string_view s) {
    size_t pos = 0;
    while (pos <= s.size()) {
      size_t slash = s.find('/', pos);
      if (slash == std::string_view::npos) slash = s.size();
      std::string_view seg = s.substr(pos, slash - pos);
      if (seg == "..") {
        if (!parts.empty()) parts.pop_back();
      } else if (!seg.empty() && seg != ".") {
        parts.emplace_back(seg);
      }
      pos = slash + 1;
    }
  };
  if (path.empty() || path[0] != '/') push_all(dir);
  push_all(path);
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

Safe render_markdown(std::string_view text, const MarkdownOptions& options) {
  register_extensions();
  bool cut = false;
  if (text.size() > options.max_input) {
    size_t end = text.rfind('\n', options.max_input);
    text = text.substr(0, end == std::string_view::npos ? options.max_input : end);
    cut = true;
  }
  // Safe mode (no CMARK_OPT_UNSAFE): raw HTML and dangerous URLs are dropped.
  const int opts =
      CMARK_OPT_DEFAULT | CMARK_OPT_VALIDATE_UTF8 | CMARK_OPT_FOOTNOTES | CMARK_OPT_GITHUB_PRE_LANG;
  std::unique_ptr<cmark_parser, ParserFree> parser(cmark_parser_new(opts));
  for (const char* name : {"table", "strikethrough", "autolink", "tasklist", "tagfilter"}) {
    if (cmark_syntax_extension* ext = cmark_find_syntax_extension(name))
      cmark_parser_attach_syntax_extension(parser.get(), ext);
  }
  cmark_parser_feed(parser.get(), text.data(), text.size());
  std::unique_ptr<cmark_node, NodeFree> doc(cmark_parser_finish(parser.get()));
  rewrite_links(doc.get(), options);
  char* html = cmark_render_html(doc.get(), opts, cmark_parser_get_syntax_extensions(parser.get()));
  Safe out{html ? std::string(html) : std::string()};
  std::free(html);
  if (cut) out.html += "<p class=\"note\">This file is too large to render in full.</p>\n";
  return out;
}

}  // namespace guts::web
