// The relay client (nostr/relay_client.h). One io_context on one thread runs a coroutine that
// dials, serves the connection and waits out the backoff, forever, until stop(). While a
// connection is up, a reader coroutine hands received frames to the user and the dialling
// coroutine turns into the writer: one async_write at a time, from the outbox that send() fills.
//
// Cancellation: every wait (resolve, connect, TLS, handshake, backoff, writer idle) is on an
// object that the I/O thread can cancel or close. stop() sets `stopping` and posts on_stop(),
// which cancels whatever is pending; every coroutine checks `stopping` after each resumption.
#include "nostr/relay_client.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cctype>
#include <deque>
#include <exception>
#include <optional>
#include <random>
#include <thread>
#include <type_traits>
#include <utility>

#include "core/status.h"
#include "core/thread_annotations.h"

namespace guts::nostr {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kAsTuple = net::as_tuple(net::use_awaitable);
constexpr const char* kUserAgent = "guts-nostr/1";
// stop() waits this long for the relay to answer the close frame before cutting the socket.
constexpr auto kCloseWait = std::chrono::seconds(1);
// A connection that lasted this long was healthy: the next reconnect starts at min_backoff.
constexpr auto kStableConnection = std::chrono::seconds(10);
// The read buffer grows to the largest message; past this it is given back after each message.
constexpr size_t kKeepReadBuffer = 64 * 1024;

using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// What the URL names, in the forms each layer needs.
struct Target {
  bool tls = false;
  std::string host;         // for DNS, SNI and certificate checks: no brackets
  bool host_is_ip = false;  // an IP literal: no SNI, the certificate must name the address
  std::string port;
  std::string host_header;  // "relay.example", "[::1]:7777": the port only when not the default
  std::string target;       // "/", "/path?query"
};

[[noreturn]] void bad_url(const std::string& url, const std::string& problem) {
  throw Error(Code::kInvalidArgument, "relay URL '" + url + "': " + problem);
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// ws://host[:port][/path][?query] and wss://…. No user info (nothing would send it) and no
// fragment (RFC 6455 forbids one); the path and query go out as they are, so they must already
// be percent-encoded ASCII.
Target parse_url(const std::string& url) {
  Target t;
  std::string_view rest = url;
  if (starts_with_nocase(rest, "ws://")) {
    rest.remove_prefix(5);
  } else if (starts_with_nocase(rest, "wss://")) {
    t.tls = true;
    rest.remove_prefix(6);
  } else {
    bad_url(url, "must start with ws:// or wss://");
  }
  for (char c : rest)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      bad_url(url, "spaces, control characters and non-ASCII bytes must be percent-encoded");
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (tail.find('#') != std::string_view::npos) bad_url(url, "a WebSocket URL has no fragment");
  if (authority.find('@') != std::string_view::npos) bad_url(url, "user info is not supported");

  std::string_view host, port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) bad_url(url, "unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    boost::system::error_code ec;
    net::ip::make_address_v6(std::string(host), ec);
    if (ec) bad_url(url, "'" + std::string(host) + "' is not an IPv6 address");
    t.host_is_ip = true;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_url(url, "unexpected text after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) bad_url(url, "empty port");
    }
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) bad_url(url, "empty port");
    }
    for (char c : host)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
        bad_url(url, "'" + std::string(host) + "' is not a host name or address");
    boost::system::error_code ec;
    net::ip::make_address_v4(std::string(host), ec);
    t.host_is_ip = !ec;
  }
  if (host.empty()) bad_url(url, "no host");
  const char* default_port = t.tls ? "443" : "80";
  if (!port.empty()) {
    unsigned long n = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || n > 65535)
        bad_url(url, "the port must be a number from 1 to 65535");
      n = n * 10 + static_cast<unsigned long>(c - '0');
    }
    if (n == 0 || n > 65535) bad_url(url, "the port must be a number from 1 to 65535");
    t.port = std::to_string(n);
  } else {
    t.port = default_port;
  }
  t.host.assign(host);
  std::transform(t.host.begin(), t.host.end(), t.host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  t.host_header = authority.front() == '[' ? "[" + t.host + "]" : t.host;
  if (t.port != default_port) t.host_header += ":" + t.port;
  if (tail.empty()) {
    t.target = "/";
  } else if (tail.front() == '?') {
    t.target = "/" + std::string(tail);
  } else {
    t.target.assign(tail);
  }
  return t;
}

// A relay-chosen string (a close reason) made safe for a log line: printable ASCII, bounded.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 120))
    out +=
        (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) ? '?' : c;
  return out;
}

}  // namespace

struct RelayClient::Impl {
  Impl(RelayClientOptions o, TextHandler t, ConnectedHandler c, DisconnectedHandler d)
      : opt(std::move(o)),
        on_text(std::move(t)),
        on_connected(std::move(c)),
        on_disconnected(std::move(d)),
        rng(std::random_device{}()) {}

  // Fixed once start() has spawned the thread (start() writes target and tls before).
  const RelayClientOptions opt;
  const TextHandler on_text;
  const ConnectedHandler on_connected;
  const DisconnectedHandler on_disconnected;
  Target target;
  std::unique_ptr<net::ssl::context> tls;

  // Shared by send() callers and the I/O thread.
  mutable Mutex mu;
  bool connected GUTS_GUARDED_BY(mu) = false;
  std::deque<std::string> outbox GUTS_GUARDED_BY(mu);
  size_t queued_bytes GUTS_GUARDED_BY(mu) = 0;  // the bytes in outbox
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> connections{0};
  // The I/O thread's id once it runs: stop() from a handler must not join its own thread.
  std::atomic<std::thread::id> io_thread_id{};

  Mutex lifecycle_mu;  // start() and stop()
  bool started GUTS_GUARDED_BY(lifecycle_mu) = false;
  std::thread thread GUTS_GUARDED_BY(lifecycle_mu);

  // The I/O thread's alone. ioc comes first so that it outlives the objects bound to it.
  net::io_context ioc{1};
  tcp::resolver resolver{ioc};
  net::steady_timer backoff_timer{ioc};
  net::steady_timer deadline{ioc};         // the current dial's connect_timeout
  net::steady_timer wake{ioc};             // the writer's idle wait; cancelled to wake it
  net::steady_timer close_guard{ioc};      // bounds stop()'s close handshake
  std::function<void()> abort_connection;  // closes the current attempt's socket; empty between
  bool connecting = false;                 // an attempt is before the end of its handshake
  bool timed_out = false;                  // the deadline fired during the current attempt
  uint64_t attempt = 0;
  bool reader_done = true;
  int failures = 0;      // consecutive failed dials and short-lived connections: the backoff
  int failed_dials = 0;  // since the last successful handshake: the logs
  std::mt19937_64 rng;

  struct Outcome {
    bool established = false;
    Clock::time_point since;
    std::string reason;
  };

  void start_thread() GUTS_REQUIRES(lifecycle_mu) {
    net::co_spawn(ioc, run(), [this](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("nostr relay {}: the client stopped on an internal error: {}", opt.url,
                      ex.what());
      }
    });
    thread = std::thread([this] {
      io_thread_id.store(std::this_thread::get_id());
      // An exception escaping a completion handler unwinds run(); running again resumes the rest.
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("nostr relay {}: unexpected exception on the I/O thread: {}", opt.url,
                        e.what());
        }
      }
    });
  }

  // On the I/O thread, once, after `stopping` is set.
  void on_stop() {
    backoff_timer.cancel();
    resolver.cancel();
    if (!abort_connection) return;  // between attempts: the run loop sees `stopping`
    if (connecting) {
      abort_connection();
      return;
    }
    // Connected: the writer sends a close frame; a relay that does not answer (or does not read,
    // stalling the writer) is cut off after kCloseWait.
    wake.cancel();
    close_guard.expires_after(kCloseWait);
    close_guard.async_wait([this](beast::error_code ec) {
      if (!ec && abort_connection) abort_connection();
    });
  }

  template <class F, class... A>
  void call(const char* what, const F& f, A&&... args) {
    if (!f || stopping.load()) return;
    try {
      f(std::forward<A>(args)...);
    } catch (const std::exception& e) {
      spdlog::error("nostr relay {}: the {} handler threw: {}", opt.url, what, e.what());
    } catch (...) {
      spdlog::error("nostr relay {}: the {} handler threw", opt.url, what);
    }
  }

  milliseconds backoff_delay() {
    auto lo = std::max(opt.min_backoff, milliseconds(1));
    auto hi = std::max(opt.max_backoff, lo);
    auto d = lo;
    for (int i = 1; i < failures && d < hi; ++i) d *= 2;
    d = std::min(d, hi);
    std::uniform_int_distribution<int64_t> jitter(d.count() / 2, d.count());
    return milliseconds(jitter(rng));
  }

  net::awaitable<void> run() {
    while (!stopping.load()) {
      Outcome out;
      try {
        out = co_await dial();
      } catch (const std::exception& e) {
        out.reason = std::string("internal error: ") + e.what();
      }
      if (stopping.load()) {
        if (out.established) spdlog::info("nostr relay {}: closed (stopping)", opt.url);
        break;
      }
      if (out.established && Clock::now() - out.since >= kStableConnection) failures = 0;
      failures = std::min(failures + 1, 64);  // the delay is long capped by then
      milliseconds delay = backoff_delay();
      if (out.established) {
        spdlog::info("nostr relay {}: disconnected: {}; reconnecting in {} ms", opt.url, out.reason,
                     delay.count());
        call("on_disconnected", on_disconnected, out.reason);
      } else {
        // A relay that is down for hours would otherwise log every attempt.
        ++failed_dials;
        auto level = failed_dials == 1 ? spdlog::level::warn : spdlog::level::debug;
        spdlog::log(level, "nostr relay {}: cannot connect: {}; retrying in {} ms", opt.url,
                    out.reason, delay.count());
      }
      if (stopping.load()) break;
      backoff_timer.expires_after(delay);
      co_await backoff_timer.async_wait(kAsTuple);
    }
    close_guard.cancel();
    deadline.cancel();
  }

  net::awaitable<Outcome> dial() {
    if (target.tls) {
      TlsWs ws(ioc, *tls);
      co_return co_await session(ws);
    }
    PlainWs ws(ioc);
    co_return co_await session(ws);
  }

  // Why a dial step failed: its error, or the deadline, or stop().
  std::string failure(const char* step, beast::error_code ec) const {
    if (stopping.load()) return "stopped";
    if (timed_out)
      return fmt::format("{} timed out (connect_timeout {} ms)", step, opt.connect_timeout.count());
    return fmt::format("{}: {}", step, ec.message());
  }

  // One attempt: dial, then serve the connection until it ends.
  template <class Ws>
  net::awaitable<Outcome> session(Ws& ws) {
    Outcome out;
    // Whatever way this coroutine ends, the attempt's state is reset.
    struct Reset {
      Impl* impl;
      ~Reset() {
        impl->connecting = false;
        impl->abort_connection = nullptr;
        impl->deadline.cancel();
      }
    } reset{this};
    abort_connection = [&ws] { beast::get_lowest_layer(ws).close(); };
    connecting = true;
    timed_out = false;
    uint64_t id = ++attempt;
    deadline.expires_after(opt.connect_timeout);
    deadline.async_wait([this, id](beast::error_code ec) {
      if (ec || id != attempt || !connecting) return;
      timed_out = true;
      resolver.cancel();
      abort_connection();
    });

    auto [rec, endpoints] = co_await resolver.async_resolve(target.host, target.port, kAsTuple);
    if (rec || stopping.load() || timed_out) {
      out.reason = failure("resolve", rec);
      co_return out;
    }
    auto [cec, ep] = co_await beast::get_lowest_layer(ws).async_connect(endpoints, kAsTuple);
    if (cec || stopping.load() || timed_out) {
      out.reason = failure("connect", cec);
      co_return out;
    }
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().set_option(tcp::no_delay(true), ignored);

    if constexpr (std::is_same_v<Ws, TlsWs>) {
      SSL* ssl = ws.next_layer().native_handle();
      // SNI carries names only (RFC 6066); the certificate must name the host or the address.
      bool set = target.host_is_ip
                     ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), target.host.c_str()) == 1
                     : SSL_set_tlsext_host_name(ssl, target.host.c_str()) == 1 &&
                           SSL_set1_host(ssl, target.host.c_str()) == 1;
      if (!set) {
        out.reason = "TLS: cannot set the expected host name";
        co_return out;
      }
      if (!target.host_is_ip) SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      auto [hec] =
          co_await ws.next_layer().async_handshake(net::ssl::stream_base::client, kAsTuple);
      if (hec || stopping.load() || timed_out) {
        out.reason = failure("TLS handshake", hec);
        long verify = SSL_get_verify_result(ssl);
        if (hec && verify != X509_V_OK)
          out.reason += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
        co_return out;
      }
    }

    websocket::stream_base::timeout timeouts{};
    // The dial's deadline bounds the opening handshake; this bounds Beast's closing handshakes.
    timeouts.handshake_timeout = opt.connect_timeout;
    // Beast pings after half the idle timeout without a received frame and gives up after the
    // other half: a ping after one ping_interval of silence, the drop after two.
    timeouts.idle_timeout = 2 * opt.ping_interval;
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& req) { req.set(http::field::user_agent, kUserAgent); }));
    ws.read_message_max(opt.max_message_bytes);
    // One message, one frame: some relays do not reassemble continuation frames.
    ws.auto_fragment(false);
    ws.text(true);
    websocket::response_type res;
    auto [wec] = co_await ws.async_handshake(res, target.host_header, target.target, kAsTuple);
    if (wec || stopping.load() || timed_out) {
      out.reason = failure("WebSocket handshake", wec);
      if (wec == websocket::error::upgrade_declined)
        out.reason += fmt::format(" (HTTP {})", res.result_int());
      co_return out;
    }
    connecting = false;
    deadline.cancel();
    out.established = true;
    out.since = Clock::now();
    out.reason = co_await serve(ws);
    co_return out;
  }

  // A connected stream: announce it, start the reader, write the outbox until it ends.
  template <class Ws>
  net::awaitable<std::string> serve(Ws& ws) {
    {
      MutexLock l(mu);
      connected = true;
    }
    uint64_t n = connections.fetch_add(1) + 1;
    if (failed_dials > 0) {
      spdlog::info("nostr relay {}: connected (connection {}, after {} failed dials)", opt.url, n,
                   failed_dials);
    } else {
      spdlog::info("nostr relay {}: connected (connection {})", opt.url, n);
    }
    failed_dials = 0;
    call("on_connected", on_connected);

    std::string read_reason;
    reader_done = false;
    net::co_spawn(ioc, read_loop(ws, read_reason), [this, &read_reason](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          read_reason = std::string("internal error: ") + ex.what();
        }
      }
      reader_done = true;
      wake.cancel();
    });

    std::string write_reason;
    for (;;) {
      if (reader_done) break;
      if (stopping.load()) {
        co_await ws.async_close(websocket::close_code::going_away, kAsTuple);
        write_reason = "stopped";
        break;
      }
      std::optional<std::string> frame;
      {
        MutexLock l(mu);
        if (!outbox.empty()) {
          frame = std::move(outbox.front());
          outbox.pop_front();
          queued_bytes -= frame->size();
        }
      }
      if (frame) {
        auto [ec, written] = co_await ws.async_write(net::buffer(*frame), kAsTuple);
        if (ec) {
          write_reason = "write: " + ec.message();
          break;
        }
        continue;
      }
      wake.expires_at(net::steady_timer::time_point::max());
      co_await wake.async_wait(kAsTuple);
    }

    // Nothing queued now outlives the connection: the user re-sends in on_connected.
    {
      MutexLock l(mu);
      connected = false;
      outbox.clear();
      queued_bytes = 0;
    }
    if (!reader_done) abort_connection();  // ends the pending read
    while (!reader_done) {
      wake.expires_at(net::steady_timer::time_point::max());
      co_await wake.async_wait(kAsTuple);
    }
    close_guard.cancel();
    co_return read_reason.empty() ? write_reason : read_reason;
  }

  template <class Ws>
  net::awaitable<void> read_loop(Ws& ws, std::string& reason) {
    beast::flat_buffer buf;
    for (;;) {
      auto [ec, n] = co_await ws.async_read(buf, kAsTuple);
      if (ec) {
        reason = read_error(ec, ws);
        co_return;
      }
      if (!ws.got_text()) {
        spdlog::debug("nostr relay {}: ignored a binary message of {} bytes", opt.url, n);
        buf.clear();
        continue;
      }
      std::string text = beast::buffers_to_string(buf.data());
      buf.clear();
      if (buf.capacity() > kKeepReadBuffer) buf.shrink_to_fit();
      call("on_text", on_text, std::move(text));
    }
  }

  template <class Ws>
  std::string read_error(beast::error_code ec, Ws& ws) const {
    if (ec == websocket::error::closed) {
      const websocket::close_reason& cr = ws.reason();
      std::string out = fmt::format("relay closed the connection ({})", static_cast<int>(cr.code));
      if (!cr.reason.empty())
        out += ": " + printable(std::string_view(cr.reason.data(), cr.reason.size()));
      return out;
    }
    if (ec == websocket::error::message_too_big) {
      spdlog::warn("nostr relay {}: a message exceeded max_message_bytes ({}); dropping it",
                   opt.url, opt.max_message_bytes);
      return fmt::format("message larger than {} bytes", opt.max_message_bytes);
    }
    if (ec == websocket::error::bad_frame_payload) {
      // Beast checks text frames (and close reasons) for valid UTF-8 and fails the connection
      // with code 1007, as RFC 6455 section 8.1 requires; the frame never reaches on_text.
      spdlog::warn("nostr relay {}: the relay sent a frame that is not valid UTF-8; dropping it",
                   opt.url);
      return "invalid UTF-8 in a text frame";
    }
    if (ec == beast::error::timeout)
      return fmt::format("no frame from the relay within {} ms (two ping intervals)",
                         2 * opt.ping_interval.count());
    if (stopping.load()) return "stopped";
    return "read: " + ec.message();
  }
};

RelayClient::RelayClient(RelayClientOptions options, TextHandler on_text,
                         ConnectedHandler on_connected, DisconnectedHandler on_disconnected)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(on_text), std::move(on_connected),
                                   std::move(on_disconnected))) {}

RelayClient::~RelayClient() {
  stop();
}

void RelayClient::start() {
  Impl& m = *impl_;
  MutexLock l(m.lifecycle_mu);
  if (m.started || m.stopping.load())
    throw Error(Code::kFailedPrecondition, "relay client " + m.opt.url + " was started already");
  m.target = parse_url(m.opt.url);
  if (m.opt.connect_timeout.count() <= 0 || m.opt.ping_interval.count() <= 0 ||
      m.opt.max_message_bytes == 0)
    throw Error(Code::kInvalidArgument,
                "relay client " + m.opt.url +
                    ": connect_timeout, ping_interval and max_message_bytes must be positive");
  if (m.target.tls) {
    auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->set_verify_mode(net::ssl::verify_peer);
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec);
    if (ec) spdlog::warn("nostr relay {}: no system trust store: {}", m.opt.url, ec.message());
    if (!m.opt.ca_file.empty()) {
      ctx->load_verify_file(m.opt.ca_file, ec);
      if (ec)
        throw Error(Code::kInvalidArgument, "relay client " + m.opt.url +
                                                ": cannot load the CA file " + m.opt.ca_file +
                                                ": " + ec.message());
    }
    m.tls = std::move(ctx);
  }
  m.started = true;
  m.start_thread();
}

void RelayClient::stop() {
  Impl& m = *impl_;
  if (!m.stopping.exchange(true)) net::post(m.ioc, [&m] { m.on_stop(); });
  // From a handler: the thread finishes on its own; a later stop() or the destructor joins it.
  if (std::this_thread::get_id() == m.io_thread_id.load()) return;
  MutexLock l(m.lifecycle_mu);
  if (m.thread.joinable()) m.thread.join();
}

bool RelayClient::send(std::string text) {
  Impl& m = *impl_;
  MutexLock l(m.mu);
  if (!m.connected || text.size() > m.opt.max_queued_bytes - m.queued_bytes) return false;
  bool wake = m.outbox.empty();
  m.queued_bytes += text.size();
  m.outbox.push_back(std::move(text));
  // The writer drains the whole outbox once woken: one wake-up per idle-to-busy transition.
  if (wake) net::post(m.ioc, [&m] { m.wake.cancel(); });
  return true;
}

bool RelayClient::connected() const {
  MutexLock l(impl_->mu);
  return impl_->connected;
}

uint64_t RelayClient::connections() const {
  return impl_->connections.load();
}

const std::string& RelayClient::url() const {
  return impl_->opt.url;
}

}  // namespace guts::nostr
