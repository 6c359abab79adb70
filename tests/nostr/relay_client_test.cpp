// The relay client (nostr/relay_client.h) against an in-process WebSocket relay built with Beast
// on its own thread: plain and TLS, echoing or silent, dropped, restarted on the same port, or
// misbehaving (oversized and invalid UTF-8 frames). Every wait is on a condition with a deadline.
#include "nostr/relay_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

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
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/status.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using guts::nostr::RelayClient;
using guts::nostr::RelayClientOptions;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr auto kAsTuple = net::as_tuple(net::use_awaitable);
constexpr auto kWait = 5s;  // the deadline of every wait: generous, never reached when it works

// ---------------------------------------------------------------------------------------------
// A self-signed certificate (its own trust anchor) made with OpenSSL's API.

struct TestCert {
  std::string cert_pem, key_pem;
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

TestCert make_cert(const char* subject_alt_names) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Guts test relay"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_subject_alt_name, subject_alt_names}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  TestCert out;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  out.cert_pem = bio_text(bio);
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = bio_text(bio);
  BIO_free(bio);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path =
      ::testing::TempDir() + "relay_client_test_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

// ---------------------------------------------------------------------------------------------
// The relay.

// What the relay saw; the tests wait on it.
struct Seen {
  int tcp_accepted = 0;  // TCP connections, whatever became of them
  int accepted = 0;      // WebSocket handshakes
  int open = 0;          // WebSocket connections open now
  int rejected = 0;      // connections cut at once in reject mode
  int tls_failures = 0;  // failed TLS handshakes
  std::vector<std::string> frames;
  std::vector<std::string> hosts, targets, snis;
  std::vector<int> close_codes;  // of the close frames received
};

struct RelayOptions {
  std::optional<TestCert> tls;
  std::string address = "127.0.0.1";
};

class TestRelay {
 public:
  explicit TestRelay(RelayOptions opt = {}) : opt_(std::move(opt)) {
    if (opt_.tls) {
      tls_ = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
      tls_->use_certificate_chain(net::buffer(opt_.tls->cert_pem));
      tls_->use_private_key(net::buffer(opt_.tls->key_pem), net::ssl::context::pem);
    }
    thread_ = std::thread([this] { ioc_.run(); });
    try {
      listen();
    } catch (...) {
      guard_.reset();
      thread_.join();
      throw;
    }
  }
  ~TestRelay() {
    stop_listening();
    guard_.reset();
    ioc_.stop();
    thread_.join();
  }

  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/") const {
    std::string host =
        opt_.address.find(':') != std::string::npos ? "[" + opt_.address + "]" : opt_.address;
    return std::string(opt_.tls ? "wss://" : "ws://") + host + ":" + std::to_string(port_) + path;
  }

  // Listens (again: on the same port as before).
  void listen() {
    run_sync([this] {
      acceptor_ = std::make_shared<tcp::acceptor>(ioc_);
      tcp::endpoint ep(net::ip::make_address(opt_.address), port_);
      acceptor_->open(ep.protocol());
      acceptor_->set_option(net::socket_base::reuse_address(true));
      acceptor_->bind(ep);
      acceptor_->listen();
      port_ = acceptor_->local_endpoint().port();
      net::co_spawn(ioc_, accept_loop(acceptor_), net::detached);
    });
  }
  // Closes the port and cuts every connection.
  void stop_listening() {
    run_sync([this] {
      if (acceptor_) acceptor_->close();
      acceptor_.reset();
      for (auto& [id, c] : conns_) c->cut();
    });
  }
  // To every connection whose handshake is done (Seen::accepted counts them).
  void send_all(std::string frame, bool binary = false) {
    run_sync([&] {
      for (auto& [id, c] : conns_)
        if (c->open) c->push({binary ? Kind::kBinary : Kind::kText, frame});
    });
  }
  void cut_all() {  // TCP close, no close frame
    run_sync([&] {
      for (auto& [id, c] : conns_) c->cut();
    });
  }
  void close_all() {  // close frame 1000
    run_sync([&] {
      for (auto& [id, c] : conns_)
        if (c->open) c->push({Kind::kClose, ""});
    });
  }
  void set_echo(bool on) {
    run_sync([&] { echo_ = on; });
  }
  // The next n WebSocket connections are never read from: no pong, no close answer.
  void set_silent(int n) {
    run_sync([&] { silent_ = n; });
  }
  // New TCP connections are closed at once (the relay is "down" without refusing).
  void set_reject(bool on) {
    run_sync([&] { reject_ = on; });
  }
  // TCP connections are accepted and then left alone: the client waits for its handshake.
  void set_hang(bool on) {
    run_sync([&] { hang_ = on; });
  }

  Seen seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }
  bool wait(const std::function<bool(const Seen&)>& pred, Clock::duration d = kWait) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, d, [&] { return pred(seen_); });
  }

 private:
  enum class Kind { kText, kBinary, kClose };
  struct Frame {
    Kind kind;
    std::string data;
  };
  struct Conn {
    bool open = false;  // the WebSocket handshake is done: frames may go out
    virtual ~Conn() = default;
    virtual void push(Frame f) = 0;
    virtual void cut() = 0;
  };

  template <class Next>
  struct WsConn : Conn, std::enable_shared_from_this<WsConn<Next>> {
    template <class... A>
    WsConn(net::io_context& ioc, A&&... args) : ws(std::forward<A>(args)...), hold(ioc) {}
    websocket::stream<Next> ws;
    net::steady_timer hold;  // silent and hanging connections wait on it until cut
    std::deque<Frame> out;
    bool writing = false;

    void push(Frame f) override {
      out.push_back(std::move(f));
      if (writing) return;
      writing = true;
      net::co_spawn(ws.get_executor(), write_loop(this->shared_from_this()), net::detached);
    }
    void cut() override {
      beast::get_lowest_layer(ws).close();
      hold.cancel();
    }
    static net::awaitable<void> write_loop(std::shared_ptr<WsConn> self) {
      while (!self->out.empty()) {
        Frame f = std::move(self->out.front());
        self->out.pop_front();
        beast::error_code ec;
        if (f.kind == Kind::kClose) {
          std::tie(ec) = co_await self->ws.async_close(websocket::close_code::normal, kAsTuple);
        } else {
          self->ws.binary(f.kind == Kind::kBinary);
          size_t n = 0;
          std::tie(ec, n) = co_await self->ws.async_write(net::buffer(f.data), kAsTuple);
        }
        if (ec) break;
      }
      self->writing = false;
    }
  };

  // Runs f on the relay's thread and waits; f's exception is rethrown here.
  template <class F>
  void run_sync(F f) {
    std::promise<void> done;
    net::post(ioc_, [&] {
      try {
        f();
        done.set_value();
      } catch (...) {
        done.set_exception(std::current_exception());
      }
    });
    done.get_future().get();
  }
  template <class F>
  void note(F f) {
    {
      std::lock_guard<std::mutex> l(mu_);
      f(seen_);
    }
    cv_.notify_all();
  }

  net::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor) {
    for (;;) {
      auto [ec, sock] = co_await acceptor->async_accept(kAsTuple);
      if (ec) co_return;
      note([](Seen& s) { ++s.tcp_accepted; });
      if (reject_) {
        note([](Seen& s) { ++s.rejected; });
        continue;  // the socket closes here
      }
      if (tls_) {
        auto c = std::make_shared<WsConn<beast::ssl_stream<beast::tcp_stream>>>(
            ioc_, std::move(sock), *tls_);
        net::co_spawn(ioc_, serve(c), net::detached);
      } else {
        auto c = std::make_shared<WsConn<beast::tcp_stream>>(ioc_, std::move(sock));
        net::co_spawn(ioc_, serve(c), net::detached);
      }
    }
  }

  template <class Next>
  net::awaitable<void> serve(std::shared_ptr<WsConn<Next>> c) {
    uint64_t id = next_id_++;
    conns_[id] = c;
    co_await serve_connection(c);
    conns_.erase(id);
  }

  template <class Next>
  net::awaitable<void> serve_connection(std::shared_ptr<WsConn<Next>> c) {
    if (hang_) {
      c->hold.expires_at(net::steady_timer::time_point::max());
      co_await c->hold.async_wait(kAsTuple);
      co_return;
    }
    if constexpr (!std::is_same_v<Next, beast::tcp_stream>) {
      auto [ec] =
          co_await c->ws.next_layer().async_handshake(net::ssl::stream_base::server, kAsTuple);
      if (ec) {
        note([](Seen& s) { ++s.tls_failures; });
        co_return;
      }
      const char* sni =
          SSL_get_servername(c->ws.next_layer().native_handle(), TLSEXT_NAMETYPE_host_name);
      note([&](Seen& s) { s.snis.push_back(sni ? sni : ""); });
    }
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    auto [rec, rn] = co_await http::async_read(c->ws.next_layer(), buf, req, kAsTuple);
    if (rec) co_return;
    auto [aec] = co_await c->ws.async_accept(req, kAsTuple);
    if (aec) co_return;
    c->open = true;
    note([&](Seen& s) {
      ++s.accepted;
      ++s.open;
      s.hosts.emplace_back(req[http::field::host]);
      s.targets.emplace_back(req.target());
    });
    if (silent_ > 0) {
      --silent_;
      c->hold.expires_at(net::steady_timer::time_point::max());
      co_await c->hold.async_wait(kAsTuple);
    } else {
      for (;;) {
        beast::flat_buffer b;
        auto [ec, n] = co_await c->ws.async_read(b, kAsTuple);
        if (ec) {
          if (ec == websocket::error::closed)
            note([&](Seen& s) { s.close_codes.push_back(static_cast<int>(c->ws.reason().code)); });
          break;
        }
        std::string text = beast::buffers_to_string(b.data());
        note([&](Seen& s) { s.frames.push_back(text); });
        if (echo_) c->push({Kind::kText, text});
      }
    }
    note([](Seen& s) { --s.open; });
  }

  RelayOptions opt_;
  std::unique_ptr<net::ssl::context> tls_;
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> guard_ = net::make_work_guard(ioc_);
  std::thread thread_;
  // The relay thread's alone.
  std::shared_ptr<tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
  std::map<uint64_t, std::shared_ptr<Conn>> conns_;
  uint64_t next_id_ = 0;
  bool echo_ = true, reject_ = false, hang_ = false;
  int silent_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  Seen seen_;
};

// A port on which nothing listens (bound, then released).
uint16_t free_port() {
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// ---------------------------------------------------------------------------------------------
// The client side: what the handlers saw.

struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> texts;
  int connected = 0;
  std::vector<std::string> disconnects;
  std::atomic<bool> stopped{false};         // stop() has returned: a handler now is a bug
  std::function<void(int n)> on_connected;  // runs in the handler (n: the connection's number)

  template <class P>
  bool wait(P pred, Clock::duration d = kWait) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, d, pred);
  }
  // Snapshots, for checks outside wait().
  std::vector<std::string> texts_now() {
    std::lock_guard<std::mutex> l(mu);
    return texts;
  }
  std::vector<std::string> disconnects_now() {
    std::lock_guard<std::mutex> l(mu);
    return disconnects;
  }
  int connected_now() {
    std::lock_guard<std::mutex> l(mu);
    return connected;
  }
};

RelayClientOptions fast_options(std::string url) {
  RelayClientOptions o;
  o.url = std::move(url);
  o.min_backoff = 20ms;
  o.max_backoff = 200ms;
  o.connect_timeout = 2s;
  o.ping_interval = 5s;
  return o;
}

std::unique_ptr<RelayClient> make_client(Recorder& r, RelayClientOptions o) {
  return std::make_unique<RelayClient>(
      std::move(o),
      [&r](std::string text) {
        EXPECT_FALSE(r.stopped.load()) << "on_text after stop()";
        {
          std::lock_guard<std::mutex> l(r.mu);
          r.texts.push_back(std::move(text));
        }
        r.cv.notify_all();
      },
      [&r] {
        EXPECT_FALSE(r.stopped.load()) << "on_connected after stop()";
        int n = 0;
        {
          std::lock_guard<std::mutex> l(r.mu);
          n = ++r.connected;
        }
        if (r.on_connected) r.on_connected(n);
        r.cv.notify_all();
      },
      [&r](std::string reason) {
        EXPECT_FALSE(r.stopped.load()) << "on_disconnected after stop()";
        {
          std::lock_guard<std::mutex> l(r.mu);
          r.disconnects.push_back(std::move(reason));
        }
        r.cv.notify_all();
      });
}

// Both ends see connection n: the relay sends to a connection only once its handshake is done.
void wait_connected(Recorder& r, TestRelay& relay, int n) {
  ASSERT_TRUE(r.wait([&] { return r.connected == n; })) << "connection " << n;
  ASSERT_TRUE(relay.wait([&](const Seen& s) { return s.accepted == n; })) << "connection " << n;
}

void stop(RelayClient& c, Recorder& r) {
  c.stop();
  r.stopped = true;
}

template <class F>
Clock::duration timed(F f) {
  auto t0 = Clock::now();
  f();
  return Clock::now() - t0;
}

// ---------------------------------------------------------------------------------------------

TEST(RelayClient, ConnectsWithHostHeaderAndPath) {
  TestRelay relay;
  Recorder r;
  auto c = make_client(r, fast_options(relay.url("/nostr?v=1")));
  EXPECT_EQ(c->url(), relay.url("/nostr?v=1"));
  c->start();
  ASSERT_TRUE(r.wait([&] { return r.connected == 1; }));
  EXPECT_TRUE(c->connected());
  EXPECT_EQ(c->connections(), 1u);
  ASSERT_TRUE(relay.wait([](const Seen& s) { return s.accepted == 1; }));
  Seen s = relay.seen();
  EXPECT_EQ(s.hosts, std::vector<std::string>{"127.0.0.1:" + std::to_string(relay.port())});
  EXPECT_EQ(s.targets, std::vector<std::string>{"/nostr?v=1"});
  stop(*c, r);
  EXPECT_FALSE(c->connected());
}

TEST(RelayClient, RoundTrip) {
  TestRelay relay;
  Recorder r;
  auto c = make_client(r, fast_options(relay.url()));
  c->start();
  ASSERT_TRUE(r.wait([&] { return r.connected == 1; }));
  const std::string req = R"(["REQ","sub",{"kinds":[30617]}])";
  ASSERT_TRUE(c->send(req));
  ASSERT_TRUE(relay.wait([](const Seen& s) { return s.frames.size() == 1; }));
  EXPECT_EQ(relay.seen().frames[0], req);
  ASSERT_TRUE(r.wait([&] { return r.texts.size() == 1; }));  // the echo
  EXPECT_EQ(r.texts_now()[0], req);
  stop(*c, r);
}

TEST(RelayClient, SendFailsWhileDisconnected) {
  Recorder r;
  auto o = fast_options("ws://127.0.0.1:" + std::to_string(free_port()) + "/");
  auto c = make_client(r, o);
  EXPECT_FALSE(c->send("before start"));
  c->start();
  EXPECT_FALSE(c->send("nothing listens"));
  EXPECT_FALSE(c->connected());
  stop(*c, r);
  EXPECT_FALSE(c->send("after stop"));
  EXPECT_EQ(r.connected_now(), 0);
}

TEST(RelayClient, SendRefusesBeyondTheQueueBound) {
  TestRelay relay;
  Recorder r;
  auto o = fast_options(relay.url());
  o.max_queued_bytes = 1000;
  auto c = make_client(r, o);
  c->start();
  ASSERT_TRUE(r.wait([&] { return r.connected == 1; }));
  EXPECT_FALSE(c->send(std::string(1001, 'x')));
  EXPECT_TRUE(c->send(std::string(1000, 'y')));
  ASSERT_TRUE(relay.wait([](const Seen& s) { return s.frames.size() == 1; }));
  EXPECT_EQ(relay.seen().frames[0], std::string(1000, 'y'));
  stop(*c, r);
}

TEST(RelayClient, ReconnectsAfterTheRelayDropsAndResendsInOnConnected) {
  TestRelay relay;
  relay.set_echo(false);
  Recorder r;
  auto c = make_client(r, fast_options(relay.url()));
  r.on_connected = [&](int n) { EXPECT_TRUE(c->send("REQ after connect " + std::to_string(n))); };
  c->start();
  ASSERT_TRUE(relay.wait([](const Seen& s) { return s.frames.size() == 1; }));

  relay.cut_all();  // the TCP connection breaks
  ASSERT_TRUE(r.wait([&] { return r.connected == 2; }));
  EXPECT_EQ(c->connections(), 2u);
  ASSERT_TRUE(relay.wait([](const Seen& s) { return s.frames.size() == 2; }));

  relay.close_all();  // a clean close
  ASSERT_TRUE(r.wait([&] { return r.connected == 3; }));
  ASSERT_TRUE(relay.wait([](const Seen& s) { return s.frames.size() == 3; }));
  EXPECT_EQ(relay.seen().frames,
            (std::vector<std::string>{"REQ after connect 1", "REQ after connect 2",
                                      "REQ after connect 3"}));
  stop(*c, r);
  ASSERT_EQ(r.disconnects_now().size(), 2u);
  EXPECT_THAT(r.disconnects_now()[1], HasSubstr("relay closed the connection (1000)"));
}

TEST(RelayClient, ReconnectsWhenTheRelayComesBackOnTheSamePort) {
  TestRelay relay;
  Recorder r;
  auto c = make_client(r, fast_options(relay.url()));
  c->start();
  ASSERT_TRUE(r.wait([&] { return r.connected == 1; }));

  relay.stop_listening();  // connections refused
  ASSERT_TRUE(r.wait([&] { return r.disconnects.size() == 1; }));
  EXPECT_FALSE(c->send("while down"));
  relay.set_reject(true);  // back, but cutting every connection: the client keeps re-dialling
  relay.listen();
  ASSERT_TRUE(relay.wait([](const Seen& s) { return s.rejected >= 3; }));
  EXPECT_EQ(r.connected_now(), 1);

  relay.set_reject(false);
  auto back = Clock::now();
  ASSERT_TRUE(r.wait([&] { return r.connected == 2; }));
  // Within one backoff delay (at most max_backoff, 200 ms) and some scheduling slack.
  EXPECT_LT(Clock::now() - back, 2s);
  EXPECT_TRUE(c->send("back"));
  ASSERT_TRUE(r.wait([&] { return r.texts.size() == 1; }));
  stop(*c, r);
}

TEST(RelayClient, OversizedFrameDropsTheConnection) {
  TestRelay relay;
  Recorder r;
  auto o = fast_options(relay.url());
  o.max_message_bytes = 1024;
  auto c = make_client(r, o);
  c->start();
  wait_connected(r, relay, 1);
  relay.send_all(std::string(1024, 'a'));  // at the limit: delivered
  ASSERT_TRUE(r.wait([&] { return r.texts.size() == 1; }));
  relay.send_all(std::string(4096, 'b'));
  wait_connected(r, relay, 2);
  ASSERT_EQ(r.disconnects_now().size(), 1u);
  EXPECT_THAT(r.disconnects_now()[0], HasSubstr("larger than 1024 bytes"));
  relay.send_all("after");
  ASSERT_TRUE(r.wait([&] { return r.texts.size() == 2; }));
  EXPECT_EQ(r.texts_now()[1], "after");
  stop(*c, r);
}

TEST(RelayClient, InvalidUtf8TextFrameFailsTheConnection) {
  TestRelay relay;
  Recorder r;
  auto c = make_client(r, fast_options(relay.url()));
  c->start();
  wait_connected(r, relay, 1);
  relay.send_all("[\"NOTICE\",\"\xff\xfe\"]");
  wait_connected(r, relay, 2);
  ASSERT_EQ(r.disconnects_now().size(), 1u);
  EXPECT_THAT(r.disconnects_now()[0], HasSubstr("invalid UTF-8"));
  ASSERT_TRUE(relay.wait([](const Seen& s) { return !s.close_codes.empty(); }));
  EXPECT_EQ(relay.seen().close_codes[0], 1007);  // RFC 6455: invalid frame payload data
  relay.send_all("[\"NOTICE\",\"h\xc3\xa9\"]");  // valid UTF-8 passes
  ASSERT_TRUE(r.wait([&] { return r.texts.size() == 1; }));
  EXPECT_EQ(r.texts_now()[0], "[\"NOTICE\",\"h\xc3\xa9\"]");
  stop(*c, r);
}

TEST(RelayClient, BinaryFramesAreIgnored) {
  TestRelay relay;
  Recorder r;
  auto c = make_client(r, fast_options(relay.url()));
  c->start();
  wait_connected(r, relay, 1);
  relay.send_all("binary", /*binary=*/true);
  relay.send_all("text");
  ASSERT_TRUE(r.wait([&] { return r.texts.size() == 1; }));
  EXPECT_EQ(r.texts_now()[0], "text");
  EXPECT_EQ(c->connections(), 1u);
  EXPECT_TRUE(r.disconnects_now().empty());
  stop(*c, r);
}

TEST(RelayClient, SilentRelayIsDroppedAfterTwoPingIntervals) {
  TestRelay relay;
  relay.set_silent(1);  // never reads: the client's pings go unanswered
  Recorder r;
  auto o = fast_options(relay.url());
  o.ping_interval = 100ms;
  auto c = make_client(r, o);
  auto t0 = Clock::now();
  c->start();
  ASSERT_TRUE(r.wait([&] { return r.disconnects.size() == 1; }));
  EXPECT_GE(Clock::now() - t0, 200ms);
  EXPECT_THAT(r.disconnects_now()[0], HasSubstr("no frame from the relay within 200 ms"));
  ASSERT_TRUE(r.wait([&] { return r.connected == 2; }));
  // An answering relay keeps the connection past several ping intervals.
  ASSERT_TRUE(c->send("ping me"));
  ASSERT_TRUE(r.wait([&] { return !r.texts.empty(); }));
  stop(*c, r);
}

TEST(RelayClient, StopWhileConnectingIsPrompt) {
  TestRelay relay;
  relay.set_hang(true);  // TCP accepted, no WebSocket handshake answer
  Recorder r;
  auto o = fast_options(relay.url());
  o.connect_timeout = 20s;
  auto c = make_client(r, o);
  c->start();
  ASSERT_TRUE(relay.wait([](const Seen& s) { return s.tcp_accepted == 1; }));
  EXPECT_LT(timed([&] { stop(*c, r); }), 1s);
  EXPECT_EQ(r.connected_now(), 0);
  EXPECT_EQ(c->connections(), 0u);
}

TEST(RelayClient, DialTimesOutAndRetries) {
  TestRelay relay;
  relay.set_hang(true);
  Recorder r;
  auto o = fast_options(relay.url());
  o.connect_timeout = 100ms;
  auto c = make_client(r, o);
  c->start();
  ASSERT_TRUE(relay.wait([](const Seen& s) { return s.tcp_accepted >= 3; }));
  EXPECT_EQ(r.connected_now(), 0);
  stop(*c, r);
}

TEST(RelayClient, StopWhileBackingOffIsPrompt) {
  TestRelay relay;
  relay.set_reject(true);
  Recorder r;
  auto o = fast_options(relay.url());
  o.min_backoff = 20s;
  o.max_backoff = 20s;
  auto c = make_client(r, o);
  c->start();
  ASSERT_TRUE(relay.wait([](const Seen& s) { return s.rejected == 1; }));
  EXPECT_LT(timed([&] { stop(*c, r); }), 1s);
  EXPECT_EQ(relay.seen().rejected, 1);  // the second dial would have been 10-20 s later
  EXPECT_EQ(r.connected_now(), 0);
}

TEST(RelayClient, StopSendsACloseFrame) {
  TestRelay relay;
  Recorder r;
  auto c = make_client(r, fast_options(relay.url()));
  c->start();
  wait_connected(r, relay, 1);
  ASSERT_TRUE(relay.wait([](const Seen& s) { return s.open == 1; }));
  EXPECT_LT(timed([&] { stop(*c, r); }), 1s);
  ASSERT_TRUE(relay.wait([](const Seen& s) { return s.open == 0; }));
  EXPECT_EQ(relay.seen().close_codes, std::vector<int>{1001});  // going away
  EXPECT_TRUE(r.disconnects_now().empty());                     // no handler once stop() has begun
  EXPECT_FALSE(c->send("after stop"));
  c->stop();  // idempotent
}

TEST(RelayClient, StopIsBoundedWhenTheRelayIgnoresTheCloseFrame) {
  TestRelay relay;
  relay.set_silent(1);
  Recorder r;
  auto c = make_client(r, fast_options(relay.url()));
  c->start();
  ASSERT_TRUE(r.wait([&] { return r.connected == 1; }));
  auto took = timed([&] { stop(*c, r); });
  EXPECT_GE(took, 900ms);  // waited for the answer...
  EXPECT_LT(took, 3s);     // ...a bounded time
}

TEST(RelayClient, RejectsBadUrls) {
  for (const char* url :
       {"", "http://relay.example", "relay.example", "ws://", "ws:///path", "ws://:7777",
        "ws://host:0", "ws://host:65536", "ws://host:port", "ws://host:", "ws://[::1",
        "ws://[zz::1]:80", "ws://[::1]x", "ws://user@host", "ws://host/a b", "ws://host/#frag",
        "ws://ho st", "ws://host/\xc3\xa9", "wss://"}) {
    Recorder r;
    auto c = make_client(r, fast_options(url));
    try {
      c->start();
      ADD_FAILURE() << "accepted '" << url << "'";
    } catch (const guts::Error& e) {
      EXPECT_EQ(e.code(), guts::Code::kInvalidArgument) << url;
    }
  }
}

TEST(RelayClient, StartTwiceFails) {
  Recorder r;
  auto c = make_client(r, fast_options("ws://127.0.0.1:" + std::to_string(free_port())));
  c->start();
  try {
    c->start();
    ADD_FAILURE() << "second start() accepted";
  } catch (const guts::Error& e) {
    EXPECT_EQ(e.code(), guts::Code::kFailedPrecondition);
  }
  stop(*c, r);
}

TEST(RelayClient, FramesArriveInOrder) {
  TestRelay relay;
  Recorder r;
  auto c = make_client(r, fast_options(relay.url()));
  c->start();
  ASSERT_TRUE(r.wait([&] { return r.connected == 1; }));
  std::vector<std::string> sent;
  for (int i = 0; i < 100; ++i) {
    sent.push_back("[\"EVENT\"," + std::to_string(i) + "]");
    ASSERT_TRUE(c->send(sent.back()));
  }
  ASSERT_TRUE(relay.wait([](const Seen& s) { return s.frames.size() == 100; }));
  EXPECT_EQ(relay.seen().frames, sent);
  ASSERT_TRUE(r.wait([&] { return r.texts.size() == 100; }));
  EXPECT_EQ(r.texts_now(), sent);
  stop(*c, r);
}

TEST(RelayClient, WssVerifiesTheCertificateAndSendsSni) {
  TestCert cert = make_cert("DNS:localhost,IP:127.0.0.1");
  TestRelay relay(RelayOptions{.tls = cert});
  std::string ca = write_temp("ca.pem", cert.cert_pem);
  std::string port = std::to_string(relay.port());
  {
    Recorder r;
    auto o = fast_options("wss://localhost:" + port + "/");
    o.ca_file = ca;
    auto c = make_client(r, o);
    c->start();
    ASSERT_TRUE(r.wait([&] { return r.connected == 1; }));
    ASSERT_TRUE(c->send("over tls"));
    ASSERT_TRUE(r.wait([&] { return r.texts.size() == 1; }));
    EXPECT_EQ(r.texts_now()[0], "over tls");
    stop(*c, r);
  }
  {
    Recorder r;
    auto o = fast_options("wss://127.0.0.1:" + port + "/");  // an address: checked, no SNI
    o.ca_file = ca;
    auto c = make_client(r, o);
    c->start();
    ASSERT_TRUE(r.wait([&] { return r.connected == 1; }));
    stop(*c, r);
  }
  Seen s = relay.seen();
  EXPECT_EQ(s.snis, (std::vector<std::string>{"localhost", ""}));
  EXPECT_EQ(s.hosts, (std::vector<std::string>{"localhost:" + port, "127.0.0.1:" + port}));
  std::remove(ca.c_str());
}

TEST(RelayClient, WssRejectsAWrongNameOrAnUntrustedCertificate) {
  TestCert cert = make_cert("DNS:relay.example");
  TestRelay relay(RelayOptions{.tls = cert});
  std::string ca = write_temp("wrong_name_ca.pem", cert.cert_pem);
  std::string port = std::to_string(relay.port());
  for (bool trusted : {true, false}) {
    Recorder r;
    auto o = fast_options("wss://localhost:" + port + "/");
    if (trusted) o.ca_file = ca;  // trusted, but for another name
    auto c = make_client(r, o);
    int before = relay.seen().tls_failures;
    c->start();
    ASSERT_TRUE(relay.wait([&](const Seen& s) { return s.tls_failures >= before + 2; }))
        << "trusted " << trusted;
    EXPECT_EQ(r.connected_now(), 0);
    stop(*c, r);
  }
  EXPECT_EQ(relay.seen().accepted, 0);
  std::remove(ca.c_str());
}

TEST(RelayClient, BadCaFileThrows) {
  Recorder r;
  auto o = fast_options("wss://127.0.0.1:1/");
  o.ca_file = write_temp("not_a_ca.pem", "not a certificate\n");
  auto c = make_client(r, o);
  try {
    c->start();
    ADD_FAILURE() << "accepted a bad CA file";
  } catch (const guts::Error& e) {
    EXPECT_EQ(e.code(), guts::Code::kInvalidArgument);
  }
  std::remove(o.ca_file.c_str());
}

}  // namespace
