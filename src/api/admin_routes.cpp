// The node operator's routes (api/admin_routes.h).
#include "api/admin_routes.h"

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "core/status.h"

namespace guts::api {

namespace {

// POST /api/guts/admin/backup
void backup(AdminHooks& hooks, Request& req, Responder respond) {
  if (!hooks.backup) {
    respond(error_response(404, "Not Found"));
    return;
  }
  std::string out;
  bool include_keys = false;
  try {
    auto j = nlohmann::json::parse(req.body);
    if (!j.is_object() || !j.contains("out") || !j["out"].is_string())
      throw Error(Code::kInvalidArgument, "out: a string (an absolute directory path) is required");
    out = j["out"].get<std::string>();
    if (j.contains("include_keys")) {
      if (!j["include_keys"].is_boolean())
        throw Error(Code::kInvalidArgument, "include_keys: must be a boolean");
      include_keys = j["include_keys"].get<bool>();
    }
  } catch (const nlohmann::json::exception&) {
    respond(error_response(400, "Problems parsing JSON"));
    return;
  } catch (const Error& e) {
    respond(status_response(e.status()));
    return;
  }
  if (out.empty() || out.front() != '/' || out.size() > 4096) {
    respond(status_response({Code::kInvalidArgument, "out: must be an absolute path"}));
    return;
  }
  hooks.backup(out, include_keys,
               [respond = std::move(respond)](const Status& st, const std::string& summary) {
                 respond(st.ok() ? Response::json(200, summary) : status_response(st));
               });
}

const RouteSpec<AdminHooks> kAdminRoutes[] = {
    {"POST", "/api/guts/admin/backup", "admin", &backup},
};

}  // namespace

void add_admin_routes(Router& router, AdminHooks hooks) {
  add_routes(router, std::make_shared<AdminHooks>(std::move(hooks)), "", kAdminRoutes);
}

}  // namespace guts::api
