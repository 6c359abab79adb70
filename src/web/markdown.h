// GitHub-flavoured Markdown to HTML with cmark-gfm (tables, strikethrough, autolinks, task
// lists, tag filter, footnotes). Raw HTML is never passed through (cmark-gfm's safe mode
// replaces it with a comment and drops javascript:/vbscript:/file:/data: URLs); relative links
// and image sources are handed to a resolver so that a README's "docs/x.md" or "img/logo.png"
// point at the blob and raw pages of the repository.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "web/html.h"

namespace guts::web {

struct MarkdownOptions {
  // Input beyond this many bytes is not rendered (cut at a line end, with a note).
  size_t max_input = 512 << 10;
  // Called for every relative link (image=false) and image source (image=true): the URL as
  // written (no scheme, not "//host", not "#anchor"), returns the URL to emit. Empty: kept.
  std::function<std::string(std::string_view url, bool image)> resolve;
};

Safe render_markdown(std::string_view text, const MarkdownOptions& options = {});

// True for a URL without a scheme that does not start with '/', '//' or '#'? No: true when the
// URL has no scheme, is not protocol-relative ("//host") and is not a bare fragment ("#x").
// Root-relative ("/docs") counts as relative to the repository root.
bool is_relative_url(std::string_view url);

// The repository path `url` points at when it appears in a file of directory `dir` ("" = root):
// "./a/../b.md" in "docs" -> "docs/b.md"; "/x" -> "x". Query and fragment are split off into
// `suffix` ("#install"). Climbing above the root stays at the root.
std::string join_repo_path(std::string_view dir, std::string_view url, std::string* suffix);

}  // namespace guts::web
