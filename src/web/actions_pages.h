// The Actions tab: workflow runs, a run's jobs and steps, a job's page with its live log
// (actions_pages.cpp), registered in routes.cpp.
#pragma once

#include "api/http.h"
#include "web/page.h"

namespace guts::web {

api::Response actions_page(WebEnv& env, api::Request& req);  // GET .../actions?page=
api::Response run_page(WebEnv& env, api::Request& req);      // GET .../actions/runs/{id}
api::Response job_page(WebEnv& env, api::Request& req);      // GET .../actions/jobs/{id}
// GET .../actions/jobs/{id}/lines?line=N: the API's live log page (JSON) on a web path, so that
// the session cookie reads a private repository's job (the job log script polls it).
void job_lines(WebEnv& env, api::Request& req, api::Responder respond);
// POST .../actions/runs/{id}/cancel and .../rerun (forms with the CSRF token).
void cancel_run_form(WebEnv& env, api::Request& req, api::Responder respond);
void rerun_run_form(WebEnv& env, api::Request& req, api::Responder respond);

}  // namespace guts::web
