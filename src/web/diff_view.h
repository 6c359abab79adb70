// The one diff renderer of the web interface: the commit page, the compare page and a pull
// request's "Files changed" tab draw their git::FileDiff lists with it. Unified or split
// (side-by-side; ?diff=split), old and new line numbers with anchors (#d<file>-L<n>,
// #d<file>-R<n>), a header per file (status, name, rename, +/−), binary files shown as such, and
// bounds: a file over max_lines_per_file lines or a diff over max_total_lines is cut with a link to
// the raw diff. Review threads and the inline comment form hang below lines through `after_line`.
// Layout (pairing of removed and added lines) is web/diff_layout.h; everything user-controlled
// (file names, lines) goes through Html's escaping.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/http.h"
#include "git/browse.h"
#include "web/html.h"

namespace guts::web {

enum class DiffMode { kUnified, kSplit };

// ?diff=split → kSplit; anything else unified.
DiffMode diff_mode(const api::Request& req);
const char* diff_mode_name(DiffMode m);  // "unified", "split"

struct DiffView {
  DiffMode mode = DiffMode::kUnified;
  std::string here;       // the page's path (percent-encoded, no query): toggle and line links
  std::string file_href;  // a file's link is file_href + url_path(filename); empty: no link
  std::string raw_diff;   // the raw diff's URL, linked when something is cut; empty: none
  size_t max_lines_per_file = 5000;
  size_t max_total_lines = 20000;
  // Line numbers link to here?diff=<mode>&path=<file>&side=<L|R>&line=<n> (the page then shows
  // the comment form there through after_line).
  bool line_links = false;
  // Markup to show below a line: side 'L' (old line numbers) or 'R' (new); nothing: no row.
  std::function<void(Html&, const git::FileDiff&, char side, uint64_t line)> after_line;
};

// "Unified | Split" links to here?diff=...
void diff_toggle(Html& h, const DiffView& v);

// The files' headers and diffs. `files_cut`: the list itself was cut (too many files).
void render_diff(Html& h, const std::vector<git::FileDiff>& files, const DiffView& v,
                 bool files_cut = false);

// "3 files changed, 10 additions, 2 deletions"
void diff_stats(Html& h, const std::vector<git::FileDiff>& files);

}  // namespace guts::web
