// The job page's log (docs/web.md "Job page"): a job's numbered log lines as HTML, grouped by
// step. Pure (no services), so the markup test covers it; the job log script (web/assets.cpp)
// applies the same rules to the lines that arrive over the WebSocket, so a page rendered here
// and then followed live looks the same as one rendered at the end.
//
// Rules, for each line in order (numbers and groups as api/job_log_live.h makes them):
//   "##[group]Name"   starts a section: <details class="log-group" open data-group="Name">
//                     whose <summary id="L<n>"> is the line (its number, then Name);
//   "##[endgroup]"    ends the section (no row: the line keeps its number, nothing shows);
//   any other line    a row <tr id="L<n>"><td class="ln"><a href="#L<n>">n</a></td>
//                     <td class="lt">text</td></tr> of the open section, or of a new one when
//                     none is open or its group differs (<div class="log-group"> for lines
//                     outside any group); "##[error]" and "##[warning]" lines lose the marker
//                     and get the class log-err / log-warn.
// Every text goes through escape(): a log line is never markup.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "web/html.h"

namespace guts::web {

struct LogRow {
  uint64_t number = 0;
  std::string time;   // the runner's timestamp ("2026-…Z"), empty when the line had none
  std::string group;  // the step group the line belongs to ("" outside any)
  std::string text;
};

class LogView {
 public:
  // Appends a line; lines must come in increasing numbers (others are ignored).
  void add(const LogRow& row);
  // The markup of the lines added so far (the open section closed).
  std::string html() const;
  // The last line number added (0: none): where a follower resumes (?line=).
  uint64_t last() const { return last_; }
  // Whether a section is open (the next line of its group joins it), as the script reads it
  // from data-open.
  bool open() const { return open_; }
  // The line that starts each group (its "##[group]" marker), by name: the first one.
  const std::map<std::string, uint64_t>& groups() const { return groups_; }

 private:
  void close();
  void start(const std::string& group, uint64_t marker);

  Html h_;
  bool open_ = false;
  bool details_ = false;
  std::string group_;
  uint64_t last_ = 0;
  std::map<std::string, uint64_t> groups_;
};

}  // namespace guts::web
