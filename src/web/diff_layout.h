// The layout of a unified diff for display (pure: no HTML, no git): a patch's lines with their
// old and new line numbers, and the rows of the side-by-side ("split") view, where a run of
// removed lines is paired line by line with the run of added lines that follows it. The one
// renderer of diffs (web/diff_view.h) draws both views from this; unit-tested in
// tests/web/markup_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace guts::web {

struct DiffLine {
  enum Kind : uint8_t { kContext, kAdd, kDel, kHunk, kNote } kind = kContext;
  uint64_t old_no = 0;    // 0: none (added lines, hunk headers, notes)
  uint64_t new_no = 0;    // 0: none (removed lines, hunk headers, notes)
  std::string_view text;  // without the leading ' ', '+' or '-' (hunk headers whole)
};

struct ParsedPatch {
  std::vector<DiffLine> lines;
  bool truncated = false;  // more than max_lines: the rest is left out
};

// Parses the hunks of a unified diff (as git::FileDiff::patch: "@@ -a,b +c,d @@" headers and
// ' ', '+', '-', '\' lines). Lines before the first hunk header are ignored. The views point
// into `patch`, which must outlive the result.
ParsedPatch parse_patch(std::string_view patch, size_t max_lines = 5000);

// One row of the split view: the old side (left) and the new side (right); nullptr is an empty
// cell. Context lines are on both sides; a hunk header or a note spans the row (left == right).
struct SplitRow {
  const DiffLine* left = nullptr;
  const DiffLine* right = nullptr;
};
std::vector<SplitRow> split_rows(const std::vector<DiffLine>& lines);

}  // namespace guts::web
