#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include <atomic>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "api/http_server.h"
#include "api/router.h"
#include "cli/http_client.h"
#include "core/status.h"
#include "test_net.h"

namespace guts::api {
namespace {

using namespace std::chrono_literals;
using guts::cli::HttpClient;
using guts::testing::Event;
using guts::testing::in;
using guts::testing::parse_responses;
using guts::testing::RawConn;

constexpr char kNotFound[] =
    R"({"message":"Not Found","documentation_url":"https://docs.github.com/rest"})";

struct Server {
  std::shared_ptr<Router> router = std::make_shared<Router>();
  std::vector<Middleware> middlewares;
  ServerOptions opt;
  std::unique_ptr<HttpServer> server;

  Server() {
    opt.port = 0;
    opt.threads = 2;
    opt.streaming_threads = 4;
  }
  void start() {
    server = std::make_unique<HttpServer>(opt, router, middlewares);
    server->start();
  }
  uint16_t port() const { return server->port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  HttpClient client() const { return HttpClient(url()); }
};

Handler echo_params() {
  return [](Request& req, Responder respond) {
    std::string s;
    for (const auto& [k, v] : req.params) s += k + "=" + v + ";";
    s += "access=" + req.access + ";path=" + req.path + ";query=" + req.query;
    respond(Response::text(200, s));
  };
}

// A 64-bit FNV-1a over a byte stream.
struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void add(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  }
};

// Deterministic payload byte at offset i.
inline uint8_t payload_byte(uint64_t i) {
  return static_cast<uint8_t>((i * 2654435761u) >> 13);
}

std::string payload(uint64_t offset, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(payload_byte(offset + i));
  return s;
}

TEST(HttpServer, RoutingParamsCatchAllAnd404And405) {
  Server s;
  s.router->add("GET", "/api/v3/repos/{owner}/{repo}", "repo:read", echo_params());
  s.router->add("GET", "/api/v3/repos/{owner}/{repo}/contents/{path...}", "repo:read",
                echo_params());
  s.router->add("POST", "/api/v3/repos/{owner}/{repo}", "repo:admin", echo_params());
  s.router->add("GET", "/{owner}/{repo}/info/refs", "repo:read", echo_params());
  s.start();
  auto c = s.client();

  auto r = c.get("/api/v3/repos/alice/my%20proj?per_page=5");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "owner=alice;repo=my proj;access=repo:read;path=/api/v3/repos/alice/my "
            "proj;query=per_page=5");
  EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
  EXPECT_EQ(r.header("server"), "guts");
  EXPECT_FALSE(r.header("date").empty());

  r = c.get("/api/v3/repos/alice/proj/contents/docs/a/b.md");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("path=docs/a/b.md;"), std::string::npos) << r.body;

  r = c.get("/alice/proj.git/info/refs?service=git-upload-pack");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("repo=proj.git;"), std::string::npos) << r.body;

  r = c.get("/api/v3/nothing/here");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, kNotFound);
  EXPECT_EQ(r.header("content-type"), "application/json; charset=utf-8");

  r = c.del("/api/v3/repos/alice/proj");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "GET, HEAD, POST");
  EXPECT_NE(r.body.find("\"message\":\"Method Not Allowed\""), std::string::npos);

  // HEAD is answered by the GET route, without a body but with its length
  r = c.head("/api/v3/repos/alice/proj");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  EXPECT_NE(r.header("content-length"), "0");

  // A bad escape or a dot segment never reaches a handler
  RawConn raw(s.port());
  raw.send("GET /api/v3/repos/a/%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string acc;
  EXPECT_TRUE(raw.wait_closed(in(5s), &acc));
  EXPECT_EQ(acc.rfind("HTTP/1.1 400 ", 0), 0u) << acc;
}

TEST(HttpServer, KeepAliveAndPipelining) {
  Server s;
  std::atomic<int> calls{0};
  s.router->add("GET", "/n", "public",
                [&](Request&, Responder r) { r(Response::text(200, std::to_string(++calls))); });
  s.router->add("POST", "/echo", "public",
                [](Request& req, Responder r) { r(Response::text(200, req.body)); });
  s.start();

  auto c = s.client();
  EXPECT_EQ(c.get("/n").status, 200);
  EXPECT_EQ(c.last_new_connections(), 1);
  EXPECT_EQ(c.post("/echo", "hello").body, "hello");
  EXPECT_EQ(c.last_new_connections(), 0);  // reused
  EXPECT_EQ(c.get("/n").body, "2");
  EXPECT_EQ(c.last_new_connections(), 0);

  // Two requests (one with a body) sent in one write on one connection: answered in order.
  RawConn raw(s.port());
  ASSERT_TRUE(raw.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
      "GET /n HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
  std::string acc;
  ASSERT_TRUE(raw.read_until(
      acc, [](const std::string& a) { return parse_responses(a).size() >= 3; }, in(5s)));
  auto rs = parse_responses(acc);
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].body, "first");
  EXPECT_EQ(rs[1].body, "3");
  EXPECT_EQ(rs[2].body, "abc");
  // HTTP/1.0 without keep-alive: answered, then closed.
  ASSERT_TRUE(raw.send("GET /n HTTP/1.0\r\n\r\n"));
  acc.clear();
  EXPECT_TRUE(raw.wait_closed(in(5s), &acc));
  EXPECT_EQ(parse_responses(acc).at(0).body, "4");
}

TEST(HttpServer, BodyLimit413) {
  Server s;
  s.opt.max_body_bytes = 1024;
  s.router->add("POST", "/echo", "public",
                [](Request& req, Responder r) { r(Response::text(200, req.body)); });
  s.start();
  auto c = s.client();
  EXPECT_EQ(c.post("/echo", std::string(1024, 'a')).status, 200);
  auto r = c.post("/echo", std::string(2000, 'a'));
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find(R"("message":"Request body too large")"), std::string::npos) << r.body;

  // Chunked body that grows past the limit: 413 and the connection closes.
  RawConn raw(s.port());
  std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) req += "1f4\r\n" + std::string(500, 'b') + "\r\n";
  raw.send(req);
  std::string acc;
  EXPECT_TRUE(raw.wait_closed(in(5s), &acc));
  EXPECT_EQ(acc.rfind("HTTP/1.1 413 ", 0), 0u) << acc;
}

TEST(HttpServer, GarbageGets400AndHugeHeader431) {
  Server s;
  s.opt.max_header_bytes = 8 << 10;
  s.router->add("GET", "/", "public", [](Request&, Responder r) { r(Response::text(200, "ok")); });
  s.start();
  {
    RawConn raw(s.port());
    raw.send("THIS IS NOT HTTP\r\n\r\n");
    std::string acc;
    EXPECT_TRUE(raw.wait_closed(in(5s), &acc));
    EXPECT_EQ(acc.rfind("HTTP/1.1 400 ", 0), 0u) << acc;
    EXPECT_NE(acc.find("\"message\""), std::string::npos);
  }
  {
    RawConn raw(s.port());
    raw.send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
    std::string acc;
    EXPECT_TRUE(raw.wait_closed(in(5s), &acc));
    EXPECT_EQ(acc.rfind("HTTP/1.1 400 ", 0), 0u) << acc;
  }
  {
    RawConn raw(s.port());
    raw.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16 << 10, 'x') + "\r\n\r\n");
    std::string acc;
    EXPECT_TRUE(raw.wait_closed(in(5s), &acc));
    EXPECT_EQ(acc.rfind("HTTP/1.1 431 ", 0), 0u) << acc;
  }
  // still serving
  EXPECT_EQ(s.client().get("/").body, "ok");
}

TEST(HttpServer, DelayedResponderDoesNotBlockOtherConnections) {
  Server s;
  s.opt.threads = 1;  // even with a single I/O thread
  Event slow_received;
  std::vector<std::thread> workers;
  std::mutex mu;
  s.router->add("GET", "/slow", "public", [&](Request& req, Responder respond) {
    std::lock_guard lk(mu);
    workers.emplace_back([respond, path = req.path] {
      std::this_thread::sleep_for(200ms);  // the "work" (e.g. waiting for a block)
      respond(Response::text(200, "slow"));
      respond(Response::text(500, "second answer is ignored"));
    });
    slow_received.set();
  });
  s.router->add("GET", "/fast", "public",
                [](Request&, Responder r) { r(Response::text(200, "fast")); });
  s.start();

  std::atomic<int> order{0};
  int slow_done = 0, fast_done = 0;
  auto t0 = guts::testing::Clock::now();
  std::string slow_body;
  std::thread a([&] {
    auto c = s.client();
    slow_body = c.get("/slow").body;
    slow_done = ++order;
  });
  ASSERT_TRUE(slow_received.wait(5s));
  auto c = s.client();
  EXPECT_EQ(c.get("/fast").body, "fast");
  fast_done = ++order;
  a.join();
  EXPECT_EQ(slow_body, "slow");
  EXPECT_EQ(fast_done, 1);
  EXPECT_EQ(slow_done, 2);
  EXPECT_GE(guts::testing::Clock::now() - t0, 200ms);
  std::lock_guard lk(mu);
  for (auto& w : workers) w.join();
}

TEST(HttpServer, ResponderDroppedGives500AndConnectionSurvives) {
  Server s;
  s.router->add("GET", "/drop", "public", [](Request&, Responder) {});
  s.router->add("GET", "/throw", "public",
                [](Request&, Responder) { throw Error(Code::kNotFound, "no such thing"); });
  s.router->add("GET", "/crash", "public",
                [](Request&, Responder) -> void { throw std::runtime_error("disk on fire"); });
  s.router->add("GET", "/twice", "public", [](Request&, Responder r) {
    r(Response::text(201, "one"));
    r(Response::text(202, "two"));
  });
  s.start();
  auto c = s.client();
  auto r = c.get("/drop");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("Internal Server Error"), std::string::npos);
  r = c.get("/throw");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("no such thing"), std::string::npos);
  // Any other exception: a 500 that tells the client nothing, and its text in the node's log.
  std::ostringstream logged;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(logged)));
  r = c.get("/crash");
  spdlog::set_default_logger(previous);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("disk on fire"), std::string::npos);
  EXPECT_NE(logged.str().find("a handler failed: disk on fire"), std::string::npos) << logged.str();
  r = c.get("/twice");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "one");
  EXPECT_EQ(c.get("/twice").body, "one");
  EXPECT_EQ(c.last_new_connections(), 0);
}

TEST(HttpServer, MiddlewaresRunInOrderAndCanAnswer) {
  Server s;
  s.middlewares.push_back([](Request& req, const Responder& respond) {
    auto auth = req.headers.get("authorization");
    if (!auth) return false;
    if (*auth != "token good") {
      respond(Response::json(401, R"({"message":"Bad credentials"})"));
      return true;
    }
    req.principal.authenticated = true;
    req.principal.username = "alice";
    return false;
  });
  s.middlewares.push_back([](Request& req, const Responder& respond) {
    if (req.access == "user" && !req.principal.authenticated) {
      respond(Response::json(401, R"({"message":"Requires authentication"})"));
      return true;
    }
    return false;
  });
  s.router->add("GET", "/user", "user",
                [](Request& req, Responder r) { r(Response::text(200, req.principal.username)); });
  s.router->add_streaming("POST", "/upload", "user", [](Request& req, Exchange& ex) {
    Headers h;
    h.set("Content-Length", std::to_string(req.principal.username.size()));
    ex.begin_response(200, h);
    ex.write(req.principal.username);
    ex.finish();
  });
  s.start();
  auto c = s.client();
  EXPECT_EQ(c.get("/user").status, 401);
  c.set_token("bad");
  EXPECT_EQ(c.get("/user").body, R"({"message":"Bad credentials"})");
  c.set_token("good");
  auto r = c.get("/user");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "alice");
  EXPECT_EQ(c.post("/upload", "data").body, "alice");
  c.set_token("");
  EXPECT_EQ(c.post("/upload", "data").status, 401);
}

// Streams a large upload through Exchange with Content-Length and 100-continue. Memory stays
// bounded: while the handler pauses, the client's sends stall (back-pressure) instead of the
// server buffering the rest; without sanitizers, RSS growth is checked too. The body arrives
// in large reads (a connection buffer sized for request heads once made every read 512 bytes).
TEST(HttpServer, StreamingUpload50MBBoundedMemory) {
  Server s;
  constexpr uint64_t kSize = 50ull << 20;
  constexpr uint64_t kPauseAt = 1 << 20;
  std::atomic<uint64_t> reads{0};
  std::atomic<size_t> max_rss_growth{0};
  std::atomic<uint64_t> read_before_pause{0};
  Event paused, resume;
  s.router->add_streaming(
      "POST", "/{owner}/{repo}/git-receive-pack", "repo:write", [&](Request& req, Exchange& ex) {
        size_t base = guts::testing::rss_bytes();
        std::vector<uint8_t> buf(64 << 10);
        uint64_t total = 0;
        Fnv fnv;
        int iter = 0;
        while (size_t n = ex.read_body(buf.data(), buf.size())) {
          ++reads;
          fnv.add(buf.data(), n);
          total += n;
          if (total >= kPauseAt && !paused.is_set()) {
            read_before_pause = total;
            paused.set();
            if (!resume.wait(30s)) throw Error(Code::kInternal, "test: never resumed");
          }
          if (++iter % 64 == 0) {
            size_t now = guts::testing::rss_bytes();
            if (now > base && now - base > max_rss_growth) max_rss_growth = now - base;
          }
        }
        std::string out =
            req.param("repo") + " " + std::to_string(total) + " " + std::to_string(fnv.h);
        Headers h;
        h.set("Content-Type", "text/plain");
        ex.begin_response(200, h);  // chunked
        ex.write(out);
        ex.finish();
      });
  s.router->add("GET", "/ping", "public",
                [](Request&, Responder r) { r(Response::text(200, "pong")); });
  s.start();

  RawConn raw(s.port());
  ASSERT_TRUE(raw.send("POST /a/b.git/git-receive-pack HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                       std::to_string(kSize) + "\r\nExpect: 100-continue\r\n\r\n"));
  std::string acc;
  ASSERT_TRUE(raw.read_until(
      acc, [](const std::string& a) { return a.find("\r\n\r\n") != std::string::npos; }, in(5s)));
  EXPECT_EQ(acc, "HTTP/1.1 100 Continue\r\n\r\n");
  acc.clear();

  Fnv expect;
  std::string chunk;
  uint64_t sent = 0;
  auto next_chunk = [&] {
    chunk = payload(sent, std::min<uint64_t>(256 << 10, kSize - sent));
    expect.add(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size());
  };
  // Phase 1: non-blocking sends until the handler has paused and the pipe is full.
  ASSERT_EQ(::fcntl(raw.fd(), F_SETFL, ::fcntl(raw.fd(), F_GETFL) | O_NONBLOCK), 0);
  size_t chunk_off = 0;
  next_chunk();
  for (;;) {
    ssize_t n = ::send(raw.fd(), chunk.data() + chunk_off, chunk.size() - chunk_off, MSG_NOSIGNAL);
    if (n > 0) {
      chunk_off += static_cast<size_t>(n);
      sent += static_cast<uint64_t>(n);
      if (chunk_off == chunk.size()) {
        ASSERT_LT(sent, kSize) << "the server accepted the whole body while its handler paused";
        chunk_off = 0;
        next_chunk();
      }
      continue;
    }
    ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << errno;
    pollfd p{raw.fd(), POLLOUT, 0};
    // Once the handler is paused, 500 ms without progress means the pipe is full.
    if (::poll(&p, 1, 500) == 0 && paused.is_set()) break;
  }
  uint64_t in_flight = sent - read_before_pause.load();
  EXPECT_LT(in_flight, 24u << 20) << "bytes accepted but not consumed by the handler";
  RecordProperty("in_flight_bytes", std::to_string(in_flight));
  resume.set();
  // Phase 2: blocking sends of the rest.
  ASSERT_EQ(::fcntl(raw.fd(), F_SETFL, ::fcntl(raw.fd(), F_GETFL) & ~O_NONBLOCK), 0);
  ASSERT_TRUE(raw.send(std::string_view(chunk).substr(chunk_off)));
  sent += chunk.size() - chunk_off;
  while (sent < kSize) {
    next_chunk();
    ASSERT_TRUE(raw.send(chunk));
    sent += chunk.size();
  }
  ASSERT_TRUE(raw.read_until(
      acc, [](const std::string& a) { return !parse_responses(a).empty(); }, in(60s)));
  auto rs = parse_responses(acc);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200);
  EXPECT_TRUE(rs[0].chunked);
  EXPECT_EQ(rs[0].body, "b.git " + std::to_string(kSize) + " " + std::to_string(expect.h));
  // 64 KiB reads when the data is there (~800); 512-byte reads would be 102,400.
  RecordProperty("body_reads", std::to_string(reads.load()));
  EXPECT_LT(reads.load(), kSize / 2048) << "the body arrived in small reads";
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  EXPECT_LT(max_rss_growth.load(), 16u << 20) << "server buffered the upload";
#endif

  // Body fully consumed: the connection is reused.
  acc.clear();
  ASSERT_TRUE(raw.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(raw.read_until(
      acc, [](const std::string& a) { return !parse_responses(a).empty(); }, in(5s)));
  EXPECT_EQ(parse_responses(acc)[0].body, "pong");
}

std::string gzip(std::string_view in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(HttpServer, GzipStreamingBodyChunked) {
  Server s;
  s.router->add_streaming("POST", "/{owner}/{repo}/git-upload-pack", "repo:read",
                          [&](Request&, Exchange& ex) {
                            std::vector<uint8_t> buf(10000);  // odd size on purpose
                            uint64_t total = 0;
                            Fnv fnv;
                            while (size_t n = ex.read_body(buf.data(), buf.size())) {
                              fnv.add(buf.data(), n);
                              total += n;
                            }
                            std::string out = std::to_string(total) + " " + std::to_string(fnv.h);
                            Headers h;
                            h.set("Content-Length", std::to_string(out.size()));
                            ex.begin_response(200, h);
                            ex.write(out);
                            ex.finish();
                          });
  s.start();
  constexpr size_t kSize = 5 << 20;
  std::string plain = payload(0, kSize);
  std::string z = gzip(plain);
  Fnv expect;
  expect.add(reinterpret_cast<const uint8_t*>(plain.data()), plain.size());

  RawConn raw(s.port());
  ASSERT_TRUE(
      raw.send("POST /o/r/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
               "Transfer-Encoding: chunked\r\n\r\n"));
  for (size_t off = 0; off < z.size(); off += 7777) {
    size_t n = std::min<size_t>(7777, z.size() - off);
    char line[32];
    std::snprintf(line, sizeof line, "%zx\r\n", n);
    ASSERT_TRUE(raw.send(std::string(line) + z.substr(off, n) + "\r\n"));
  }
  ASSERT_TRUE(raw.send("0\r\n\r\n"));
  std::string acc;
  ASSERT_TRUE(raw.read_until(
      acc, [](const std::string& a) { return !parse_responses(a).empty(); }, in(30s)));
  auto rs = parse_responses(acc);
  EXPECT_EQ(rs.at(0).status, 200);
  EXPECT_FALSE(rs[0].chunked);
  EXPECT_EQ(rs[0].body, std::to_string(kSize) + " " + std::to_string(expect.h));

  // Corrupt gzip: the handler's read_body throws, the server answers with an error.
  RawConn bad(s.port());
  ASSERT_TRUE(
      bad.send("POST /o/r/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip"
               "\r\nContent-Length: 10\r\n\r\n0123456789"));
  acc.clear();
  ASSERT_TRUE(bad.read_until(
      acc, [](const std::string& a) { return !parse_responses(a).empty(); }, in(5s)));
  EXPECT_EQ(parse_responses(acc).at(0).status, 422);

  // Unknown encodings are refused.
  RawConn br(s.port());
  ASSERT_TRUE(
      br.send("POST /o/r/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Encoding: br"
              "\r\nContent-Length: 1\r\n\r\nx"));
  acc.clear();
  EXPECT_TRUE(br.wait_closed(in(5s), &acc));
  EXPECT_EQ(acc.rfind("HTTP/1.1 415 ", 0), 0u) << acc;
}

TEST(HttpServer, ChunkedStreamingResponse) {
  Server s;
  s.router->add_streaming("GET", "/{owner}/{repo}/info/refs", "repo:read",
                          [](Request& req, Exchange& ex) {
                            Headers h;
                            h.set("Content-Type", "application/x-git-upload-pack-advertisement");
                            h.set("Cache-Control", "no-cache");
                            ex.begin_response(200, h);
                            for (int i = 0; i < 100; ++i) ex.write(std::string(1000, 'a' + i % 26));
                            ex.write("");  // no-op, must not end the chunked body
                            ex.write(req.query);
                            ex.finish();
                          });
  s.router->add_streaming("GET", "/nothing", "public", [](Request&, Exchange&) {});
  s.router->add_streaming("GET", "/fail", "public", [](Request&, Exchange&) {
    throw Error(Code::kPermissionDenied, "denied");
  });
  s.start();
  auto c = s.client();
  auto r = c.get("/o/r/info/refs?service=git-upload-pack");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.header("content-type"), "application/x-git-upload-pack-advertisement");
  ASSERT_EQ(r.body.size(), 100000u + std::string("service=git-upload-pack").size());
  EXPECT_EQ(r.body.substr(1000, 3), "bbb");
  EXPECT_EQ(r.body.substr(100000), "service=git-upload-pack");
  EXPECT_EQ(c.get("/o/r/info/refs").status, 200);
  EXPECT_EQ(c.last_new_connections(), 0);  // keep-alive after a streaming exchange

  r = c.get("/nothing");  // handler returned without answering
  EXPECT_EQ(r.status, 500);
  r = c.get("/fail");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("denied"), std::string::npos);
  r = c.head("/o/r/info/refs");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
}

TEST(HttpServer, ReadTimeoutClosesStalledConnection) {
  Server s;
  s.opt.read_timeout = std::chrono::seconds(1);
  s.router->add("GET", "/", "public", [](Request&, Responder r) { r(Response::text(200, "ok")); });
  s.start();
  RawConn idle(s.port());
  RawConn partial(s.port());
  partial.send("GET / HTTP/1.1\r\nHost");
  auto t0 = guts::testing::Clock::now();
  EXPECT_TRUE(idle.wait_closed(in(5s)));
  EXPECT_TRUE(partial.wait_closed(in(5s)));
  EXPECT_GE(guts::testing::Clock::now() - t0, 900ms);
}

TEST(HttpServer, StopIsGracefulForInFlightRequests) {
  Server s;
  Event received;
  std::thread worker;
  s.router->add("GET", "/slow", "public", [&](Request&, Responder respond) {
    worker = std::thread([respond] {
      std::this_thread::sleep_for(200ms);
      respond(Response::text(200, "done"));
    });
    received.set();
  });
  s.start();
  RawConn idle(s.port());
  RawConn busy(s.port());
  busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(received.wait(5s));
  s.server->stop();
  std::string acc;
  EXPECT_TRUE(busy.wait_closed(in(5s), &acc));
  auto rs = parse_responses(acc);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].body, "done");
  EXPECT_EQ(rs[0].header("connection"), "close");
  EXPECT_TRUE(idle.wait_closed(in(5s)));
  worker.join();
  EXPECT_THROW(HttpClient(s.url()).get("/slow"), Error);
  s.server->stop();  // idempotent
}

TEST(HttpServer, StopCutsRequestsThatNeverFinish) {
  Server s;
  s.opt.shutdown_grace = 100ms;
  Responder kept;
  Event received;
  s.router->add("GET", "/never", "public", [&](Request&, Responder r) {
    kept = std::move(r);
    received.set();
  });
  s.start();
  RawConn busy(s.port());
  busy.send("GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(received.wait(5s));
  s.server->stop();
  EXPECT_TRUE(busy.wait_closed(in(5s)));
  s.server.reset();
  kept(Response::text(200, "too late"));  // harmless after the server is gone
}

TEST(HttpServer, StartFailsOnBusyPort) {
  Server a;
  a.start();
  Server b;
  b.opt.port = a.port();
  try {
    b.start();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kUnavailable);
  }
  ServerOptions bad;
  bad.address = "not an address";
  HttpServer c(bad, std::make_shared<Router>(), {});
  EXPECT_THROW(c.start(), Error);
}

}  // namespace
}  // namespace guts::api
