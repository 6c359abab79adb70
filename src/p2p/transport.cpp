// The only translation unit of the p2p module that includes Asio.
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports a false positive for Asio's awaitable frame allocator in every coroutine.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
#include "p2p/transport.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "crypto/did.h"
#include "crypto/hash.h"
#include "p2p/frame.h"

namespace guts::p2p {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kNoThrow = asio::experimental::as_tuple(use_awaitable);

std::vector<ChannelConfig> default_channels() {
  return {
      {channel::kVotes, 64 << 10, 2000, 4000, true},
      {channel::kCertificates, 1 << 20, 500, 1000, true},
      {channel::kBlocks, 64 << 20, 100, 200, false},
      {channel::kGossip, 1 << 20, 200, 1000, false},
      {channel::kGit, 16 << 20, 5000, 10000, false},
  };
}

namespace {

struct TokenBucket {
  double rate = 1, burst = 1, tokens = 1;
  Clock::time_point last{};
  TokenBucket() = default;
  TokenBucket(double r, double b) : rate(r), burst(b), tokens(b), last(Clock::now()) {}
  void refill(Clock::time_point now) {
    double dt = std::chrono::duration<double>(now - last).count();
    tokens = std::min(burst, tokens + dt * rate);
    last = now;
  }
  // Takes one token; returns how long to wait before the token is earned (zero if available).
  Clock::duration take(Clock::time_point now) {
    refill(now);
    tokens -= 1;
    if (tokens >= 0) return Clock::duration::zero();
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(-tokens / rate));
  }
  bool try_take(Clock::time_point now) {
    refill(now);
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }
};

std::string short_did(const crypto::PublicKey& pk) {
  auto d = crypto::did_from_key(pk);
  return d.size() > 20 ? d.substr(0, 20) + "…" : d;
}

}  // namespace

struct Conn;

// Per-channel counters, updated from any thread (send() encrypts on the caller's thread).
struct ChanStats {
  std::atomic<uint64_t> in{0}, out{0}, throttled{0}, send_dropped{0}, restricted_dropped{0};
};

// The sending half of an established connection, shared with send() on other threads: the
// caller encrypts its message under `mu` straight into `outq` (no hop through the I/O thread
// per message), and wakes the writer only when it is idle.
struct SendSide {
  std::mutex mu;
  std::optional<FrameEncoder> enc;
  Bytes outq;
  size_t in_flight = 0;  // bytes the writer is writing
  bool closed = false;
  bool writer_idle = false;
  bool wake_posted = false;
  uint64_t messages_out = 0;
  std::weak_ptr<Conn> conn;
};

struct Conn : std::enable_shared_from_this<Conn> {
  Conn(asio::io_context& io, tcp::socket s, bool out)
      : sock(std::move(s)),
        write_signal(io),
        hs_timer(io),
        keepalive(io),
        throttle(io),
        outbound(out) {}

  tcp::socket sock;
  asio::steady_timer write_signal, hs_timer, keepalive, throttle;
  bool outbound;
  std::optional<crypto::PublicKey> expected;
  std::string address;
  std::string ip;
  bool closed = false;
  bool handshaking = true;
  bool established = false;
  crypto::PublicKey remote{};
  std::shared_ptr<SendSide> tx = std::make_shared<SendSide>();
  std::optional<FrameDecoder> dec;
  Bytes wbuf;
  Clock::time_point last_rx = Clock::now();
  Clock::time_point write_started{};
  bool writing = false;
  uint64_t ping_nonce = 0;
  Clock::time_point ping_sent{};
  double latency_ms = -1;
  std::map<uint64_t, TokenBucket> buckets;
  uint64_t bytes_in = 0, bytes_out = 0, messages_in = 0;

  void close() {
    if (closed) return;
    closed = true;
    {
      std::lock_guard l(tx->mu);
      tx->closed = true;
    }
    boost::system::error_code ec;
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
    write_signal.cancel();
    hs_timer.cancel();
    keepalive.cancel();
    throttle.cancel();
  }
};

struct Transport::Impl {
  Impl(LocalIdentity i, TransportConfig c) : id(std::move(i)), cfg(std::move(c)), acceptor(io) {
    for (const auto& ch : cfg.channels) {
      channels[ch.id] = ch;
      limits.max_message_size[ch.id] = ch.max_message_size;
      chan_stats[ch.id] = std::make_unique<ChanStats>();
    }
    limits.max_pending_bytes = cfg.max_pending_bytes;
  }

  asio::io_context io;  // first: destroyed last, after everything its handlers reference
  LocalIdentity id;
  TransportConfig cfg;
  tcp::acceptor acceptor;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  std::future<void> done;
  bool started = false, stopped = false;
  uint16_t bound_port = 0;

  MessageHandler on_message;
  PeerHandler on_peer;
  std::map<uint64_t, ChannelConfig> channels;
  FrameLimits limits;

  std::set<std::shared_ptr<Conn>> conns;                     // every open connection
  std::map<crypto::PublicKey, std::shared_ptr<Conn>> peers;  // established, one per identity
  size_t handshaking = 0;
  size_t dialing = 0;  // dials before their connection exists (resolve)
  std::map<crypto::PublicKey, Clock::time_point> blocked;
  std::set<crypto::PublicKey> allowed;
  std::map<std::string, TokenBucket> ip_buckets;
  std::map<std::string, uint64_t> counters;  // I/O thread only
  // Immutable keys after construction; atomic values (hot paths, any thread).
  std::map<uint64_t, std::unique_ptr<ChanStats>> chan_stats;
  std::atomic<uint64_t> bytes_in_total{0}, bytes_out_total{0};
  // One read buffer for every connection: reads wait for readability and then read without
  // blocking, so an idle connection holds no read buffer.
  std::vector<uint8_t> rbuf = std::vector<uint8_t>(256 << 10);

  // Read by send() on other threads without a round trip to the I/O thread: which peers are
  // connected and allowed, and their send sides.
  std::mutex snap_mu;
  std::map<crypto::PublicKey, std::shared_ptr<SendSide>> snap_peers;
  std::set<crypto::PublicKey> snap_allowed;
  void update_snapshot() {
    std::lock_guard l(snap_mu);
    snap_peers.clear();
    for (auto& [pk, c] : peers) snap_peers.emplace(pk, c->tx);
    snap_allowed = allowed;
  }

  // Runs f on the I/O thread and returns its result (directly when already there or stopped).
  template <typename F>
  auto call(F f) -> decltype(f()) {
    if (!started || stopped || io.get_executor().running_in_this_thread()) return f();
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(io, [&task] { task(); });
    return fut.get();
  }

  void count(const std::string& name, uint64_t n = 1) { counters[name] += n; }

  bool is_blocked(const crypto::PublicKey& pk) {
    auto it = blocked.find(pk);
    if (it == blocked.end()) return false;
    if (Clock::now() >= it->second) {
      blocked.erase(it);
      return false;
    }
    return true;
  }

  void block(const crypto::PublicKey& pk, std::chrono::milliseconds d, const std::string& why) {
    if (pk == id.key.public_key()) return;  // never block ourselves
    blocked[pk] = Clock::now() + d;
    count("p2p_peers_blocked_total");
    spdlog::warn("p2p: blocking {} for {} ms: {}", short_did(pk), d.count(), why);
    auto it = peers.find(pk);
    if (it != peers.end()) it->second->close();
  }

  bool may_use(const ChannelConfig& ch, const crypto::PublicKey& pk) const {
    return !ch.restricted || allowed.count(pk);
  }

  // Encrypts and queues a message, on any thread. Wakes the writer if it is idle: directly on
  // the I/O thread, otherwise with one post (not one per message: later messages find it woken).
  bool push(SendSide& tx, uint64_t ch, ByteView payload) {
    auto& stats = *chan_stats.at(ch);
    bool wake = false;
    {
      std::lock_guard l(tx.mu);
      if (tx.closed || !tx.enc) return false;
      if (tx.outq.size() + tx.in_flight > cfg.max_send_queue_bytes) {
        stats.send_dropped.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      tx.enc->message(ch, payload, tx.outq);
      ++tx.messages_out;
      if (tx.writer_idle && !tx.wake_posted) {
        tx.wake_posted = true;
        wake = true;
      }
    }
    stats.out.fetch_add(1, std::memory_order_relaxed);
    if (wake) {
      if (io.get_executor().running_in_this_thread()) {
        if (auto c = tx.conn.lock()) c->write_signal.cancel();
      } else {
        asio::post(io, [w = tx.conn] {
          if (auto c = w.lock()) c->write_signal.cancel();
        });
      }
    }
    return true;
  }

  // Control records (ping, pong) from the I/O thread.
  template <typename F>
  void control(Conn& c, F encode) {
    {
      std::lock_guard l(c.tx->mu);
      if (c.tx->closed || !c.tx->enc) return;
      encode(*c.tx->enc, c.tx->outq);
    }
    c.write_signal.cancel();
  }

  bool send(const crypto::PublicKey& pk, uint64_t ch, ByteView payload) {
    auto cit = channels.find(ch);
    if (cit == channels.end() || payload.size() > cit->second.max_message_size) return false;
    if (!may_use(cit->second, pk)) return false;
    auto it = peers.find(pk);
    if (it == peers.end()) return false;
    return push(*it->second->tx, ch, payload);
  }

  Status accept_identity(const crypto::PublicKey& pk) {
    if (is_blocked(pk)) return {Code::kPermissionDenied, "blocked"};
    if (cfg.allow_list_only && !allowed.count(pk)) return {Code::kPermissionDenied, "not allowed"};
    return Status::Ok();
  }

  void start_connection(std::shared_ptr<Conn> c) {
    conns.insert(c);
    ++handshaking;
    asio::co_spawn(io, run_conn(c), asio::detached);
  }

  awaitable<void> accept_loop() {
    while (true) {
      auto [ec, sock] = co_await acceptor.async_accept(kNoThrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        continue;
      }
      boost::system::error_code e2;
      auto ep = sock.remote_endpoint(e2);
      if (e2) continue;
      std::string ip = ep.address().to_string();
      auto now = Clock::now();
      auto bit = ip_buckets.find(ip);
      if (bit == ip_buckets.end()) {
        bit = ip_buckets.emplace(ip, TokenBucket(cfg.inbound_per_ip_rate, cfg.inbound_per_ip_burst))
                  .first;
      }
      if (conns.size() >= cfg.max_connections || handshaking >= cfg.max_handshakes) {
        count("p2p_connections_refused_total{reason=\"cap\"}");
        continue;  // sock closes
      }
      if (!bit->second.try_take(now)) {
        count("p2p_connections_refused_total{reason=\"ip_rate\"}");
        continue;
      }
      if (ip_buckets.size() > 4096) {  // forget full buckets of idle IPs
        for (auto it = ip_buckets.begin(); it != ip_buckets.end();) {
          it->second.refill(now);
          it = it->second.tokens >= it->second.burst ? ip_buckets.erase(it) : std::next(it);
        }
      }
      sock.set_option(tcp::no_delay(true), e2);
      auto c = std::make_shared<Conn>(io, std::move(sock), false);
      c->ip = ip;
      c->address = ip + ":" + std::to_string(ep.port());
      start_connection(c);
    }
  }

  awaitable<void> dial(crypto::PublicKey pk, std::string host, uint16_t port) {
    struct Done {
      size_t& n;
      ~Done() { --n; }
    } done_dialing{dialing};
    tcp::resolver resolver(io);
    auto [ec, results] = co_await resolver.async_resolve(host, std::to_string(port), kNoThrow);
    if (ec || results.empty()) {
      count("p2p_dial_failures_total");
      co_return;
    }
    if (peers.count(pk) || is_blocked(pk) || stopped) co_return;
    if (conns.size() >= cfg.max_connections || handshaking >= cfg.max_handshakes) {
      count("p2p_dial_failures_total");
      co_return;
    }
    auto c = std::make_shared<Conn>(io, tcp::socket(io), true);
    c->expected = pk;
    conns.insert(c);
    ++handshaking;
    c->hs_timer.expires_after(cfg.handshake_timeout);
    c->hs_timer.async_wait([c](boost::system::error_code e) {
      if (!e) c->close();
    });
    auto [ec2, ep] = co_await asio::async_connect(c->sock, results, kNoThrow);
    if (ec2 || c->closed) {
      count("p2p_dial_failures_total");
      c->close();
      conns.erase(c);
      --handshaking;
      co_return;
    }
    boost::system::error_code e3;
    c->sock.set_option(tcp::no_delay(true), e3);
    c->ip = ep.address().to_string();
    c->address = c->ip + ":" + std::to_string(ep.port());
    asio::co_spawn(io, run_conn(c), asio::detached);
  }

  // Resolves two sessions with the same peer: both ends keep the one dialed by the smaller key.
  bool keep_new_over(const Conn& old_c, const Conn& new_c) const {
    if (old_c.outbound == new_c.outbound) return true;  // a reconnect replaces a stale session
    const auto& me = id.key.public_key();
    bool i_am_smaller = me < new_c.remote;
    // The connection we dialed is preferred iff our key is the smaller one.
    return new_c.outbound == i_am_smaller;
  }

  // The handshake in its own coroutine, so that its buffers are freed once it is done.
  awaitable<std::pair<Session, Bytes>> handshake(std::shared_ptr<Conn> c) {
    auto hs = c->outbound ? SessionHandshake::initiator(id, c->expected)
                          : SessionHandshake::responder(id, [this](const crypto::PublicKey& pk) {
                              return accept_identity(pk);
                            });
    std::array<uint8_t, 2048> hbuf;
    if (c->outbound) co_await asio::async_write(c->sock, asio::buffer(hs.start()), use_awaitable);
    while (!hs.done()) {
      size_t n = co_await c->sock.async_read_some(asio::buffer(hbuf), use_awaitable);
      c->bytes_in += n;
      auto out = hs.feed(ByteView(hbuf.data(), n));
      if (!out.empty()) {
        co_await asio::async_write(c->sock, asio::buffer(out), use_awaitable);
        c->bytes_out += out.size();
      }
    }
    auto session = hs.take_session();
    co_return std::make_pair(std::move(session), hs.take_leftover());
  }

  awaitable<void> run_conn(std::shared_ptr<Conn> c) {
    std::string error;
    bool violation = false;
    try {
      if (!c->outbound) {
        c->hs_timer.expires_after(cfg.handshake_timeout);
        c->hs_timer.async_wait([c](boost::system::error_code e) {
          if (!e) c->close();
        });
      }
      auto [session, leftover] = co_await handshake(c);
      c->hs_timer.cancel();
      if (c->closed) throw boost::system::system_error(asio::error::operation_aborted);
      --handshaking;
      c->handshaking = false;
      c->remote = session.remote;
      if (is_blocked(c->remote)) throw HandshakeError(Code::kPermissionDenied, "peer is blocked");
      if (cfg.allow_list_only && !allowed.count(c->remote)) {
        throw HandshakeError(Code::kPermissionDenied, "peer not in the allow list");
      }
      bool replaced = false;
      if (auto it = peers.find(c->remote); it != peers.end()) {
        if (!keep_new_over(*it->second, *c)) {
          count("p2p_duplicate_sessions_total");
          c->close();
          conns.erase(c);
          co_return;
        }
        auto old = it->second;
        peers.erase(it);  // replaced below
        old->close();     // not current any more: its coroutine reports nothing
        replaced = true;
      }
      count("p2p_handshakes_total{result=\"ok\"}");
      {
        std::lock_guard l(c->tx->mu);
        c->tx->enc.emplace(std::move(session.send));
        c->tx->conn = c;
      }
      c->dec.emplace(std::move(session.recv), limits);
      c->established = true;
      peers[c->remote] = c;
      update_snapshot();
      c->last_rx = Clock::now();
      asio::co_spawn(io, writer(c), asio::detached);
      asio::co_spawn(io, keepalive(c), asio::detached);
      if (on_peer && !replaced) on_peer(c->remote, true);

      c->dec->feed(leftover);
      co_await drain(c);
      c->sock.non_blocking(true);
      while (!c->closed) {
        co_await c->sock.async_wait(tcp::socket::wait_read, use_awaitable);
        // Read what the socket holds through the shared buffer: feed() copies it into this
        // connection's decoder before anything else can run, and each read is decoded before
        // the next one (the decoder holds at most one read plus a partial record).
        // At most 8 reads before yielding to the other connections (fairness).
        for (int reads = 0; reads < 8 && !c->closed; ++reads) {
          boost::system::error_code ec;
          size_t n = c->sock.read_some(asio::buffer(rbuf), ec);
          if (ec == asio::error::would_block || ec == asio::error::try_again) break;
          if (ec) throw boost::system::system_error(ec);
          c->bytes_in += n;
          bytes_in_total.fetch_add(n, std::memory_order_relaxed);
          c->last_rx = Clock::now();
          c->dec->feed(ByteView(rbuf.data(), n));
          co_await drain(c);
          if (n < rbuf.size()) break;
        }
      }
    } catch (const VersionMismatch& e) {
      // An operator mistake or an upgrade in progress: worth a warning on both sides.
      error = e.what();
      count("p2p_handshake_version_mismatches_total");
      spdlog::warn("p2p: connection {} refused: {}", c->address, error);
    } catch (const HandshakeError& e) {
      error = e.what();
    } catch (const FrameError& e) {
      violation = true;
      error = e.what();
    } catch (const noise::NoiseError& e) {
      violation = true;
      error = e.what();
    } catch (const boost::system::system_error& e) {
      error = e.what();
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (c->handshaking) {
      c->handshaking = false;
      --handshaking;
      count("p2p_handshakes_total{result=\"failed\"}");
    }
    if (violation && c->established) {
      count("p2p_protocol_violations_total");
      block(c->remote, cfg.block_duration, error);
    }
    c->close();
    conns.erase(c);
    if (c->established) {
      auto it = peers.find(c->remote);
      if (it != peers.end() && it->second == c) {
        peers.erase(it);
        update_snapshot();
        spdlog::debug("p2p: {} disconnected: {}", short_did(c->remote), error);
        if (on_peer) on_peer(c->remote, false);
      }
    } else if (!error.empty()) {
      spdlog::debug("p2p: connection {} failed: {}", c->address, error);
    }
  }

  // Delivers every decoded event; throttles when a channel's quota is exhausted.
  awaitable<void> drain(std::shared_ptr<Conn> c) {
    while (!c->closed) {
      auto ev = c->dec->next();
      if (!ev) break;
      switch (ev->kind) {
        case FrameEvent::Kind::kPing:
          if (!c->closed) control(*c, [&](FrameEncoder& e, Bytes& q) { e.pong(ev->nonce, q); });
          break;
        case FrameEvent::Kind::kPong:
          if (ev->nonce == c->ping_nonce && c->ping_sent != Clock::time_point{}) {
            c->latency_ms =
                std::chrono::duration<double, std::milli>(Clock::now() - c->ping_sent).count();
          }
          break;
        case FrameEvent::Kind::kClose:
          throw boost::system::system_error(asio::error::eof, "peer closed: " + ev->reason);
        case FrameEvent::Kind::kMessage: {
          const auto& ch = channels.at(ev->channel);  // the decoder rejects unknown channels
          auto& stats = *chan_stats.at(ev->channel);
          ++c->messages_in;
          stats.in.fetch_add(1, std::memory_order_relaxed);
          auto bit = c->buckets.find(ev->channel);
          if (bit == c->buckets.end()) {
            bit = c->buckets.emplace(ev->channel, TokenBucket(ch.rate_per_sec, ch.burst)).first;
          }
          auto wait = bit->second.take(Clock::now());
          if (wait > Clock::duration::zero()) {
            stats.throttled.fetch_add(1, std::memory_order_relaxed);
            c->throttle.expires_after(wait);
            co_await c->throttle.async_wait(kNoThrow);
            if (c->closed) co_return;
          }
          if (!may_use(ch, c->remote)) {
            stats.restricted_dropped.fetch_add(1, std::memory_order_relaxed);
            break;
          }
          if (on_message) on_message(c->remote, ev->channel, std::move(ev->payload));
          break;
        }
      }
    }
  }

  awaitable<void> writer(std::shared_ptr<Conn> c) {
    auto& tx = *c->tx;
    while (!c->closed) {
      bool empty;
      {
        std::lock_guard l(tx.mu);
        empty = tx.outq.empty();
        if (empty) {
          tx.writer_idle = true;
          tx.wake_posted = false;
        } else {
          std::swap(tx.outq, c->wbuf);
          tx.in_flight = c->wbuf.size();
          tx.writer_idle = false;
        }
      }
      if (empty) {
        c->write_signal.expires_at(Clock::time_point::max());
        co_await c->write_signal.async_wait(kNoThrow);
        continue;
      }
      c->writing = true;
      c->write_started = Clock::now();
      auto [ec, n] = co_await asio::async_write(c->sock, asio::buffer(c->wbuf), kNoThrow);
      c->writing = false;
      c->wbuf.clear();
      if (c->wbuf.capacity() > (4 << 20)) Bytes().swap(c->wbuf);
      {
        std::lock_guard l(tx.mu);
        tx.in_flight = 0;
      }
      if (ec) {
        c->close();
        co_return;
      }
      c->bytes_out += n;
      bytes_out_total.fetch_add(n, std::memory_order_relaxed);
    }
  }

  awaitable<void> keepalive(std::shared_ptr<Conn> c) {
    auto tick = std::min({cfg.ping_interval, cfg.idle_timeout / 2, cfg.write_stall_timeout / 2});
    auto last_ping = Clock::now();
    while (!c->closed) {
      c->keepalive.expires_after(tick);
      co_await c->keepalive.async_wait(kNoThrow);
      if (c->closed) co_return;
      auto now = Clock::now();
      if (now - c->last_rx > cfg.idle_timeout) {
        spdlog::debug("p2p: {} idle, closing", short_did(c->remote));
        count("p2p_idle_closed_total");
        c->close();
        co_return;
      }
      if (c->writing && now - c->write_started > cfg.write_stall_timeout) {
        count("p2p_slow_peer_closed_total");
        c->close();
        co_return;
      }
      if (now - last_ping >= cfg.ping_interval) {
        last_ping = now;
        c->ping_nonce = c->ping_nonce * 6364136223846793005ULL + 1442695040888963407ULL;
        c->ping_sent = now;
        control(*c, [&](FrameEncoder& e, Bytes& q) { e.ping(c->ping_nonce, q); });
      }
      // Idle for a tick: give the buffers back (an idle connection should cost little memory).
      if (now - c->last_rx >= tick && c->dec && c->dec->buffered() == 0) {
        c->dec->compact();
        if (!c->writing) Bytes().swap(c->wbuf);
      }
    }
  }

  void close_all() {
    boost::system::error_code ec;
    acceptor.close(ec);
    for (auto& c : std::vector<std::shared_ptr<Conn>>(conns.begin(), conns.end())) c->close();
  }

  PeerInfo info(const Conn& c) const {
    PeerInfo p;
    p.id = c.remote;
    p.did = crypto::did_from_key(c.remote);
    p.address = c.address;
    p.outbound = c.outbound;
    p.latency_ms = c.latency_ms;
    p.bytes_in = c.bytes_in;
    p.bytes_out = c.bytes_out;
    p.messages_in = c.messages_in;
    {
      std::lock_guard l(c.tx->mu);
      p.messages_out = c.tx->messages_out;
    }
    return p;
  }
};

Transport::Transport(LocalIdentity identity, TransportConfig config)
    : impl_(std::make_unique<Impl>(std::move(identity), std::move(config))) {
  if (impl_->cfg.idle_timeout <= impl_->cfg.ping_interval) {
    throw Error(Code::kInvalidArgument, "p2p: idle timeout must exceed the ping interval");
  }
}

Transport::~Transport() {
  stop();
}

void Transport::on_message(MessageHandler handler) {
  impl_->on_message = std::move(handler);
}
void Transport::on_peer(PeerHandler handler) {
  impl_->on_peer = std::move(handler);
}

void Transport::start() {
  auto& m = *impl_;
  if (m.started) throw Error(Code::kInternal, "p2p: transport already started");
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(m.cfg.listen_host, ec);
  if (ec) throw Error(Code::kInvalidArgument, "p2p: bad listen address " + m.cfg.listen_host);
  tcp::endpoint ep(addr, m.cfg.listen_port);
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error(Code::kUnavailable, "p2p: cannot listen on " + m.cfg.listen_host + ":" +
                                        std::to_string(m.cfg.listen_port) + ": " + ec.message());
  }
  m.bound_port = m.acceptor.local_endpoint().port();
  m.work.emplace(m.io.get_executor());
  asio::co_spawn(m.io, m.accept_loop(), asio::detached);
  std::promise<void> finished;
  m.done = finished.get_future();
  m.thread = std::thread([&m, p = std::move(finished)]() mutable {
    m.io.run();
    p.set_value();
  });
  m.started = true;
}

void Transport::stop() {
  auto& m = *impl_;
  if (!m.started || m.stopped) return;
  asio::post(m.io, [&m] {
    m.stopped = true;
    m.close_all();
    m.work.reset();
  });
  // Graceful: every coroutine ends once its socket and timers are closed. A resolver stuck on
  // a slow DNS lookup must not hold shutdown hostage.
  if (m.done.wait_for(std::chrono::seconds(3)) != std::future_status::ready) m.io.stop();
  m.thread.join();
  m.stopped = true;
}

uint16_t Transport::port() const {
  return impl_->bound_port;
}
const crypto::PublicKey& Transport::id() const {
  return impl_->id.key.public_key();
}

void Transport::dial(const crypto::PublicKey& peer, const std::string& host, uint16_t port) {
  auto& m = *impl_;
  if (!m.started || m.stopped) return;
  asio::post(m.io, [&m, peer, host, port] {
    if (m.stopped || m.peers.count(peer) || m.is_blocked(peer) || peer == m.id.key.public_key()) {
      return;
    }
    ++m.dialing;
    asio::co_spawn(m.io, m.dial(peer, host, port), asio::detached);
  });
}

bool Transport::send(const crypto::PublicKey& peer, uint64_t ch, ByteView payload) {
  auto& m = *impl_;
  if (m.io.get_executor().running_in_this_thread()) return m.send(peer, ch, payload);
  auto cit = m.channels.find(ch);  // immutable after construction
  if (cit == m.channels.end() || payload.size() > cit->second.max_message_size) return false;
  if (!m.started || m.stopped) return false;
  std::shared_ptr<SendSide> tx;
  {
    std::lock_guard l(m.snap_mu);
    auto it = m.snap_peers.find(peer);
    if (it == m.snap_peers.end()) return false;
    if (cit->second.restricted && !m.snap_allowed.count(peer)) return false;
    tx = it->second;
  }
  // Encrypted here, on the caller's thread; the I/O thread only writes.
  return m.push(*tx, ch, payload);
}

size_t Transport::broadcast(uint64_t ch, ByteView payload) {
  auto& m = *impl_;
  return m.call([&] {
    size_t n = 0;
    for (auto& [pk, c] : m.peers) n += m.send(pk, ch, payload) ? 1 : 0;
    return n;
  });
}

void Transport::block(const crypto::PublicKey& peer, std::optional<std::chrono::milliseconds> d) {
  auto& m = *impl_;
  m.call([&] { m.block(peer, d.value_or(m.cfg.block_duration), "blocked by the application"); });
}

bool Transport::is_blocked(const crypto::PublicKey& peer) {
  auto& m = *impl_;
  return m.call([&] { return m.is_blocked(peer); });
}

void Transport::unblock(const crypto::PublicKey& peer) {
  auto& m = *impl_;
  m.call([&] { m.blocked.erase(peer); });
}

void Transport::set_allowed(std::set<crypto::PublicKey> allowed) {
  auto& m = *impl_;
  m.call([&] {
    m.allowed = std::move(allowed);
    m.update_snapshot();
    if (m.cfg.allow_list_only) {
      std::vector<std::shared_ptr<Conn>> drop;
      for (auto& [pk, c] : m.peers) {
        if (!m.allowed.count(pk)) drop.push_back(c);
      }
      for (auto& c : drop) c->close();
    }
  });
}

std::vector<PeerInfo> Transport::peers() {
  auto& m = *impl_;
  return m.call([&] {
    std::vector<PeerInfo> out;
    for (auto& [pk, c] : m.peers) out.push_back(m.info(*c));
    return out;
  });
}

bool Transport::connected(const crypto::PublicKey& peer) {
  auto& m = *impl_;
  return m.call([&] { return m.peers.count(peer) > 0; });
}

std::map<std::string, uint64_t> Transport::metrics() {
  auto& m = *impl_;
  return m.call([&] {
    auto out = m.counters;
    auto put = [&](const std::string& name, uint64_t v) {
      if (v) out[name] += v;
    };
    put("p2p_bytes_total{dir=\"in\"}", m.bytes_in_total.load());
    put("p2p_bytes_total{dir=\"out\"}", m.bytes_out_total.load());
    for (const auto& [ch, st] : m.chan_stats) {
      auto c = "channel=\"" + std::to_string(ch) + "\"}";
      put("p2p_messages_total{dir=\"in\"," + c, st->in.load());
      put("p2p_messages_total{dir=\"out\"," + c, st->out.load());
      put("p2p_throttled_total{" + c, st->throttled.load());
      put("p2p_send_dropped_total{" + c, st->send_dropped.load());
      put("p2p_restricted_dropped_total{" + c, st->restricted_dropped.load());
    }
    out["p2p_peers"] = m.peers.size();
    out["p2p_connections"] = m.conns.size();
    out["p2p_handshakes_in_progress"] = m.handshaking;
    out["p2p_dials_in_progress"] = m.dialing;
    return out;
  });
}

}  // namespace guts::p2p
