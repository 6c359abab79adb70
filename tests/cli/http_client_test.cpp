#include "cli/http_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "api/http_server.h"
#include "api/router.h"
#include "core/net_addr.h"
#include "core/status.h"

namespace guts::cli {
namespace {

using namespace std::chrono_literals;
using api::Request;
using api::Responder;
using api::Response;

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto router = std::make_shared<api::Router>();
    router->add("GET", "/whoami", "public", [](Request& req, Responder r) {
      r(Response::text(200, req.headers.get("authorization").value_or("-")));
    });
    for (const char* m : {"POST", "PUT", "PATCH", "DELETE"}) {
      router->add(m, "/echo", "public", [](Request& req, Responder r) {
        Response resp = Response::text(
            200, req.method + " " + req.headers.get("content-type").value_or("-") + " " + req.body);
        resp.headers.add("X-Multi", "a");
        resp.headers.add("x-multi", "b");
        r(resp);
      });
    }
    router->add("GET", "/hang", "public", [this](Request&, Responder r) {
      std::lock_guard lk(mu_);
      hanging_.push_back(std::move(r));
    });
    api::ServerOptions opt;
    opt.port = 0;
    opt.shutdown_grace = 50ms;
    server_ = std::make_unique<api::HttpServer>(opt, router, std::vector<api::Middleware>{});
    server_->start();
    url_ = "http://127.0.0.1:" + std::to_string(server_->port()) + "/";
  }
  void TearDown() override {
    server_->stop();
    std::lock_guard lk(mu_);
    hanging_.clear();
  }

  std::unique_ptr<api::HttpServer> server_;
  std::string url_;
  std::mutex mu_;
  std::vector<Responder> hanging_;
};

TEST_F(HttpClientTest, MethodsBodiesHeadersAndToken) {
  HttpClient c(url_);
  EXPECT_EQ(c.base_url(), url_.substr(0, url_.size() - 1));
  auto r = c.get("/whoami");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "-");
  c.set_token("abc123");
  EXPECT_EQ(c.get("whoami").body, "token abc123");
  EXPECT_EQ(c.last_new_connections(), 0);

  r = c.post("/echo", R"({"a":1})");
  EXPECT_EQ(r.body, R"(POST application/json {"a":1})");
  EXPECT_EQ(r.header("X-MULTI"), "a, b");
  EXPECT_EQ(r.headers.count("Content-Type"), 1u);
  EXPECT_EQ(c.put("/echo", "x", "text/plain").body, "PUT text/plain x");
  EXPECT_EQ(c.patch("/echo", "").body, "PATCH application/json ");
  EXPECT_EQ(c.request("POST", "/echo", std::string_view()).body, "POST application/json ");
  EXPECT_EQ(c.del("/echo").body, "DELETE - ");
  EXPECT_EQ(c.request("POST", "/echo", std::string(3 << 20, 'z')).body.size(),
            std::string("POST application/json ").size() + (3 << 20));

  r = c.get("/missing");
  EXPECT_EQ(r.status, 404);  // statuses are returned, not thrown
}

TEST_F(HttpClientTest, ConnectionFailureAndTimeout) {
  // A port with nothing listening (picked free, then released).
  std::string dead = "http://127.0.0.1:" + std::to_string(pick_free_port());
  HttpClient c(dead);
  try {
    c.get("/");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("cannot reach node at " + dead + ": "), std::string::npos)
        << e.what();
  }

  HttpClient slow(url_);
  slow.set_timeout(300ms);
  try {
    slow.get("/hang");
    FAIL() << "expected a timeout";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kUnavailable);
  }
  // The client recovers on the next request.
  EXPECT_EQ(slow.get("/whoami").status, 200);
}

// set_max_response_bytes (guts migrate's untrusted sources): a larger body fails the request.
TEST_F(HttpClientTest, MaxResponseBytes) {
  HttpClient c(url_);
  c.set_max_response_bytes(1 << 20);
  EXPECT_EQ(c.post("/echo", "small").status, 200);
  try {
    c.post("/echo", std::string(3 << 20, 'z'));
    FAIL() << "expected kTooLarge";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kTooLarge) << e.what();
  }
  c.set_max_response_bytes(0);
  EXPECT_EQ(c.post("/echo", std::string(3 << 20, 'z')).status, 200);
}

}  // namespace
}  // namespace guts::cli
