// The web interface's one stylesheet, compiled into the binary and served from memory at a URL
// that carries a hash of its content (/-/static/guts.<hash>.css), so that it can be cached for a
// year ("immutable") and a new build is fetched at once.
#pragma once

#include <string>
#include <string_view>

namespace guts::web {

std::string_view stylesheet();
const std::string& stylesheet_path();  // "/-/static/guts.<16 hex>.css"

// The live-update script (docs/web.md "Live updates"): follows /-/events and refreshes the
// regions of a page marked data-live. Same caching scheme as the stylesheet.
std::string_view live_script();
const std::string& live_script_path();  // "/-/static/live.<16 hex>.js"

// The job log script (docs/web.md "Job page"): on a job page whose job runs, follows the live
// log (WebSocket, or polling for a private repository) from the last line the page rendered
// and appends the lines as web/job_log_view.h renders them. Same caching scheme.
std::string_view job_log_script();
const std::string& job_log_script_path();  // "/-/static/joblog.<16 hex>.js"

}  // namespace guts::web
