// POST /api/graphql (docs/api.md, "GraphQL"): the executor (executor.h) reading and writing
// through this node's REST routes. Each REST request it makes goes through the router and the
// ONE authentication/authorization middleware (api/auth.h) with the caller's credentials, so
// a GraphQL field can do exactly what the equivalent REST request may do: the same
// permissions, the same token scopes (a write needs `public_repo`, or `repo` on a private
// repository, as its REST route), the same signed transactions. The GraphQL request itself
// counts once against the REST rate limit (the middleware in front of every route).
//
// The route runs on a worker thread (collab::worker): the writes it makes wait for their block.
#include <chrono>
#include <cstring>
#include <future>

#include "api/auth.h"
#include "api/collab_common.h"
#include "api/errors.h"
#include "api/graphql/executor.h"
#include "api/http_parse.h"
#include "api/routes.h"

namespace guts::api {
namespace {

struct GraphqlEnv {
  Services& svc;
  const Router& router;
  std::vector<Middleware> auth;
};

// An exchange over an in-memory body that keeps the answer (for streaming sub-requests).
class MemoryExchange : public Exchange {
 public:
  explicit MemoryExchange(std::string body) : body_(std::move(body)) {}
  size_t read_body(uint8_t* buf, size_t n) override {
    size_t k = std::min(n, body_.size() - pos_);
    std::memcpy(buf, body_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  void begin_response(int status, const Headers& headers) override {
    out_.status = status;
    out_.headers = headers;
  }
  void write(std::string_view data) override {
    if (out_.body.size() + data.size() > kMaxBody) throw std::runtime_error("answer too large");
    out_.body.append(data);
  }
  void finish() override {}
  Response take() { return std::move(out_); }

 private:
  static constexpr size_t kMaxBody = 32 << 20;
  std::string body_;
  size_t pos_ = 0;
  Response out_{500, {}, ""};
};

class RestBackend : public graphql::Backend {
 public:
  RestBackend(GraphqlEnv& env, const Request& outer) : env_(env), outer_(outer) {}

  Result rest(std::string_view method, const std::string& target,
              const graphql::json& body) override {
    Response r = dispatch(method, target, body);
    Result out;
    out.status = r.status;
    out.body = graphql::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (out.body.is_discarded()) out.body = nullptr;
    return out;
  }

  std::optional<std::string> repo_full_name(uint64_t repo_id) override {
    auto view = env_.svc.chain().view();
    auto repo = view.repo(repo_id);
    if (!repo) return std::nullopt;
    auto owner = view.account(repo->owner);
    if (!owner) return std::nullopt;
    return owner->username + "/" + repo->name;
  }

 private:
  Response dispatch(std::string_view method, const std::string& target, const graphql::json& body) {
    auto parsed = parse_target(target);
    if (!parsed) return error_response(400, "Invalid request target");
    RouteMatch m = env_.router.match(method, parsed->raw_path);
    if (!m.found()) return error_response(404, "Not Found");
    Request sub;
    sub.method = std::string(method);
    sub.target = target;
    sub.path = parsed->path;
    sub.query = parsed->query;
    sub.remote_address = outer_.remote_address;
    sub.request_id = outer_.request_id;
    sub.params = std::move(m.params);
    sub.access = std::move(m.access);
    sub.route = m.pattern;
    for (const char* h : {"Authorization", "User-Agent"})
      if (auto v = outer_.headers.get(h)) sub.headers.set(h, *v);
    sub.headers.set("Accept", "application/vnd.github+json");
    if (!body.is_null()) {
      sub.body = body.dump();
      sub.headers.set("Content-Type", "application/json");
    }
    // Authentication and authorization: the middleware every route goes through.
    auto answer = std::make_shared<std::promise<Response>>();
    auto done = answer->get_future();
    Responder respond = [answer](Response r) {
      try {
        answer->set_value(std::move(r));
      } catch (const std::future_error&) {
      }
    };
    for (const auto& mw : env_.auth)
      if (mw(sub, respond)) return wait(done);
    if (m.streaming()) {
      MemoryExchange ex(sub.body);
      (*m.streaming_handler)(sub, ex);
      return ex.take();
    }
    try {
      (*m.handler)(sub, respond);
    } catch (const std::exception&) {
      respond(error_response(500, "Internal Server Error"));
    }
    return wait(done);
  }

  static Response wait(std::future<Response>& f) {
    if (f.wait_for(std::chrono::minutes(2)) != std::future_status::ready)
      return error_response(504, "The write did not complete in time");
    return f.get();
  }

  GraphqlEnv& env_;
  const Request& outer_;
};

// POST /api/graphql
Response graphql_endpoint(GraphqlEnv& env, Request& req) {
  RestBackend backend(env, req);
  graphql::json out = graphql::execute_request(req.body, backend);
  // GitHub answers 200 for execution errors; a request that could not run at all is 200 too
  // (with only "errors"), except malformed JSON.
  return json_response(200, out);
}

// GET /api/v3/: GitHub's API root (a map of URL templates). `gh auth status` reads the token's
// scopes from this answer's X-OAuth-Scopes header (set by the auth middleware).
void api_root(GraphqlEnv& env, Request& req, Responder respond) {
  const std::string api = env.svc.public_url() + "/api/v3";
  respond(json_response(200, json{{"current_user_url", api + "/user"},
                                  {"repository_url", api + "/repos/{owner}/{repo}"},
                                  {"user_url", api + "/users/{user}"},
                                  {"graphql_url", env.svc.public_url() + "/api/graphql"}}));
}

const RouteSpec<GraphqlEnv> kGraphqlRoutes[] = {
    {"GET", "/api/v3", "public", &api_root},
    {"POST", "/api/graphql", "user", nullptr, &collab::worker<GraphqlEnv, &graphql_endpoint>},
};

}  // namespace

void add_graphql_routes(Router& router, Services& services) {
  auto env =
      std::make_shared<GraphqlEnv>(GraphqlEnv{services, router, make_auth_middlewares(services)});
  add_routes(router, env, "", kGraphqlRoutes);
}

}  // namespace guts::api
