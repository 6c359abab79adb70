// The only translation unit with Beast and Asio in the HTTP server. Beast is used for parsing
// only; responses are serialized by hand (cheaper to compile, one gathered write per response).
#include "api/http_server.h"

#include <spdlog/spdlog.h>
#include <zlib.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "api/errors.h"
#include "api/http_parse.h"
#include "api/request_id.h"
#include "api/tls_context.h"
#include "core/assert.h"
#include "core/status.h"
#include "core/thread_annotations.h"
#include "core/thread_name.h"

namespace guts::api {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
// HTTPS: TLS over the connection's tcp_stream, which keeps the timeouts and the socket.
using tls_stream = beast::ssl_stream<beast::tcp_stream&>;

namespace {

constexpr auto kAsTuple = net::as_tuple(net::use_awaitable);
constexpr size_t kStreamChunk = 64 << 10;
// Beast reads into the connection's buffer at most its free capacity (never less than 512
// bytes): a buffer that only ever held a request head makes a body arrive 512 bytes per
// system call (a 1 MB push: ~2,000 reads, each handed to its handler and to git). A body read
// reserves room for what is left of the body, up to kStreamChunk; a connection going back to
// reading heads frees a buffer grown over kIdleBuffer (10,000 idle connections must not hold
// 64 KiB each).
constexpr size_t kIdleBuffer = 4 << 10;

void reserve_for_body(beast::flat_buffer& buffer, boost::optional<uint64_t> remaining) {
  // A chunked body does not say how much is left.
  uint64_t want = std::min<uint64_t>(remaining.value_or(kStreamChunk), kStreamChunk);
  buffer.reserve(buffer.size() + static_cast<size_t>(want));
}

// What an exception that becomes a 500 said, for the log (the client is told nothing more):
// bounded, as the text may quote what it failed on.
void log_internal(std::string_view what) {
  constexpr size_t kMaxLogged = 200;
  spdlog::warn("http: a handler failed: {}", what.substr(0, kMaxLogged));
}

// Maps an exception escaping a handler to a response. Internal details are not leaked to the
// client; a 500's are logged (else a rare failure leaves no trace but its access line).
Response response_for_exception(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const Error& err) {
    if (http_status(err.status().code()) == 500) log_internal(err.what());
    return status_response(err.status());
  } catch (const std::exception& err) {
    log_internal(err.what());
    return error_response(500, "Internal Server Error");
  } catch (...) {
    log_internal("an exception of an unknown type");
    return error_response(500, "Internal Server Error");
  }
}

std::string http_date() {
  std::time_t t = std::time(nullptr);
  std::tm g{};
  gmtime_r(&t, &g);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &g);
  return std::string(buf, n);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Adds each of `extra` that `h` does not already have (the handler's own headers win).
void add_missing_headers(Headers& h, const Headers& extra) {
  for (const auto& [k, v] : extra.items())
    if (!h.get(k)) h.add(k, v);
}

bool valid_header_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == ':') return false;
  }
  return true;
}

bool valid_header_value(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

bool body_allowed(int status) {
  return status >= 200 && status != 204 && status != 304;
}

// Status line and headers of a response. content_length: nullopt = chunked (or close-delimited
// when !chunked_ok). Headers the server manages are dropped from `h`.
struct Head {
  std::string text;
  bool chunked = false;
};

Head serialize_head(int status, const Headers& h, bool keep_alive, bool chunked_ok,
                    const std::string& server_name, std::optional<uint64_t>* content_length) {
  Head out;
  std::string& s = out.text;
  s.reserve(256);
  s += "HTTP/1.1 ";
  s += std::to_string(status);
  s += ' ';
  auto reason = http::obsolete_reason(static_cast<http::status>(status));
  s.append(reason.data(), reason.size());
  s += "\r\n";
  bool has_server = false, has_date = false;
  for (const auto& [name, value] : h.items()) {
    if (!valid_header_name(name) || !valid_header_value(value)) continue;
    if (iequals(name, "Content-Length")) {
      if (!content_length->has_value()) {
        uint64_t v = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec == std::errc() && p == value.data() + value.size()) *content_length = v;
      }
      continue;
    }
    if (iequals(name, "Transfer-Encoding") || iequals(name, "Connection") ||
        iequals(name, "Keep-Alive")) {
      continue;
    }
    if (iequals(name, "Server")) has_server = true;
    if (iequals(name, "Date")) has_date = true;
    s += name;
    s += ": ";
    s += value;
    s += "\r\n";
  }
  if (!has_server) s += "Server: " + server_name + "\r\n";
  if (!has_date) s += "Date: " + http_date() + "\r\n";
  if (status == 204 || status == 304 || status < 200) {
    // no framing headers
  } else if (content_length->has_value()) {
    s += "Content-Length: " + std::to_string(**content_length) + "\r\n";
  } else if (chunked_ok) {
    s += "Transfer-Encoding: chunked\r\n";
    out.chunked = true;
  } else {
    keep_alive = false;  // body delimited by closing the connection
  }
  if (!keep_alive) s += "Connection: close\r\n";
  s += "\r\n";
  return out;
}

// ---------------------------------------------------------------------------------------------

class WorkerPool {
 public:
  void start(int n) {
    for (int i = 0; i < std::max(1, n); ++i) threads_.emplace_back([this] { loop(); });
  }
  // False once stopping: the job is not queued.
  bool submit(std::function<void()> job) {
    {
      std::lock_guard lk(mu_);
      if (stop_) return false;
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }
  // Runs what is queued, then joins.
  void stop_and_join() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  size_t busy() const { return busy_; }

 private:
  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      ++busy_;
      try {
        job();
      } catch (...) {
      }
      --busy_;
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool stop_ = false;
  std::atomic<size_t> busy_{0};
};

class Session;

struct Core {
  ServerOptions opt;
  std::shared_ptr<const Router> router;
  std::vector<Middleware> middlewares;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::atomic<bool> stopping{false};
  WorkerPool pool;

  // HTTPS: the TLS context new connections use (null: plain HTTP); reload_tls() replaces it.
  Mutex tls_mu;
  std::shared_ptr<net::ssl::context> tls GUTS_GUARDED_BY(tls_mu);
  std::shared_ptr<net::ssl::context> current_tls() {
    MutexLock lk(tls_mu);
    return tls;
  }

  std::mutex mu;
  uint64_t next_session = 0;
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions;

  std::vector<std::shared_ptr<Session>> live_sessions() {
    std::vector<std::shared_ptr<Session>> out;
    std::lock_guard lk(mu);
    for (auto& [id, w] : sessions) {
      if (auto s = w.lock()) out.push_back(std::move(s));
    }
    return out;
  }
};

class StreamExchange;
struct ResponseState;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Core> core, tcp::socket socket)
      : core_(std::move(core)), stream_(std::move(socket)), wake_(stream_.get_executor()) {
    error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
    stream_.socket().set_option(tcp::no_delay(true), ec);
    if (auto ctx = core_->current_tls()) {
      tls_ctx_ = std::move(ctx);
      tls_.emplace(stream_, *tls_ctx_);
    }
    std::lock_guard lk(core_->mu);
    id_ = core_->next_session++;
  }
  ~Session() {
    std::lock_guard lk(core_->mu);
    core_->sessions.erase(id_);
  }

  void register_self() {
    std::lock_guard lk(core_->mu);
    core_->sessions[id_] = weak_from_this();
  }

  static net::awaitable<void> run(std::shared_ptr<Session> self) {
    try {
      // Not `if (co_await …)`: GCC 12 miscompiles a co_await in the condition (ud2).
      bool ready = co_await self->handshake();
      if (ready) co_await self->loop();
    } catch (...) {
    }
    try {
      co_await self->lingering_close();
    } catch (...) {
    }
    self->stream_.close();
  }

  // HTTPS: the TLS handshake, bounded by read_timeout (an idle wait: stop() closes it). False
  // when it failed: the client spoke plain HTTP or TLS older than 1.3, or went away.
  net::awaitable<bool> handshake() {
    if (!tls_) co_return true;
    idle_ = true;
    stream_.expires_after(core_->opt.read_timeout);
    auto [ec] = co_await tls_->async_handshake(net::ssl::stream_base::server, kAsTuple);
    idle_ = false;
    tls_up_ = !ec;
    co_return !ec && !cut_;
  }

  // Half-closes, then drains what the client still sends for a moment, so that a response sent
  // before the request body was read (413, an early error) is not destroyed by a TCP reset.
  // HTTPS: close_notify first, waiting a bounded time for the client's.
  net::awaitable<void> lingering_close() {
    if (cut_ || !stream_.socket().is_open()) co_return;
    if (tls_up_) {
      stream_.expires_after(std::chrono::milliseconds(core_->stopping.load() ? 500 : 2000));
      co_await tls_->async_shutdown(kAsTuple);
      if (cut_ || !stream_.socket().is_open()) co_return;
    }
    error_code ec;
    if (core_->stopping.load()) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    stream_.expires_after(std::chrono::seconds(2));
    std::vector<char> sink(16 << 10);
    size_t drained = 0;
    while (drained < (8u << 20) && !cut_) {
      auto [rec, n] = co_await stream_.async_read_some(net::buffer(sink), kAsTuple);
      if (rec) break;
      drained += n;
    }
  }

  // --- called on the strand ---
  void on_response(uint64_t seq, Response r) {
    if (seq != seq_ || pending_) return;
    pending_ = std::move(r);
    wake_.cancel();
  }
  void on_stream_done(uint64_t seq) {
    if (seq != seq_) return;
    stream_done_ = true;
    wake_.cancel();
  }
  void graceful_stop() {
    close_after_ = true;
    if (idle_) stream_.close();
  }
  void force_stop() {
    cut_ = true;
    stream_.close();
    wake_.cancel();
  }
  // WebSocket: the channel has something to send (WsWaker::wake, posted to the strand).
  void ws_wake() {
    ws_wake_pending_ = true;
    wake_.cancel();
  }

  auto executor() { return stream_.get_executor(); }
  beast::tcp_stream& stream() { return stream_; }
  // f(s) on the stream requests and responses go through: TLS over stream_, or stream_ itself.
  template <class F>
  decltype(auto) io(F&& f) {
    return tls_ ? f(*tls_) : f(stream_);
  }
  beast::flat_buffer& buffer() { return buffer_; }
  bool cut() const { return cut_; }
  const ServerOptions& opt() const { return core_->opt; }
  Core& core() { return *core_; }

 private:
  net::awaitable<void> loop();
  net::awaitable<bool> write_response(Response r, bool keep_alive, bool head);
  net::awaitable<bool> write_error(int status, std::string_view message) {
    co_return co_await write_response(error_response(status, message), false, false);
  }
  net::awaitable<void> wait_wake(bool streaming) {
    while (!cut_ && (streaming ? !stream_done_ : !pending_)) {
      wake_.expires_at(net::steady_timer::time_point::max());
      co_await wake_.async_wait(kAsTuple);
    }
  }
  std::shared_ptr<ResponseState> make_state(std::shared_ptr<Request> req);
  // WebSocket: the handshake on `next` (TLS or the plain stream), then the channel's messages
  // until either side closes.
  template <class S>
  net::awaitable<void> run_websocket(S& next, const http::request<http::empty_body>& msg,
                                     std::shared_ptr<WsChannel> channel);
  // Runs the middlewares; true if one answered (or threw, which answers 500).
  bool run_middlewares(Request& req, const Responder& responder);
  // The routed request's response is written: ServerOptions::on_request_done.
  void request_done(int status, uint64_t bytes_in, uint64_t bytes_out);

  std::shared_ptr<Core> core_;
  beast::tcp_stream stream_;
  std::shared_ptr<net::ssl::context> tls_ctx_;  // HTTPS: the context of this connection
  std::optional<tls_stream> tls_;               // HTTPS: over stream_
  bool tls_up_ = false;                         // handshake done: close_notify on close
  beast::flat_buffer buffer_;
  net::steady_timer wake_;
  std::string remote_;
  std::string accept_;  // the current request's Accept header (ServerOptions::error_page)
  uint64_t id_ = 0;
  uint64_t seq_ = 0;
  std::optional<Response> pending_;
  bool stream_done_ = false;
  bool idle_ = false;
  bool close_after_ = false;
  bool cut_ = false;
  bool ws_wake_pending_ = false;  // WebSocket: WsWaker::wake was called since the last pull
  bool ws_reader_done_ = false;   // WebSocket: the client's side is closed
  RequestRecord record_;          // of the request being handled (route empty: not routed yet)
  std::chrono::steady_clock::time_point started_at_;
};

// Shared between a Responder's copies: answers exactly once, or 500 when dropped unanswered.
// Keeps the Request alive until then.
struct ResponseState {
  std::weak_ptr<Session> session;
  uint64_t seq = 0;
  std::shared_ptr<Request> request;
  std::atomic<bool> done{false};

  void deliver(Response r) {
    if (done.exchange(true)) return;
    auto s = session.lock();
    if (!s) return;
    net::post(s->executor(), [w = session, seq = seq, r = std::move(r)]() mutable {
      if (auto s = w.lock()) s->on_response(seq, std::move(r));
    });
  }
  ~ResponseState() {
    if (done.load()) return;
    try {
      deliver(error_response(500, "Internal Server Error"));
    } catch (...) {
    }
  }
};

std::shared_ptr<ResponseState> Session::make_state(std::shared_ptr<Request> req) {
  auto state = std::make_shared<ResponseState>();
  state->session = weak_from_this();
  state->seq = seq_;
  state->request = std::move(req);
  return state;
}

void Session::request_done(int status, uint64_t bytes_in, uint64_t bytes_out) {
  if (record_.route.empty()) return;
  record_.status = status;
  record_.bytes_in += bytes_in;
  record_.bytes_out += bytes_out;
  record_.duration = std::chrono::steady_clock::now() - started_at_;
  record_.remote_address = remote_;
  if (core_->opt.on_request_done) {
    try {
      core_->opt.on_request_done(record_);
    } catch (...) {
    }
  }
  record_ = RequestRecord{};
}

bool Session::run_middlewares(Request& req, const Responder& responder) {
  try {
    for (const auto& mw : core_->middlewares) {
      if (mw(req, responder)) return true;
    }
    return false;
  } catch (...) {
    responder(response_for_exception(std::current_exception()));
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Streaming exchange: runs on a worker thread; every socket operation is posted to the session's
// strand and waited for. tcp_stream's per-operation expiry bounds each wait.

class StreamExchange : public Exchange {
 public:
  StreamExchange(std::shared_ptr<Session> session, http::request_parser<http::empty_body>&& hp,
                 bool has_body, bool gzip, bool expect_continue, bool keep_alive, bool head,
                 bool http11)
      : s_(std::move(session)),
        gzip_(gzip),
        expect_continue_(expect_continue),
        keep_alive_(keep_alive),
        head_(head),
        http11_(http11) {
    if (has_body) {
      parser_.emplace(std::move(hp));
      parser_->body_limit(boost::none);
    }
    if (gzip_) {
      std::memset(&zs_, 0, sizeof zs_);
      if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) throw Error(Code::kInternal, "zlib init");
      zinit_ = true;
      in_.resize(kStreamChunk);
    }
  }
  ~StreamExchange() override {
    if (zinit_) inflateEnd(&zs_);
  }

  size_t read_body(uint8_t* buf, size_t n) override {
    if (n == 0) return 0;
    if (!gzip_) return read_raw(buf, n);
    for (;;) {
      if (zs_.avail_in == 0) {
        size_t got = read_raw(in_.data(), in_.size());
        if (got == 0) {
          if (member_ended_ || !started_member_) return 0;
          throw Error(Code::kInvalidArgument, "truncated gzip request body");
        }
        zs_.next_in = in_.data();
        zs_.avail_in = static_cast<uInt>(got);
      }
      if (member_ended_) {  // another gzip member follows
        inflateReset(&zs_);
        member_ended_ = false;
      }
      started_member_ = true;
      zs_.next_out = buf;
      zs_.avail_out = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
      int rc = inflate(&zs_, Z_NO_FLUSH);
      size_t produced = std::min<size_t>(n, 1u << 30) - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        member_ended_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        throw Error(Code::kInvalidArgument, "invalid gzip request body");
      }
      if (produced > 0) return produced;
    }
  }

  void begin_response(int status, const Headers& headers) override {
    GUTS_ASSERT(!started_, "a handler began its response twice");
    if (status < 100 || status > 999) status = 500;
    started_ = true;
    status_ = status;
    // Keep the connection only if the request body was fully read by now.
    bool keep = keep_alive_ && !s_->core().stopping.load() && body_consumed();
    std::optional<uint64_t> cl;
    Headers with_id = headers;
    add_missing_headers(with_id, extra_headers_);
    if (!request_id_.empty()) with_id.set("X-Request-Id", request_id_);
    Head head = serialize_head(status, with_id, keep, http11_, s_->opt().server_name, &cl);
    no_body_ = head_ || !body_allowed(status);
    chunked_ = head.chunked && !no_body_;
    if (cl) remaining_ = *cl;
    fixed_length_ = cl.has_value() && !no_body_;
    close_delimited_ = !cl && !head.chunked && body_allowed(status) && !head_;
    keep_ = keep && !close_delimited_;
    write_raw(head.text, {});
  }

  void write(std::string_view data) override {
    if (!started_) begin_response(200, Headers());
    GUTS_ASSERT(!finished_, "a handler wrote after finishing its response");
    if (data.empty() || no_body_) return;
    bytes_out_ += data.size();
    if (fixed_length_) {
      if (data.size() > remaining_) {
        broken_ = true;
        throw Error(Code::kInternal, "response body exceeds Content-Length");
      }
      remaining_ -= data.size();
      write_raw(data, {});
    } else if (chunked_) {
      char size_line[32];
      int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
      write_raw(std::string_view(size_line, static_cast<size_t>(len)), data, true);
    } else {
      write_raw(data, {});
    }
  }

  void finish() override {
    if (finished_) return;
    if (!started_) {
      Headers h;
      h.set("Content-Length", "0");
      begin_response(200, h);
    }
    finished_ = true;
    if (chunked_) write_raw("0\r\n\r\n", {});
    if (fixed_length_ && remaining_ != 0) broken_ = true;
  }

  // After the handler returned (worker thread).
  void complete(std::exception_ptr error) {
    if (!started_) {
      Response r =
          error ? response_for_exception(error) : error_response(500, "Internal Server Error");
      try {
        Headers h = r.headers;
        h.set("Content-Length", std::to_string(r.body.size()));
        begin_response(r.status, h);
        write(r.body);
        finish();
      } catch (...) {
        broken_ = true;
      }
      return;
    }
    if (error) {
      broken_ = true;  // a partial response cannot be repaired
      return;
    }
    if (!finished_) {
      try {
        finish();
      } catch (...) {
        broken_ = true;
      }
    }
  }

  bool reusable() const { return !broken_ && finished_ && keep_ && body_consumed(); }
  // For ServerOptions::on_request_done.
  void set_request_id(std::string id) { request_id_ = std::move(id); }
  void set_extra_headers(Headers h) { extra_headers_ = std::move(h); }
  int status() const { return status_; }
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }

 private:
  bool body_consumed() const { return !parser_ || parser_->is_done(); }

  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    error_code ec;
  };

  // Runs `init(complete)` on the strand and waits for complete(ec). The wait always ends: the
  // stream's expiry completes any pending operation, and the server keeps its I/O threads
  // running until all workers are done.
  template <class Init>
  error_code run_io(Init init) {
    if (broken_) throw Error(Code::kUnavailable, "connection broken");
    auto w = std::make_shared<Wait>();
    auto complete = [w](error_code ec) {
      {
        std::lock_guard lk(w->mu);
        w->ec = ec;
        w->done = true;
      }
      w->cv.notify_one();
    };
    net::post(s_->executor(), [s = s_, init = std::move(init), complete]() mutable {
      if (s->cut()) return complete(net::error::operation_aborted);
      s->stream().expires_after(s->opt().read_timeout);
      init(complete);
    });
    std::unique_lock lk(w->mu);
    w->cv.wait(lk, [&] { return w->done; });
    if (w->ec) broken_ = true;
    return w->ec;
  }

  void write_raw(std::string_view a, std::string_view b, bool chunk_trailer = false) {
    error_code ec = run_io([&](auto complete) {
      std::array<net::const_buffer, 3> bufs{
          net::buffer(a.data(), a.size()), net::buffer(b.data(), b.size()),
          net::buffer(chunk_trailer ? "\r\n" : "", chunk_trailer ? 2 : 0)};
      s_->io([&](auto& stream) {
        net::async_write(stream, bufs, [complete](error_code ec, size_t) mutable { complete(ec); });
      });
    });
    if (ec) throw Error(Code::kUnavailable, "client went away: " + ec.message());
  }

  size_t read_raw(uint8_t* buf, size_t n) {
    if (!parser_ || parser_->is_done()) return 0;
    if (expect_continue_) {
      expect_continue_ = false;
      write_raw("HTTP/1.1 100 Continue\r\n\r\n", {});
    }
    n = std::min(n, kStreamChunk);
    for (;;) {
      if (parser_->is_done()) return 0;
      size_t got = 0;
      error_code ec = run_io([&](auto complete) {
        auto& body = parser_->get().body();
        body.data = buf;
        body.size = n;
        s_->io([&](auto& stream) {
          // On the strand, which owns the buffer.
          reserve_for_body(s_->buffer(), parser_->content_length_remaining());
          http::async_read_some(stream, s_->buffer(), *parser_,
                                [this, n, &got, complete](error_code ec, size_t) mutable {
                                  if (ec == http::error::need_buffer) ec = {};
                                  got = n - parser_->get().body().size;
                                  complete(ec);
                                });
        });
      });
      if (ec) {
        if (ec == http::error::partial_message || ec == net::error::eof) {
          throw Error(Code::kInvalidArgument, "request body ended early");
        }
        throw Error(Code::kUnavailable, "reading request body: " + ec.message());
      }
      bytes_in_ += got;
      if (got > 0) return got;
    }
  }

  std::shared_ptr<Session> s_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  bool gzip_;
  bool expect_continue_;
  bool keep_alive_;
  bool head_;
  bool http11_;
  z_stream zs_{};
  bool zinit_ = false;
  bool member_ended_ = false;
  bool started_member_ = false;
  std::vector<uint8_t> in_;

  bool started_ = false;
  bool finished_ = false;
  bool broken_ = false;
  bool chunked_ = false;
  bool fixed_length_ = false;
  bool close_delimited_ = false;
  bool no_body_ = false;
  bool keep_ = false;
  int status_ = 0;
  uint64_t remaining_ = 0;
  std::string request_id_;
  Headers extra_headers_;  // Request::response_headers
  uint64_t bytes_in_ = 0, bytes_out_ = 0;
};

// ---------------------------------------------------------------------------------------------

// A malformed request (as opposed to the peer going away or timing out).
bool is_parse_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message &&
         ec != http::error::need_more && ec != http::error::need_buffer;
}

// ---------------------------------------------------------------------------------------------
// WebSocket connections (ServerOptions::websocket).

class SessionWaker : public WsWaker {
 public:
  SessionWaker(std::weak_ptr<Session> s, net::any_io_executor ex)
      : s_(std::move(s)), ex_(std::move(ex)) {}
  void wake() override {
    net::post(ex_, [w = s_] {
      if (auto s = w.lock()) s->ws_wake();
    });
  }

 private:
  std::weak_ptr<Session> s_;
  net::any_io_executor ex_;
};

constexpr size_t kMaxWsMessage = 4096;

template <class S>
net::awaitable<void> Session::run_websocket(S& next, const http::request<http::empty_body>& msg,
                                            std::shared_ptr<WsChannel> channel) {
  auto ws = std::make_shared<websocket::stream<S&>>(next);
  websocket::stream_base::timeout t{};
  t.handshake_timeout = core_->opt.read_timeout;
  t.idle_timeout = std::chrono::seconds(60);  // pings at half: a dead peer goes in a minute
  t.keep_alive_pings = true;
  ws->set_option(t);
  ws->set_option(websocket::stream_base::decorator(
      [name = core_->opt.server_name, rid = record_.request_id](websocket::response_type& r) {
        r.set(http::field::server, name);
        if (!rid.empty()) r.set("X-Request-Id", rid);
      }));
  ws->read_message_max(kMaxWsMessage);
  stream_.expires_never();  // the websocket stream keeps its own timeouts
  idle_ = true;             // stop() closes it at once
  auto [ec] = co_await ws->async_accept(msg, kAsTuple);
  if (ec) co_return;
  request_done(101, 0, 0);
  channel->start(std::make_shared<SessionWaker>(weak_from_this(), executor()));
  ws_reader_done_ = false;
  // The reader: client messages and control frames, until the connection closes.
  net::co_spawn(
      executor(),
      [self = shared_from_this(), ws, channel]() -> net::awaitable<void> {
        beast::flat_buffer buf;
        for (;;) {
          auto [rec, n] = co_await ws->async_read(buf, kAsTuple);
          if (rec) break;
          if (ws->got_text())
            channel->on_message(
                std::string_view(static_cast<const char*>(buf.data().data()), buf.size()));
          buf.consume(buf.size());
        }
        self->ws_reader_done_ = true;
        self->wake_.cancel();
      },
      net::detached);
  // The writer: what the channel has, whenever it is woken.
  ws->text(true);
  for (;;) {
    if (cut_ || ws_reader_done_ || core_->stopping.load()) break;
    ws_wake_pending_ = false;
    WsChannel::Pull p = channel->pull();
    bool broken = false;
    for (const auto& m : p.messages) {
      auto [wec, wn] = co_await ws->async_write(net::buffer(m), kAsTuple);
      if (wec) {
        broken = true;
        break;
      }
    }
    if (broken) break;
    if (!p.close_reason.empty()) {
      std::string reason = p.close_reason.substr(0, 120);
      co_await ws->async_close(websocket::close_reason(websocket::close_code::policy_error, reason),
                               kAsTuple);
      break;
    }
    if (p.messages.empty() && !ws_wake_pending_ && !ws_reader_done_ && !cut_) {
      wake_.expires_at(net::steady_timer::time_point::max());
      co_await wake_.async_wait(kAsTuple);
    }
  }
  if (core_->stopping.load() && !cut_ && !ws_reader_done_)
    co_await ws->async_close(websocket::close_reason(websocket::close_code::going_away), kAsTuple);
  // Wait for the reader (it holds the stream): closing the socket ends its read.
  error_code ignored;
  stream_.socket().close(ignored);
  while (!ws_reader_done_) {
    wake_.expires_at(net::steady_timer::time_point::max());
    co_await wake_.async_wait(kAsTuple);
  }
  cut_ = true;  // nothing more on this connection
  channel->closed();
}

net::awaitable<bool> Session::write_response(Response r, bool keep_alive, bool head) {
  if (r.status >= 400 && core_->opt.error_page) core_->opt.error_page(record_.path, accept_, r);
  int status = (r.status < 100 || r.status > 999) ? 500 : r.status;
  bool has_body = body_allowed(status);
  std::optional<uint64_t> cl = has_body ? std::optional<uint64_t>(r.body.size()) : std::nullopt;
  // The handler's Content-Length (e.g. for HEAD) is ignored: the body decides.
  Headers h;
  for (const auto& [k, v] : r.headers.items()) {
    if (!iequals(k, "Content-Length")) h.add(k, v);
  }
  if (!record_.request_id.empty()) h.set("X-Request-Id", record_.request_id);
  Head text = serialize_head(status, h, keep_alive, true, core_->opt.server_name, &cl);
  std::array<net::const_buffer, 2> bufs{
      net::buffer(text.text), net::buffer(r.body.data(), (head || !has_body) ? 0 : r.body.size())};
  stream_.expires_after(core_->opt.read_timeout);
  auto [ec, n] = co_await io([&](auto& s) { return net::async_write(s, bufs, kAsTuple); });
  request_done(ec ? 0 : status, 0, ec ? 0 : bufs[1].size());
  co_return !ec;
}

net::awaitable<void> Session::loop() {
  const ServerOptions& opt = core_->opt;
  for (;;) {
    if (cut_ || close_after_ || core_->stopping.load()) co_return;
    http::request_parser<http::empty_body> hp;
    hp.header_limit(static_cast<std::uint32_t>(std::min<size_t>(opt.max_header_bytes, UINT32_MAX)));
    hp.body_limit(boost::none);
    idle_ = buffer_.size() == 0;
    // Down to what it holds: nothing, or the start of a pipelined request.
    if (buffer_.capacity() > kIdleBuffer && buffer_.size() <= kIdleBuffer) buffer_.shrink_to_fit();
    stream_.expires_after(opt.read_timeout);
    auto [ec, n] =
        co_await io([&](auto& s) { return http::async_read_header(s, buffer_, hp, kAsTuple); });
    idle_ = false;
    if (ec) {
      if (cut_) co_return;
      if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
        co_await write_error(431, "Request Header Fields Too Large");
      } else if (is_parse_error(ec)) {
        co_await write_error(400, "Problems parsing request");
      }
      co_return;  // EOF, timeout, reset: just close
    }

    auto& msg = hp.get();
    record_ = RequestRecord{};
    accept_ = std::string(msg[http::field::accept]);
    started_at_ = std::chrono::steady_clock::now();
    auto rid = msg["X-Request-Id"];
    record_.request_id = request_id_for(std::string_view(rid.data(), rid.size()));
    std::string method(msg.method_string());
    std::string target(msg.target());
    bool http11 = msg.version() >= 11;
    bool keep_alive = msg.keep_alive() && http11;
    bool head = method == "HEAD";
    bool has_body = !hp.is_done();
    auto after = [&] {
      return keep_alive && !has_body && !close_after_ && !core_->stopping.load();
    };

    auto parsed = parse_target(target);
    if (!parsed) {
      co_await write_error(400, "Invalid request target");
      co_return;
    }
    RouteMatch m = core_->router->match(method, parsed->raw_path);
    record_.method = method;
    record_.path = parsed->path;
    record_.route = m.found() ? m.pattern : "unmatched";
    if (m.result != RouteMatch::Result::kFound) {
      Response r = m.result == RouteMatch::Result::kNotFound
                       ? error_response(404, "Not Found")
                       : error_response(405, "Method Not Allowed");
      if (m.result == RouteMatch::Result::kMethodNotAllowed)
        r.headers.set("Allow", m.allow_header());
      if (!co_await write_response(std::move(r), after(), head) || !after()) co_return;
      continue;
    }

    auto req = std::make_shared<Request>();
    req->method = std::move(method);
    req->target = std::move(target);
    req->path = std::move(parsed->path);
    req->query = std::move(parsed->query);
    req->remote_address = remote_;
    req->request_id = record_.request_id;
    req->params = std::move(m.params);
    req->access = std::move(m.access);
    req->route = m.pattern;
    for (const auto& f : msg) {
      req->headers.add(std::string(f.name_string()), std::string(f.value()));
    }
    bool expect_continue = false;
    if (auto e = req->headers.get("Expect")) {
      if (!iequals(*e, "100-continue")) {
        co_await write_error(417, "Expectation Failed");
        co_return;
      }
      expect_continue = has_body;
    }

    if (!m.streaming() && opt.websocket && req->method == "GET" && websocket::is_upgrade(msg)) {
      // WebSocket: the middlewares decide who calls, then the hook accepts or refuses.
      ++seq_;
      pending_.reset();
      bool answered = false;
      {
        auto state = make_state(req);
        Responder responder = [state](Response r) { state->deliver(std::move(r)); };
        answered = run_middlewares(*req, responder);
        if (!answered) {
          std::optional<WsResult> res;
          try {
            res = opt.websocket(*req);
          } catch (...) {
            res = WsResult(response_for_exception(std::current_exception()));
          }
          if (!res) {
            try {
              (*m.handler)(*req, responder);
            } catch (...) {
              responder(response_for_exception(std::current_exception()));
            }
            answered = true;
          } else if (auto* r = std::get_if<Response>(&*res)) {
            responder(std::move(*r));
            answered = true;
          } else {
            state->done = true;
            auto channel = std::get<std::shared_ptr<WsChannel>>(std::move(*res));
            if (tls_)
              co_await run_websocket(*tls_, msg, channel);
            else
              co_await run_websocket(stream_, msg, channel);
            co_return;
          }
        }
      }
      co_await wait_wake(false);
      if (cut_ || !pending_) co_return;
      Response r = std::move(*pending_);
      pending_.reset();
      add_missing_headers(r.headers, req->response_headers);
      if (opt.finish_response) opt.finish_response(*req, r);
      if (!co_await write_response(std::move(r), false, head)) co_return;
      co_return;
    }

    if (!m.streaming()) {
      if (has_body) {
        if (auto cl = hp.content_length(); cl && *cl > opt.max_body_bytes) {
          co_await write_error(413, "Request body too large");
          co_return;
        }
        http::request_parser<http::string_body> bp{std::move(hp)};
        bp.body_limit(opt.max_body_bytes);
        if (expect_continue) {
          static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
          stream_.expires_after(opt.read_timeout);
          auto [wec, wn] = co_await io(
              [&](auto& s) { return net::async_write(s, net::buffer(k100), kAsTuple); });
          if (wec) co_return;
        }
        reserve_for_body(buffer_, bp.content_length_remaining());
        stream_.expires_after(opt.read_timeout);
        auto [rec, rn] =
            co_await io([&](auto& s) { return http::async_read(s, buffer_, bp, kAsTuple); });
        if (rec) {
          if (cut_) co_return;
          if (rec == http::error::body_limit) {
            co_await write_error(413, "Request body too large");
          } else if (is_parse_error(rec)) {
            co_await write_error(400, "Problems parsing request body");
          }
          co_return;
        }
        req->body = std::move(bp.get().body());
        record_.bytes_in = req->body.size();
        has_body = false;  // consumed
      }
      ++seq_;
      pending_.reset();
      {
        auto state = make_state(req);
        Responder responder = [state](Response r) { state->deliver(std::move(r)); };
        state.reset();
        if (!run_middlewares(*req, responder)) {
          try {
            (*m.handler)(*req, responder);
          } catch (...) {
            responder(response_for_exception(std::current_exception()));
          }
        }
      }  // our copy is dropped: if nobody else holds one, the state answers 500
      co_await wait_wake(false);
      if (cut_ || !pending_) co_return;
      Response r = std::move(*pending_);
      pending_.reset();
      add_missing_headers(r.headers, req->response_headers);
      if (opt.finish_response) opt.finish_response(*req, r);
      if (!co_await write_response(std::move(r), after(), head) || !after()) co_return;
      continue;
    }

    // Streaming route. Middlewares run here (on the I/O thread), the handler on a worker.
    ++seq_;
    pending_.reset();
    bool answered = false;
    {
      auto state = make_state(req);
      Responder responder = [state](Response r) { state->deliver(std::move(r)); };
      answered = run_middlewares(*req, responder);
      if (!answered) state->done = true;  // passed on: the exchange answers
    }
    if (answered) {
      co_await wait_wake(false);
      if (cut_ || !pending_) co_return;
      Response r = std::move(*pending_);
      pending_.reset();
      add_missing_headers(r.headers, req->response_headers);
      if (opt.finish_response) opt.finish_response(*req, r);
      if (!co_await write_response(std::move(r), after(), head) || !after()) co_return;
      continue;
    }
    std::string ce = req->headers.get("Content-Encoding").value_or("");
    bool gzip = iequals(ce, "gzip") || iequals(ce, "x-gzip");
    if (!ce.empty() && !gzip && !iequals(ce, "identity")) {
      co_await write_error(415, "Unsupported Content-Encoding");
      co_return;
    }
    auto ex = std::make_shared<StreamExchange>(shared_from_this(), std::move(hp), has_body, gzip,
                                               expect_continue, keep_alive, head, http11);
    ex->set_request_id(record_.request_id);
    ex->set_extra_headers(req->response_headers);
    ++seq_;
    stream_done_ = false;
    bool queued = core_->pool.submit([ex, req, handler = m.streaming_handler, seq = seq_,
                                      w = weak_from_this(), exec = executor()] {
      std::exception_ptr err;
      try {
        (*handler)(*req, *ex);
      } catch (...) {
        err = std::current_exception();
      }
      ex->complete(err);
      net::post(exec, [w, seq] {
        if (auto s = w.lock()) s->on_stream_done(seq);
      });
    });
    if (!queued) {
      co_await write_error(503, "Service Unavailable");
      co_return;
    }
    co_await wait_wake(true);
    if (stream_done_) request_done(ex->status(), ex->bytes_in(), ex->bytes_out());
    if (cut_ || !ex->reusable() || close_after_ || core_->stopping.load()) co_return;
  }
}

// ---------------------------------------------------------------------------------------------

net::awaitable<void> accept_loop(std::shared_ptr<Core> core) {
  net::steady_timer backoff(core->ioc);
  for (;;) {
    auto [ec, socket] = co_await core->acceptor.async_accept(net::make_strand(core->ioc), kAsTuple);
    if (core->stopping.load() || ec == net::error::operation_aborted) co_return;
    if (ec) {
      // e.g. out of file descriptors: do not spin
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(kAsTuple);
      continue;
    }
    auto session = std::make_shared<Session>(core, std::move(socket));
    session->register_self();
    net::co_spawn(session->executor(), Session::run(session), net::detached);
  }
}

// An asio context sharing the OpenSSL context of `tls`.
std::shared_ptr<net::ssl::context> asio_context(const TlsContext& tls) {
  return std::make_shared<net::ssl::context>(static_cast<SSL_CTX*>(tls.new_native_reference()));
}

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<Core> core = std::make_shared<Core>();
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool started = false;
  bool stopped = false;
};

HttpServer::HttpServer(ServerOptions options, std::shared_ptr<const Router> router,
                       std::vector<Middleware> middlewares)
    : impl_(std::make_unique<Impl>()) {
  if (!router) throw Error(Code::kInvalidArgument, "HttpServer: null router");
  impl_->core->opt = std::move(options);
  impl_->core->router = std::move(router);
  impl_->core->middlewares = std::move(middlewares);
}

HttpServer::~HttpServer() {
  try {
    stop();
  } catch (...) {
  }
}

uint16_t HttpServer::port() const {
  return impl_->port;
}

size_t HttpServer::active_streams() const {
  return impl_->core->pool.busy();
}

bool HttpServer::tls() const {
  return impl_->core->current_tls() != nullptr;
}

std::string HttpServer::reload_tls() {
  Core& core = *impl_->core;
  if (!tls()) throw Error(Code::kFailedPrecondition, "the API serves plain HTTP: no TLS to reload");
  auto loaded = TlsContext::load({core.opt.tls_cert_file, core.opt.tls_key_file});
  auto ctx = asio_context(*loaded);
  MutexLock lk(core.tls_mu);
  core.tls = std::move(ctx);
  return loaded->summary();
}

void HttpServer::start() {
  GUTS_ASSERT(!impl_->started, "HttpServer::start called twice");
  Core& core = *impl_->core;
  error_code ec;
  auto addr = net::ip::make_address(core.opt.address, ec);
  if (ec) throw Error(Code::kInvalidArgument, "invalid listen address: " + core.opt.address);
  if (!core.opt.tls_cert_file.empty() || !core.opt.tls_key_file.empty()) {
    auto ctx = asio_context(*TlsContext::load({core.opt.tls_cert_file, core.opt.tls_key_file}));
    MutexLock lk(core.tls_mu);
    core.tls = std::move(ctx);
  }
  tcp::endpoint ep(addr, core.opt.port);
  auto fail = [&](const char* what) {
    throw Error(Code::kUnavailable, std::string("cannot ") + what + " " + core.opt.address + ":" +
                                        std::to_string(core.opt.port) + ": " + ec.message());
  };
  core.acceptor.open(ep.protocol(), ec);
  if (ec) fail("open socket for");
  core.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  core.acceptor.bind(ep, ec);
  if (ec) fail("bind");
  core.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail("listen on");
  impl_->port = core.acceptor.local_endpoint().port();
  impl_->started = true;

  impl_->work.emplace(net::make_work_guard(core.ioc));
  net::co_spawn(core.ioc, accept_loop(impl_->core), net::detached);
  core.pool.start(core.opt.streaming_threads);
  for (int i = 0; i < std::max(1, core.opt.threads); ++i) {
    impl_->threads.emplace_back([c = impl_->core.get()] {
      set_thread_name("guts-http");
      for (;;) {
        try {
          c->ioc.run();
          return;
        } catch (...) {
          // a handler threw through Asio: keep serving
        }
      }
    });
  }
}

void HttpServer::stop() {
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  auto core = impl_->core;
  core->stopping = true;
  net::post(core->ioc, [core] {
    error_code ec;
    core->acceptor.close(ec);
  });
  // Graceful: idle connections close now, busy ones after their current response.
  for (auto& s : core->live_sessions()) {
    net::post(s->executor(), [s] { s->graceful_stop(); });
  }
  auto deadline = std::chrono::steady_clock::now() + core->opt.shutdown_grace;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lk(core->mu);
      if (core->sessions.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& s : core->live_sessions()) {
    net::post(s->executor(), [s] { s->force_stop(); });
  }
  // Workers finish (their socket operations now fail fast) while the I/O threads still run.
  core->pool.stop_and_join();
  impl_->work.reset();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace guts::api
