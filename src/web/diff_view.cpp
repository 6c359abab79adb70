#include "web/diff_view.h"

#include "web/diff_layout.h"

namespace guts::web {

namespace {

std::string line_href(const DiffView& v, const git::FileDiff& f, char side, uint64_t n,
                      size_t index) {
  return v.here + "?diff=" + diff_mode_name(v.mode) + "&path=" + url_query(f.filename) +
         "&side=" + side + "&line=" + std::to_string(n) + "#d" + std::to_string(index) + "-" +
         side + std::to_string(n);
}

// A line-number cell: empty when n == 0.
void number_cell(Html& h, const DiffView& v, const git::FileDiff& f, size_t index, char side,
                 uint64_t n) {
  if (n == 0) {
    h.raw("<td class=\"ln\"></td>");
    return;
  }
  h.raw("<td class=\"ln\">");
  if (v.line_links)
    h.raw("<a href=\"") << line_href(v, f, side, n, index) << Safe{"\">"} << n << Safe{"</a>"};
  else
    h << n;
  h.raw("</td>");
}

const char* cell_class(DiffLine::Kind k) {
  switch (k) {
    case DiffLine::kAdd:
      return "code add";
    case DiffLine::kDel:
      return "code del";
    case DiffLine::kHunk:
    case DiffLine::kNote:
      return "code hunk";
    default:
      return "code";
  }
}

// Markup after a line, as a full-width row when there is any.
void extra_row(Html& h, const DiffView& v, const git::FileDiff& f, char side, uint64_t n,
               int colspan) {
  if (!v.after_line || n == 0) return;
  Html extra;
  v.after_line(extra, f, side, n);
  if (extra.str().empty()) return;
  h.raw("<tr class=\"inline\"><td colspan=\"") << colspan << Safe{"\">"} << Safe{extra.str()};
  h.raw("</td></tr>\n");
}

void row_id(Html& h, size_t index, const DiffLine& d) {
  if (d.kind == DiffLine::kDel)
    h.raw(" id=\"d") << static_cast<uint64_t>(index) << "-L" << d.old_no << Safe{"\""};
  else if (d.new_no)
    h.raw(" id=\"d") << static_cast<uint64_t>(index) << "-R" << d.new_no << Safe{"\""};
}

void unified(Html& h, const DiffView& v, const git::FileDiff& f, size_t index,
             const ParsedPatch& p) {
  h.raw("<table class=\"code diff unified\">");
  for (const DiffLine& d : p.lines) {
    h.raw("<tr");
    row_id(h, index, d);
    h.raw(">");
    if (d.kind == DiffLine::kHunk || d.kind == DiffLine::kNote) {
      h.raw("<td class=\"ln\"></td><td class=\"ln\"></td><td class=\"code hunk\">")
          << d.text << Safe{"</td></tr>\n"};
      continue;
    }
    number_cell(h, v, f, index, 'L', d.old_no);
    number_cell(h, v, f, index, 'R', d.new_no);
    const char* mark = d.kind == DiffLine::kAdd ? "+" : d.kind == DiffLine::kDel ? "-" : " ";
    h.raw("<td class=\"") << cell_class(d.kind) << Safe{"\">"} << mark << d.text;
    h.raw("</td></tr>\n");
    // Threads on either side of the line (a context line has both).
    if (d.kind != DiffLine::kAdd) extra_row(h, v, f, 'L', d.old_no, 3);
    if (d.kind != DiffLine::kDel) extra_row(h, v, f, 'R', d.new_no, 3);
  }
  h.raw("</table>");
}

void split(Html& h, const DiffView& v, const git::FileDiff& f, size_t index, const ParsedPatch& p) {
  h.raw(
      "<table class=\"code diff split\"><colgroup><col class=\"ln-col\"><col class=\"code-col\">"
      "<col class=\"ln-col\"><col class=\"code-col\"></colgroup>");
  for (const SplitRow& r : split_rows(p.lines)) {
    if (r.left && r.left == r.right &&
        (r.left->kind == DiffLine::kHunk || r.left->kind == DiffLine::kNote)) {
      h.raw("<tr><td class=\"ln\"></td><td class=\"code hunk\" colspan=\"3\">")
          << r.left->text << Safe{"</td></tr>\n"};
      continue;
    }
    h.raw("<tr");
    if (r.right)
      row_id(h, index, *r.right);
    else if (r.left)
      row_id(h, index, *r.left);
    h.raw(">");
    if (r.left) {
      number_cell(h, v, f, index, 'L', r.left->old_no);
      h.raw("<td class=\"") << (r.left->kind == DiffLine::kDel ? "code del" : "code") << Safe{"\">"}
                            << r.left->text << Safe{"</td>"};
    } else {
      h.raw("<td class=\"ln empty\"></td><td class=\"code empty\"></td>");
    }
    if (r.right) {
      number_cell(h, v, f, index, 'R', r.right->new_no);
      h.raw("<td class=\"") << (r.right->kind == DiffLine::kAdd ? "code add" : "code")
                            << Safe{"\">"} << r.right->text << Safe{"</td>"};
    } else {
      h.raw("<td class=\"ln empty\"></td><td class=\"code empty\"></td>");
    }
    h.raw("</tr>\n");
    // Threads: the old side's (removed lines) then the new side's.
    if (r.left) extra_row(h, v, f, 'L', r.left->old_no, 4);
    if (r.right) extra_row(h, v, f, 'R', r.right->new_no, 4);
  }
  h.raw("</table>");
}

void cut_note(Html& h, const DiffView& v, std::string_view what) {
  h.raw("<div class=\"body note\">") << what;
  if (!v.raw_diff.empty())
    h.raw(" <a class=\"raw-diff\" href=\"") << v.raw_diff << Safe{"\">View the raw diff</a>"};
  h.raw("</div>");
}

}  // namespace

DiffMode diff_mode(const api::Request& req) {
  return req.query_param("diff").value_or("") == "split" ? DiffMode::kSplit : DiffMode::kUnified;
}

const char* diff_mode_name(DiffMode m) {
  return m == DiffMode::kSplit ? "split" : "unified";
}

void diff_toggle(Html& h, const DiffView& v) {
  h.raw("<nav class=\"pager diff-toggle\">");
  for (DiffMode m : {DiffMode::kUnified, DiffMode::kSplit}) {
    const char* name = diff_mode_name(m);
    h.raw("<a id=\"diff-") << name << Safe{"\" href=\""} << v.here + "?diff=" + name;
    h.raw(m == v.mode ? "\"><strong>" : "\">") << (m == DiffMode::kSplit ? "Split" : "Unified");
    h.raw(m == v.mode ? "</strong></a>" : "</a>");
  }
  if (!v.raw_diff.empty()) h.raw("<a href=\"") << v.raw_diff << Safe{"\">Raw diff</a>"};
  h.raw("</nav>");
}

void diff_stats(Html& h, const std::vector<git::FileDiff>& files) {
  uint64_t adds = 0, dels = 0;
  for (const auto& f : files) {
    adds += static_cast<uint64_t>(f.additions);
    dels += static_cast<uint64_t>(f.deletions);
  }
  h.raw("<p class=\"diff-stats\">") << static_cast<uint64_t>(files.size())
                                    << (files.size() == 1 ? " file changed, " : " files changed, ")
                                    << adds << " additions, " << dels << Safe{" deletions</p>"};
}

void render_diff(Html& h, const std::vector<git::FileDiff>& files, const DiffView& v,
                 bool files_cut) {
  size_t total = 0;
  for (size_t index = 0; index < files.size(); ++index) {
    const git::FileDiff& f = files[index];
    h.raw("<div class=\"box diff-file\" id=\"file-") << static_cast<uint64_t>(index);
    h.raw("\"><div class=\"head\"><span class=\"pill\">") << f.status << Safe{"</span> "};
    if (!v.file_href.empty() && f.status != "removed")
      h.raw("<a href=\"") << v.file_href + url_path(f.filename) << Safe{"\"><code>"} << f.filename
                          << Safe{"</code></a>"};
    else
      h.raw("<code>") << f.filename << Safe{"</code>"};
    if (!f.previous_filename.empty() && f.previous_filename != f.filename)
      h.raw(" <span class=\"muted\">from ") << f.previous_filename << Safe{"</span>"};
    h.raw(" <span class=\"muted\">+")
        << static_cast<uint64_t>(f.additions) << " −" << static_cast<uint64_t>(f.deletions)
        << Safe{"</span></div>"};
    if (f.binary) {
      h.raw("<div class=\"body note\">Binary file not shown.</div></div>");
      continue;
    }
    if (f.patch.empty()) {
      h.raw("<div class=\"body note\">No textual change shown.</div></div>");
      continue;
    }
    if (total >= v.max_total_lines) {
      cut_note(h, v, "Not shown: the diff is too large.");
      h.raw("</div>");
      continue;
    }
    size_t budget = std::min(v.max_lines_per_file, v.max_total_lines - total);
    ParsedPatch p = parse_patch(f.patch, budget);
    total += p.lines.size();
    if (v.mode == DiffMode::kSplit)
      split(h, v, f, index, p);
    else
      unified(h, v, f, index, p);
    if (p.truncated) cut_note(h, v, "Diff truncated.");
    h.raw("</div>");
  }
  if (files_cut) cut_note(h, v, "Only the first files are shown.");
}

}  // namespace guts::web
