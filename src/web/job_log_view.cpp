// The job page's log markup (web/job_log_view.h).
#include "web/job_log_view.h"

namespace guts::web {

namespace {
constexpr std::string_view kGroup = "##[group]";
constexpr std::string_view kEndGroup = "##[endgroup]";
constexpr std::string_view kError = "##[error]";
constexpr std::string_view kWarning = "##[warning]";
}  // namespace

void LogView::close() {
  if (!open_) return;
  h_.raw(details_ ? "</tbody></table></details>" : "</tbody></table></div>");
  open_ = false;
}

void LogView::start(const std::string& group, uint64_t marker) {
  close();
  details_ = marker != 0 || !group.empty();
  h_.raw(details_ ? "<details class=\"log-group\" open data-group=\""
                  : "<div class=\"log-group\" data-group=\"")
      << group << Safe{"\">"};
  if (marker != 0) {
    std::string id = "L" + std::to_string(marker);
    h_.raw("<summary id=\"") << id << Safe{"\"><a class=\"ln\" href=\"#"} << id;
    h_.raw("\">") << marker << Safe{"</a> "} << group << Safe{"</summary>"};
  } else if (details_) {
    h_.raw("<summary>") << group << Safe{"</summary>"};
  }
  h_.raw("<table class=\"code log\"><tbody>");
  open_ = true;
  group_ = group;
}

void LogView::add(const LogRow& row) {
  if (row.number <= last_) return;
  last_ = row.number;
  std::string_view text = row.text;
  if (text.starts_with(kGroup)) {
    start(row.group, row.number);
    groups_.emplace(row.group, row.number);
    return;
  }
  if (text == kEndGroup) {
    close();
    return;
  }
  if (!open_ || group_ != row.group) start(row.group, 0);
  const char* cls = "";
  if (text.starts_with(kError)) {
    cls = " class=\"log-err\"";
    text.remove_prefix(kError.size());
  } else if (text.starts_with(kWarning)) {
    cls = " class=\"log-warn\"";
    text.remove_prefix(kWarning.size());
  }
  std::string id = "L" + std::to_string(row.number);
  h_.raw("<tr id=\"") << id << Safe{"\""} << Safe{cls} << Safe{"><td class=\"ln\"><a href=\"#"}
                      << id << Safe{"\""};
  if (!row.time.empty()) h_.raw(" title=\"") << row.time << Safe{"\""};
  h_.raw(">") << row.number << Safe{"</a></td><td class=\"lt\">"} << text << Safe{"</td></tr>"};
}

std::string LogView::html() const {
  std::string out = h_.str();
  if (open_) out += details_ ? "</tbody></table></details>" : "</tbody></table></div>";
  return out;
}

}  // namespace guts::web
