// Quick figures for docs/p2p.md (not a test): handshakes per second, sans-I/O record
// throughput against raw ChaCha20-Poly1305, and loopback throughput between two transports.
// Run: build/bin/p2p_bench
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "p2p/frame.h"
#include "p2p/handshake.h"
#include "p2p/transport.h"

using namespace guts;
using namespace guts::p2p;
using Clock = std::chrono::steady_clock;

static double secs(Clock::time_point a) {
  return std::chrono::duration<double>(Clock::now() - a).count();
}

static LocalIdentity ident(uint8_t b) {
  crypto::Seed s;
  s.fill(b);
  return LocalIdentity::create(crypto::SigningKey::from_seed(s), "bench");
}

int main() {
  auto a = ident(1), b = ident(2);
  {
    int n = 0;
    auto t0 = Clock::now();
    while (secs(t0) < 2) {
      auto i = SessionHandshake::initiator(a, b.key.public_key());
      auto r = SessionHandshake::responder(b);
      r.feed(i.feed(r.feed(i.start())));
      if (!r.done()) return 1;
      ++n;
    }
    std::printf("handshakes (both sides, one core): %.0f/s\n", n / secs(t0));
  }
  {
    Bytes msg(1 << 20, 7), out(msg.size() + 16);
    noise::Key k{};
    uint8_t nonce[12] = {};
    auto t0 = Clock::now();
    size_t bytes = 0;
    while (secs(t0) < 1) {
      unsigned long long len;
      crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &len, msg.data(), msg.size(), nullptr,
                                                0, nullptr, nonce, k.data());
      bytes += msg.size();
    }
    std::printf("raw chacha20-poly1305 encrypt: %.0f MB/s\n", bytes / secs(t0) / 1e6);
    FrameEncoder enc{noise::CipherState(k)};
    FrameLimits lim;
    lim.max_message_size[4] = 2 << 20;
    FrameDecoder dec{noise::CipherState(k), lim};
    Bytes wire;
    bytes = 0;
    t0 = Clock::now();
    while (secs(t0) < 1) {
      wire.clear();
      enc.message(4, msg, wire);
      dec.feed(wire);
      while (auto ev = dec.next()) bytes += ev->payload.size();
    }
    std::printf("frame encode+decode (1 MiB messages, one core): %.0f MB/s\n",
                bytes / secs(t0) / 1e6);
  }
  for (size_t size : {size_t{100}, size_t{1} << 20}) {
    TransportConfig cfg;
    for (auto& ch : cfg.channels) {
      ch.rate_per_sec = 1e9;
      ch.burst = 1e9;
    }
    Transport ta(a, cfg), tb(b, cfg);
    std::atomic<size_t> got{0};
    std::mutex mu;
    std::condition_variable cv;
    tb.on_message([&](const crypto::PublicKey&, uint64_t, Bytes p) {
      got += p.size();
      cv.notify_all();
    });
    ta.start();
    tb.start();
    ta.dial(b.key.public_key(), "127.0.0.1", tb.port());
    while (!ta.connected(b.key.public_key())) std::this_thread::yield();
    Bytes msg(size, 1);
    size_t total = size < 1000 ? 2'000'000 * size : size_t{2} << 30;
    size_t sent = 0;
    auto t0 = Clock::now();
    while (sent < total) {
      if (ta.send(b.key.public_key(), channel::kGit, msg)) {
        sent += size;
      } else {
        std::unique_lock l(mu);
        cv.wait_for(l, std::chrono::milliseconds(1));
      }
    }
    {
      std::unique_lock l(mu);
      cv.wait_for(l, std::chrono::seconds(60), [&] { return got.load() >= total; });
    }
    double s = secs(t0);
    std::printf(
        "loopback, two transports in one process, %zu-byte messages: %.0f MB/s, %.0f msg/s\n", size,
        got / s / 1e6, got / double(size) / s);
  }
  return 0;
}
