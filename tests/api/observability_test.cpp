// The server's completion hook (ServerOptions::on_request_done), request ids, the HTTP metrics
// and access log of api/metrics_routes.h, and the readiness rule.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "api/http_server.h"
#include "api/metrics_routes.h"
#include "api/request_id.h"
#include "api/router.h"
#include "cli/http_client.h"

namespace guts::api {
namespace {

using namespace std::chrono_literals;

struct Recorded {
  std::mutex mu;
  std::vector<RequestRecord> records;
  size_t size() {
    std::lock_guard l(mu);
    return records.size();
  }
  RequestRecord at(size_t i) {
    std::lock_guard l(mu);
    return records.at(i);
  }
};

bool eventually(const std::function<bool()>& f) {
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(5ms))
    if (f()) return true;
  return f();
}

struct RequestHook : ::testing::Test {
  std::shared_ptr<Router> router = std::make_shared<Router>();
  std::shared_ptr<metrics::Registry> registry = std::make_shared<metrics::Registry>();
  Recorded rec;
  std::unique_ptr<HttpServer> server;

  void SetUp() override {
    router->add("GET", "/items/{id}", "public", [](Request& req, Responder respond) {
      respond(Response::text(200, "id=" + req.request_id));
    });
    router->add("POST", "/items", "public", [](Request& req, Responder respond) {
      respond(Response::text(201, std::to_string(req.body.size())));
    });
    router->add_streaming("POST", "/{owner}/stream", "public", [](Request&, Exchange& ex) {
      uint8_t buf[1024];
      size_t total = 0;
      while (size_t n = ex.read_body(buf, sizeof buf)) total += n;
      Headers h;
      ex.begin_response(200, h);
      ex.write(std::string(total * 2, 'x'));
      ex.finish();
    });
    ServerOptions opt;
    opt.port = 0;
    auto hook = request_hook(registry, /*access_log=*/false);
    opt.on_request_done = [this, hook](const RequestRecord& r) {
      hook(r);
      std::lock_guard l(rec.mu);
      rec.records.push_back(r);
    };
    server = std::make_unique<HttpServer>(opt, router, std::vector<Middleware>{});
    server->start();
  }
  cli::HttpClient client() {
    return cli::HttpClient("http://127.0.0.1:" + std::to_string(server->port()));
  }
};

TEST_F(RequestHook, BufferedRequestIsRecordedByPatternWithItsId) {
  auto c = client();
  c.set_header("X-Request-Id", "client-id.42");
  auto r = c.get("/items/42?token=secret");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("X-Request-Id"), "client-id.42");
  EXPECT_EQ(r.body, "id=client-id.42");
  ASSERT_TRUE(eventually([&] { return rec.size() == 1; }));
  auto x = rec.at(0);
  EXPECT_EQ(x.method, "GET");
  EXPECT_EQ(x.route, "/items/{id}");
  EXPECT_EQ(x.path, "/items/42");
  EXPECT_EQ(x.status, 200);
  EXPECT_EQ(x.request_id, "client-id.42");
  EXPECT_EQ(x.bytes_out, r.body.size());
  EXPECT_EQ(x.remote_address, "127.0.0.1");
  auto line = access_log_line(x);
  EXPECT_EQ(line.find("secret"), std::string::npos) << line;
  EXPECT_NE(line.find("\"GET /items/42\" 200 route=/items/{id}"), std::string::npos) << line;

  auto text = registry->render();
  EXPECT_NE(
      text.find("guts_http_requests_total{method=\"GET\",route=\"/items/{id}\",status=\"2xx\"} 1"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("guts_http_request_duration_seconds_count{route=\"/items/{id}\"} 1"),
            std::string::npos);
}

TEST_F(RequestHook, BadOrMissingIdsAreReplaced) {
  auto c = client();
  auto a = c.get("/items/1").header("X-Request-Id");
  auto b = c.get("/items/1").header("X-Request-Id");
  EXPECT_FALSE(a.empty());
  EXPECT_NE(a, b);
  c.set_header("X-Request-Id", "has spaces and \"quotes\"");
  auto d = c.get("/items/1").header("X-Request-Id");
  EXPECT_FALSE(d.empty());
  EXPECT_EQ(d.find(' '), std::string::npos);
  c.set_header("X-Request-Id", std::string(kMaxRequestIdLength + 1, 'a'));
  EXPECT_EQ(c.get("/items/1").header("X-Request-Id").size(), new_request_id().size());
}

TEST_F(RequestHook, UnmatchedAndStreamingRequestsAreRecorded) {
  auto c = client();
  EXPECT_EQ(c.get("/nowhere/at/all").status, 404);
  auto post = c.post("/items", "abcd", "text/plain");
  EXPECT_EQ(post.status, 201);
  auto s = c.post("/alice/stream", std::string(1000, 'y'), "application/octet-stream");
  EXPECT_EQ(s.status, 200);
  EXPECT_FALSE(s.header("X-Request-Id").empty());
  ASSERT_TRUE(eventually([&] { return rec.size() == 3; }));
  EXPECT_EQ(rec.at(0).route, "unmatched");
  EXPECT_EQ(rec.at(0).status, 404);
  EXPECT_EQ(rec.at(1).route, "/items");
  EXPECT_EQ(rec.at(1).bytes_in, 4u);
  EXPECT_EQ(rec.at(2).route, "/{owner}/stream");
  EXPECT_EQ(rec.at(2).status, 200);
  EXPECT_EQ(rec.at(2).bytes_in, 1000u);
  EXPECT_EQ(rec.at(2).bytes_out, 2000u);
  EXPECT_EQ(rec.at(2).request_id, s.header("X-Request-Id"));
  auto text = registry->render();
  EXPECT_NE(text.find("route=\"unmatched\",status=\"4xx\"} 1"), std::string::npos) << text;
}

TEST(Observability, AcceptRequestId) {
  EXPECT_EQ(accept_request_id("abc-DEF_1.2:3@x/y+z="), "abc-DEF_1.2:3@x/y+z=");
  EXPECT_FALSE(accept_request_id(""));
  EXPECT_FALSE(accept_request_id("a b"));
  EXPECT_FALSE(accept_request_id("a\nb"));
  EXPECT_FALSE(accept_request_id(std::string(kMaxRequestIdLength + 1, 'a')));
  EXPECT_TRUE(accept_request_id(std::string(kMaxRequestIdLength, 'a')));
  EXPECT_NE(new_request_id(), new_request_id());
}

TEST(Observability, AccessLogLineEscapesControlCharacters) {
  RequestRecord r;
  r.method = "GET";
  r.route = "unmatched";
  r.path = "/a\nfake \"line\"";
  r.status = 404;
  r.request_id = "x";
  auto line = access_log_line(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("\"GET /a%0Afake %22line%22\" 404 route=unmatched"), std::string::npos)
      << line;
}

TEST(Observability, Readiness) {
  ReadinessInput in;
  in.consensus_running = true;
  in.height = 10;
  in.network_height = 12;
  in.max_lag = 5;
  EXPECT_TRUE(evaluate_readiness(in).ready);
  in.network_height = 16;
  auto r = evaluate_readiness(in);
  EXPECT_FALSE(r.ready);
  ASSERT_EQ(r.reasons.size(), 1u);
  EXPECT_NE(r.reasons[0].find("behind the network by 6 blocks"), std::string::npos);
  in.network_height = 10;
  in.needs_peers = true;
  EXPECT_FALSE(evaluate_readiness(in).ready);
  in.peers = 1;
  EXPECT_TRUE(evaluate_readiness(in).ready);
  in.height = in.network_height = 0;
  EXPECT_TRUE(evaluate_readiness(in).ready);  // a new, idle network
  in.height = in.network_height = 3;
  in.consensus_running = false;
  EXPECT_FALSE(evaluate_readiness(in).ready);
}

}  // namespace
}  // namespace guts::api
