#include "web/diff_layout.h"

namespace guts::web {

namespace {

// The number after `sign` in "@@ -12,3 +14,5 @@": 12 for '-', 14 for '+'; 0 when absent.
uint64_t hunk_start(std::string_view header, char sign) {
  size_t at = header.find(sign, 2);
  if (at == std::string_view::npos) return 0;
  uint64_t n = 0;
  for (size_t i = at + 1; i < header.size() && header[i] >= '0' && header[i] <= '9'; ++i) {
    if (n > (1ull << 40)) return 0;
    n = n * 10 + static_cast<uint64_t>(header[i] - '0');
  }
  return n;
}

}  // namespace

ParsedPatch parse_patch(std::string_view patch, size_t max_lines) {
  ParsedPatch out;
  uint64_t old_no = 0, new_no = 0;
  bool in_hunk = false;
  size_t pos = 0;
  while (pos < patch.size()) {
    size_t nl = patch.find('\n', pos);
    if (nl == std::string_view::npos) nl = patch.size();
    std::string_view line = patch.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (out.lines.size() >= max_lines) {
      out.truncated = true;
      break;
    }
    DiffLine d;
    if (line.rfind("@@", 0) == 0) {
      in_hunk = true;
      old_no = hunk_start(line, '-');
      new_no = hunk_start(line, '+');
      d.kind = DiffLine::kHunk;
      d.text = line;
    } else if (!in_hunk) {
      continue;
    } else if (!line.empty() && line[0] == '+') {
      d.kind = DiffLine::kAdd;
      d.new_no = new_no++;
      d.text = line.substr(1);
    } else if (!line.empty() && line[0] == '-') {
      d.kind = DiffLine::kDel;
      d.old_no = old_no++;
      d.text = line.substr(1);
    } else if (!line.empty() && line[0] == '\\') {
      d.kind = DiffLine::kNote;
      d.text = line;
    } else {
      d.kind = DiffLine::kContext;
      d.old_no = old_no++;
      d.new_no = new_no++;
      d.text = line.empty() ? line : line.substr(1);
    }
    out.lines.push_back(d);
  }
  return out;
}

std::vector<SplitRow> split_rows(const std::vector<DiffLine>& lines) {
  std::vector<SplitRow> rows;
  rows.reserve(lines.size());
  size_t i = 0;
  while (i < lines.size()) {
    const DiffLine& d = lines[i];
    if (d.kind == DiffLine::kDel || d.kind == DiffLine::kAdd) {
      // A run of removals, then the run of additions right after it: paired in order.
      size_t del_begin = i;
      while (i < lines.size() && lines[i].kind == DiffLine::kDel) ++i;
      size_t del_end = i, add_begin = i;
      while (i < lines.size() && lines[i].kind == DiffLine::kAdd) ++i;
      size_t add_end = i;
      size_t dels = del_end - del_begin, adds = add_end - add_begin;
      for (size_t k = 0; k < dels || k < adds; ++k)
        rows.push_back({k < dels ? &lines[del_begin + k] : nullptr,
                        k < adds ? &lines[add_begin + k] : nullptr});
      continue;
    }
    rows.push_back({&d, &d});
    ++i;
  }
  return rows;
}

}  // namespace guts::web
