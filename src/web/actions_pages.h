// The Actions tab: workflow runs and a run's jobs and steps (actions_pages.cpp), registered in
// routes.cpp.
#pragma once

#include "api/http.h"
#include "web/page.h"

namespace guts::web {

api::Response actions_page(WebEnv& env, api::Request& req);  // GET .../actions?page=
api::Response run_page(WebEnv& env, api::Request& req);      // GET .../actions/runs/{id}
// POST .../actions/runs/{id}/cancel and .../rerun (forms with the CSRF token).
void cancel_run_form(WebEnv& env, api::Request& req, api::Responder respond);
void rerun_run_form(WebEnv& env, api::Request& req, api::Responder respond);

}  // namespace guts::web
