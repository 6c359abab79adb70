// The HTTP/1.1 server. All Beast/Asio code lives in http_server.cpp; this header is Boost-free.
//
// Per connection, requests are handled one after the other (keep-alive, pipelining-safe):
// parse header -> route -> (buffered routes) read body up to max_body_bytes -> middlewares in
// order -> handler. Buffered handlers run on an I/O thread and answer through the Responder from
// any thread, at any later time; the connection waits without blocking a thread. Streaming
// routes are handed to a pool of worker threads and talk to the client through api::Exchange.
//
// HTTPS: with a certificate and key file (ServerOptions::tls_cert_file, tls_key_file) the port
// speaks TLS 1.3 only (api/tls_context.h) and everything above works the same over it;
// reload_tls() swaps the files' new contents in for new connections (SIGHUP in guts-node).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/http.h"
#include "api/router.h"

namespace guts::api {

// One completed request, for metrics and the access log (ServerOptions::on_request_done).
struct RequestRecord {
  std::string method;
  std::string route;  // the matched route's pattern; "unmatched" (404, 405)
  std::string path;   // percent-decoded path, never the query string
  int status = 0;     // 0: the connection broke before a status was sent
  std::chrono::steady_clock::duration duration{};  // header read to response sent
  uint64_t bytes_in = 0;                           // request body bytes read
  uint64_t bytes_out = 0;                          // response body bytes sent
  std::string request_id;
  std::string remote_address;
};

// WebSocket (RFC 6455) connections, for server-pushed streams (docs/events.md). The server does
// the handshake and the framing; a WsChannel decides what to send. All calls on one connection
// come from its I/O strand, one at a time, except WsWaker::wake (any thread).
class WsWaker {
 public:
  virtual ~WsWaker() = default;
  // There is something to pull: the server calls WsChannel::pull soon. Any thread; never blocks.
  virtual void wake() = 0;
};
class WsChannel {
 public:
  virtual ~WsChannel() = default;
  // After the handshake: `waker` lives as long as the connection.
  virtual void start(std::shared_ptr<WsWaker> waker) = 0;
  struct Pull {
    std::vector<std::string> messages;  // text frames to send now, in order
    std::string close_reason;           // non-empty: send these, then close with this reason
  };
  virtual Pull pull() = 0;
  // A text message from the client (at most 4 KiB; larger ones close the connection).
  virtual void on_message(std::string_view) {}
  // The connection is gone (either side closed it, or the server stops).
  virtual void closed() = 0;
};
// Decides a WebSocket upgrade request of a routed GET (after the middlewares passed it, so
// Request::principal is set): a channel to accept it, or a response to refuse it. nullopt: not
// a WebSocket route (the route's own handler answers).
using WsResult = std::variant<Response, std::shared_ptr<WsChannel>>;
using WebSocketHook = std::function<std::optional<WsResult>(Request&)>;

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;                // 0 = pick a free port (see HttpServer::port())
  int threads = 2;                     // I/O threads
  size_t max_body_bytes = 10 << 20;    // buffered routes; larger -> 413 and close
  size_t max_header_bytes = 64 << 10;  // larger -> 431 and close
  // Limit for reading a request (header or body) and for each write; also the keep-alive idle
  // timeout between requests.
  std::chrono::seconds read_timeout{30};
  int streaming_threads = 16;  // workers running streaming handlers
  // stop(): how long in-flight requests may take to finish before connections are cut.
  std::chrono::milliseconds shutdown_grace{5000};
  std::string server_name = "guts";  // Server header
  // HTTPS (TLS 1.3) when both are set: PEM certificate chain and private key (api/tls_context.h).
  // The TLS handshake is bounded by read_timeout.
  std::filesystem::path tls_cert_file;
  std::filesystem::path tls_key_file;
  // Called once per routed request (buffered and streaming, 404 and 405 included) after its
  // response was written, on the I/O or worker thread that finished it. Must not block.
  std::function<void(const RequestRecord&)> on_request_done;
  // Called on every buffered route's response (a handler's or a middleware's) before it is
  // written, with the request: the one place for response policies such as conditional
  // requests (api/github.h finish_rest_response). Runs on the I/O thread; must not block.
  std::function<void(const Request&, Response&)> finish_response;
  // Called with every buffered error response (status >= 400: unmatched routes, middleware and
  // buffered handler answers, the server's own) before it is written, with the request's path
  // and Accept header; may replace it (HTML error pages for browsers, web/page.h). I/O thread.
  std::function<void(std::string_view path, std::string_view accept, Response&)> error_page;
  // WebSocket upgrades (GET with `Upgrade: websocket` on a buffered route); unset: none.
  WebSocketHook websocket;
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, std::shared_ptr<const Router> router,
             std::vector<Middleware> middlewares);
  ~HttpServer();  // stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads. Throws guts::Error(kUnavailable) if the address cannot
  // be bound, kInvalidArgument if it does not parse or a TLS file is missing, malformed or does
  // not match (the message names the file). Call once.
  void start();
  // HTTPS: true when the server was started with a certificate and key.
  bool tls() const;
  // Reads the certificate and key files again and uses them for new connections (open ones keep
  // theirs); returns the new certificate's summary. Throws guts::Error naming the file and the
  // problem, and then keeps the current ones; kFailedPrecondition when not serving TLS. Any
  // thread, after start().
  std::string reload_tls();
  // The bound port (after start()).
  uint16_t port() const;
  // Streaming requests (git transfers) being handled now; any thread.
  size_t active_streams() const;
  // Graceful: stops accepting, closes idle connections, lets in-flight requests finish for up to
  // shutdown_grace, then cuts the rest and joins all threads. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace guts::api
