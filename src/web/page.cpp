#include "web/page.h"

#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "api/errors.h"
#include "api/notifications.h"
#include "core/time.h"
#include "crypto/did.h"
#include "web/assets.h"

namespace guts::web {

namespace {
// Where run_page puts who is signed in (the header is the page's first markup, so the first
// occurrence is always this one, never user content).
constexpr std::string_view kWhoSlot = "<!--who-->";

// The header's account links for the request's caller, with the unread notification count.
std::string who_nav(WebEnv& env, const api::Request& req) {
  Html h;
  if (!req.principal.authenticated) {
    h.raw("<a href=\"/-/signin\">Sign in</a>");
    return h.take();
  }
  std::string name = req.principal.username.empty() ? req.principal.did.substr(0, 24) + "…"
                                                    : req.principal.username;
  h.raw("<a class=\"me\" href=\"/") << url_path(req.principal.username);
  h.raw("\">") << name << Safe{"</a>"};
  if (env.notifications)
    if (auto me = crypto::parse_did(req.principal.did)) {
      h.raw(
          "<a href=\"/notifications\" id=\"notif-link\">Notifications <span id=\"notif-count\" "
          "class=\"count\">")
          << static_cast<uint64_t>(env.notifications->unread_count(*me)) << Safe{"</span></a>"};
    }
  if (!api::session_id(req.principal).empty()) {
    h.raw("<a href=\"/-/sessions\">Sessions</a>");
    post_button(h, req, "/-/signout", "Sign out");
  }
  return h.take();
}
}  // namespace

void security_headers(api::Headers& h, const char* csp) {
  h.set("Content-Security-Policy", csp);
  h.set("X-Content-Type-Options", "nosniff");
  h.set("X-Frame-Options", "DENY");
  h.set("Referrer-Policy", "same-origin");
}

api::Response page(WebEnv& env, int status, std::string_view title, const Html& body) {
  auto head = env.svc.chain().head();
  auto ns = env.svc.node_status();
  uint64_t network_height = std::max(ns.network_height, head.height);
  const std::string& chain = env.svc.chain().genesis().chain_id;
  Html h;
  h.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
          .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
          .raw("<link rel=\"icon\" href=\"data:,\">")
          .raw("<title>")
      << title;
  h.raw(" · Guts</title><link rel=\"stylesheet\" href=\"") << stylesheet_path();
  h.raw("\"><script src=\"") << live_script_path();
  h.raw("\" defer></script></head>\n<body data-height=\"") << head.height;
  h.raw("\"><header class=\"top\"><a href=\"/\">Guts</a><span class=\"node\">") << chain;
  h.raw(
      "</span><nav><a href=\"/\">Repositories</a><a href=\"/network\">Network</a>"
      "<!--who--></nav>"
      "<form class=\"search\" action=\"/search\" method=\"get\" role=\"search\">"
      "<input type=\"search\" name=\"q\" placeholder=\"Search\" aria-label=\"Search\"></form>"
      "</header>\n<main>");
  h << Safe{body.str()};
  h.raw("</main>\n<footer>Height <span id=\"live-height\">") << head.height << Safe{"</span>"};
  if (network_height > head.height) h.raw(" of ") << network_height;
  h.raw(" · ") << ns.role;
  h.raw(
      " node · <a href=\"/network\">network</a> · <a href=\"/api/guts/status\">status "
      "(JSON)</a></footer>\n</body></html>\n");
  api::Response r;
  r.status = status;
  r.body = h.take();
  r.headers.set("Content-Type", "text/html; charset=utf-8");
  r.headers.set("Cache-Control", "no-cache");
  security_headers(r.headers);
  return r;
}

namespace {
const char* reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Sign-in required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Too Large";
    case 422:
      return "Unprocessable";
    case 429:
      return "Too Many Requests";
    case 503:
      return "Service Unavailable";
    default:
      return status >= 500 ? "Server Error" : "Error";
  }
}
}  // namespace

api::Response error_page(WebEnv& env, int status, std::string_view message) {
  Html b;
  b.raw("<div class=\"err\"><div class=\"code\">") << status;
  b.raw("</div><h1>") << reason(status);
  b.raw("</h1><p class=\"muted\">");
  if (status == 404)
    b << "This page does not exist, or you do not have access to it.";
  else if (status >= 500)
    b << "Something went wrong on this node. Try again later.";
  else if (!message.empty())
    b << message;
  b.raw("</p><p><a href=\"/\">Back to the repositories</a></p></div>");
  return page(env, status, reason(status), b);
}

bool wants_html(std::string_view accept) {
  return accept.find("text/html") != std::string_view::npos ||
         accept.find("application/xhtml+xml") != std::string_view::npos;
}

std::function<void(std::string_view, std::string_view, api::Response&)> error_page_hook(
    std::shared_ptr<WebEnv> env) {
  return [env](std::string_view path, std::string_view accept, api::Response& r) {
    if (r.status < 400 || !wants_html(accept)) return;
    if (path == "/api" || path.rfind("/api/", 0) == 0) return;  // API clients keep JSON
    auto type = r.headers.get("Content-Type").value_or("");
    if (type.rfind("application/json", 0) != 0) return;
    std::string message;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("message") && j["message"].is_string())
      message = j["message"].get<std::string>();
    api::Response html = error_page(*env, r.status, message);
    for (const auto& [name, value] : r.headers.items()) {
      if (name == "Content-Type" || name == "Content-Length") continue;
      if (!html.headers.get(name)) html.headers.add(name, value);
    }
    r = std::move(html);
  };
}

void send(api::Exchange& ex, api::Response r) {
  r.headers.set("Content-Length", std::to_string(r.body.size()));
  ex.begin_response(r.status, r.headers);
  if (!r.body.empty()) ex.write(r.body);
  ex.finish();
}

void run_page(WebEnv& env, api::Request& req, api::Exchange& ex, PageFn fn) {
  api::Response r;
  // Errors are HTML for browsers and the API's JSON for every other client (docs/errors.md).
  bool html = wants_html(req.headers.get("Accept").value_or(""));
  try {
    r = fn(env, req);
  } catch (const Error& e) {
    int status = api::http_status(e.code());
    r = html ? error_page(env, status,
                          status >= 500 ? std::string_view{} : std::string_view(e.what()))
             : api::status_response(e.status());
  } catch (const std::exception&) {
    r = html ? error_page(env, 500) : api::error_response(500, "Internal Server Error");
  }
  if (auto at = r.body.find(kWhoSlot); at != std::string::npos)
    r.body.replace(at, kWhoSlot.size(), who_nav(env, req));
  send(ex, std::move(r));
}

api::Response see_other(std::string location) {
  api::Response r = redirect(std::move(location));
  r.status = 303;
  return r;
}

std::string form_csrf(const api::Request& req) {
  auto c = api::cookie(req, api::kSessionCookie);
  if (!c || c->empty()) c = api::cookie(req, api::kPreSessionCookie);
  return c && !c->empty() ? api::csrf_token(*c) : std::string();
}

void csrf_field(Html& h, const api::Request& req) {
  h.raw("<input type=\"hidden\" name=\"csrf\" value=\"") << form_csrf(req) << Safe{"\">"};
}

void post_button(Html& h, const api::Request& req, std::string_view action, std::string_view label,
                 std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  h.raw("<form class=\"inline\" method=\"post\" action=\"") << action << Safe{"\">"};
  csrf_field(h, req);
  for (const auto& [name, value] : fields)
    h.raw("<input type=\"hidden\" name=\"") << name << Safe{"\" value=\""} << value << Safe{"\">"};
  h.raw("<button type=\"submit\">") << label << Safe{"</button></form>"};
}

api::Response redirect(std::string location) {
  api::Response r;
  r.status = 302;
  r.headers.set("Location", std::move(location));
  r.headers.set("Content-Type", "text/plain; charset=utf-8");
  security_headers(r.headers);
  return r;
}

size_t page_number(const api::Request& req) {
  auto p = req.query_param("page").value_or("1");
  size_t n = 0;
  for (char c : p) {
    if (c < '0' || c > '9' || n > 100000) return 1;
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  return n == 0 ? 1 : n;
}

}  // namespace guts::web
