// p2p figures for docs/benchmarks.md ("Peer-to-peer"). Modes:
//   p2p_perf handshake [seconds]            full session handshakes per second, one core
//   p2p_perf throughput <size> <count>      two PROCESSES on loopback: the parent sends <count>
//                                           messages of <size> bytes to a forked child; also
//                                           measures raw ChaCha20-Poly1305 in the same run
//   p2p_perf conns <n> [hold seconds]       one node (forked child) holds <n> simultaneous
//                                           authenticated connections; reports its memory per
//                                           idle connection
// Every mode prints one "RESULT key=value ..." line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "p2p/frame.h"
#include "p2p/handshake.h"
#include "p2p/transport.h"

using namespace guts;
using namespace guts::p2p;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kNet = "bench";

double secs_since(Clock::time_point a) {
  return std::chrono::duration<double>(Clock::now() - a).count();
}

LocalIdentity ident(uint32_t n) {
  crypto::Seed s{};
  std::memcpy(s.data(), &n, sizeof n);
  s[31] = 0xbe;
  return LocalIdentity::create(crypto::SigningKey::from_seed(s), kNet);
}

void raise_fd_limit() {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
}

long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// Blocking pipe helpers between parent and child.
void put(int fd, uint64_t v) {
  if (write(fd, &v, sizeof v) != sizeof v) std::exit(3);
}
uint64_t get(int fd) {
  uint64_t v = 0;
  if (read(fd, &v, sizeof v) != sizeof v) std::exit(4);
  return v;
}

TransportConfig unlimited() {
  TransportConfig c;
  for (auto& ch : c.channels) {
    ch.rate_per_sec = 1e12;
    ch.burst = 1e12;
    ch.max_message_size = std::max<size_t>(ch.max_message_size, 16 << 20);
  }
  return c;
}

double cpu_seconds() {  // this process, every thread, user + system
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// MB per second of CPU time of this thread (insensitive to other load on the machine).
double raw_chacha_mbps(size_t chunk, double seconds) {
  Bytes msg(chunk, 7), out(chunk + 16);
  noise::Key k{};
  uint8_t nonce[12] = {};
  size_t bytes = 0;
  auto t0 = Clock::now();
  double c0 = thread_cpu_seconds();
  while (secs_since(t0) < seconds) {
    unsigned long long len;
    crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &len, msg.data(), msg.size(), nullptr, 0,
                                              nullptr, nonce, k.data());
    ++nonce[0];
    bytes += msg.size();
  }
  return bytes / (thread_cpu_seconds() - c0) / 1e6;
}

int handshake_mode(double seconds) {
  auto a = ident(1), b = ident(2);
  int n = 0;
  auto t0 = Clock::now();
  double c0 = thread_cpu_seconds();
  while (secs_since(t0) < seconds) {
    auto i = SessionHandshake::initiator(a, b.key.public_key());
    auto r = SessionHandshake::responder(b);
    r.feed(i.feed(r.feed(i.start())));
    if (!r.done() || !i.done()) return 1;
    ++n;
  }
  double rate = n / secs_since(t0);
  double cpu_rate = n / (thread_cpu_seconds() - c0);
  // Each handshake runs both sides here: 3 X25519 DH + 1 keygen per side, one signature and one
  // verification per side. A node doing only its own side manages about twice this rate.
  std::printf(
      "RESULT mode=handshake both_sides_per_s=%.0f per_side_per_s=%.0f both_sides_per_cpu_s=%.0f\n",
      rate, 2 * rate, cpu_rate);
  return 0;
}

int throughput_mode(size_t size, uint64_t count) {
  double raw64k = raw_chacha_mbps(65519, 1.0);
  double raw_msg = raw_chacha_mbps(std::max<size_t>(size, 1), 1.0);
  int to_child[2], to_parent[2];
  if (pipe(to_child) || pipe(to_parent)) return 2;
  pid_t pid = fork();
  if (pid == 0) {  // receiver process
    close(to_child[1]);
    close(to_parent[0]);
    auto id = ident(2);
    Transport t(id, unlimited());
    std::atomic<uint64_t> got{0};
    std::mutex mu;
    std::condition_variable cv;
    Clock::time_point first{};
    t.on_message([&](const crypto::PublicKey&, uint64_t, Bytes p) {
      if (got.load(std::memory_order_relaxed) == 0) first = Clock::now();
      if (got.fetch_add(1, std::memory_order_relaxed) + 1 == count) {
        std::lock_guard l(mu);
        cv.notify_all();
      }
      (void)p;
    });
    t.start();
    put(to_parent[1], t.port());
    {
      std::unique_lock l(mu);
      cv.wait(l, [&] { return got.load() >= count; });
    }
    put(to_parent[1], static_cast<uint64_t>(secs_since(first) * 1e9));
    put(to_parent[1], static_cast<uint64_t>(rss_kib()));
    put(to_parent[1], static_cast<uint64_t>(cpu_seconds() * 1e6));
    get(to_child[0]);  // parent done
    t.stop();
    _exit(0);
  }
  close(to_child[0]);
  close(to_parent[1]);
  uint16_t port = static_cast<uint16_t>(get(to_parent[0]));
  auto me = ident(1), peer = ident(2);
  Transport t(me, unlimited());
  t.start();
  t.dial(peer.key.public_key(), "127.0.0.1", port);
  auto t_dial = Clock::now();
  while (!t.connected(peer.key.public_key())) {
    if (secs_since(t_dial) > 10) {
      std::fprintf(stderr, "no connection\n");
      kill(pid, SIGKILL);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Bytes msg(size, 0x5a);
  uint64_t retries = 0;
  double cpu0 = cpu_seconds();
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < count; ++i) {
    while (!t.send(peer.key.public_key(), channel::kGit, msg)) {
      ++retries;
      std::this_thread::yield();  // backpressure: the send queue is full
    }
  }
  double send_s = secs_since(t0);
  uint64_t recv_ns = get(to_parent[0]);
  double total_s = secs_since(t0);
  double sender_cpu = cpu_seconds() - cpu0;
  uint64_t child_rss = get(to_parent[0]);
  double receiver_cpu = get(to_parent[0]) / 1e6;
  put(to_child[1], 1);
  int status = 0;
  waitpid(pid, &status, 0);
  t.stop();
  double mb = static_cast<double>(size) * count / 1e6;
  std::printf(
      "RESULT mode=throughput size=%zu count=%llu seconds=%.3f MB_per_s=%.1f msgs_per_s=%.0f "
      "receiver_active_s=%.3f sender_enqueue_s=%.3f backpressure_retries=%llu "
      "raw_chacha20poly1305_64KiB_MB_per_s=%.1f raw_chacha20poly1305_msgsize_MB_per_s=%.1f "
      "ratio_raw_over_transport=%.2f receiver_rss_kib=%llu sender_cpu_s=%.3f receiver_cpu_s=%.3f "
      "MB_per_receiver_cpu_s=%.1f MB_per_sender_cpu_s=%.1f msgs_per_receiver_cpu_s=%.0f "
      "ratio_raw_over_receiver_cpu=%.2f\n",
      size, static_cast<unsigned long long>(count), total_s, mb / total_s, count / total_s,
      recv_ns / 1e9, send_s, static_cast<unsigned long long>(retries), raw64k, raw_msg,
      raw64k / (mb / total_s), static_cast<unsigned long long>(child_rss), sender_cpu, receiver_cpu,
      mb / receiver_cpu, mb / sender_cpu, count / receiver_cpu, raw64k / (mb / receiver_cpu));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

// A client connection driven by hand over a blocking-then-polled socket: handshake, then it
// answers the server's pings so the server's idle timeout never fires.
struct RawConn {
  int fd = -1;
  std::optional<FrameEncoder> enc;
  std::optional<FrameDecoder> dec;
};

bool raw_connect(RawConn& c, const LocalIdentity& me, const crypto::PublicKey& server,
                 uint16_t port) {
  c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
  auto hs = SessionHandshake::initiator(me, server);
  auto first = hs.start();
  if (::send(c.fd, first.data(), first.size(), 0) != static_cast<ssize_t>(first.size()))
    return false;
  uint8_t buf[2048];
  while (!hs.done()) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    auto out = hs.feed(ByteView(buf, static_cast<size_t>(n)));
    if (!out.empty() &&
        ::send(c.fd, out.data(), out.size(), 0) != static_cast<ssize_t>(out.size())) {
      return false;
    }
  }
  auto s = hs.take_session();
  c.enc.emplace(std::move(s.send));
  FrameLimits lim;
  for (const auto& ch : default_channels()) lim.max_message_size[ch.id] = ch.max_message_size;
  c.dec.emplace(std::move(s.recv), lim);
  c.dec->feed(hs.take_leftover());
  return true;
}

int conns_mode(size_t n, double hold) {
  raise_fd_limit();
  int to_child[2], to_parent[2];
  if (pipe(to_child) || pipe(to_parent)) return 2;
  pid_t pid = fork();
  if (pid == 0) {  // the node
    close(to_child[1]);
    close(to_parent[0]);
    auto cfg = TransportConfig{};
    cfg.max_connections = n + 64;
    cfg.max_handshakes = 256;
    cfg.inbound_per_ip_rate = 1e6;  // every client is 127.0.0.1
    cfg.inbound_per_ip_burst = 1e6;
    Transport t(ident(0), cfg);
    t.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    long before = rss_kib();
    put(to_parent[1], t.port());
    get(to_child[0]);  // all clients connected
    auto peers = t.peers().size();
    long after = rss_kib();
    put(to_parent[1], peers);
    put(to_parent[1], static_cast<uint64_t>(before));
    put(to_parent[1], static_cast<uint64_t>(after));
    get(to_child[0]);  // hold done
    put(to_parent[1], t.peers().size());
    auto m = t.metrics();
    put(to_parent[1], m["p2p_idle_closed_total"]);
    get(to_child[0]);
    t.stop();
    _exit(0);
  }
  close(to_child[0]);
  close(to_parent[1]);
  uint16_t port = static_cast<uint16_t>(get(to_parent[0]));
  auto server = ident(0).key.public_key();
  std::vector<RawConn> conns(n);
  auto t0 = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    if (!raw_connect(conns[i], ident(static_cast<uint32_t>(1000 + i)), server, port)) {
      std::fprintf(stderr, "connection %zu failed\n", i);
      kill(pid, SIGKILL);
      return 1;
    }
  }
  double connect_s = secs_since(t0);
  // Let the node register the last sessions.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  put(to_child[1], 1);
  uint64_t peers = get(to_parent[0]);
  long before = static_cast<long>(get(to_parent[0]));
  long after = static_cast<long>(get(to_parent[0]));
  // Hold: answer pings for `hold` seconds.
  std::vector<pollfd> pfds(n);
  for (size_t i = 0; i < n; ++i) pfds[i] = {conns[i].fd, POLLIN, 0};
  uint64_t pongs = 0;
  auto th = Clock::now();
  uint8_t buf[65536];
  while (secs_since(th) < hold) {
    if (::poll(pfds.data(), pfds.size(), 100) <= 0) continue;
    for (size_t i = 0; i < n; ++i) {
      if (!(pfds[i].revents & POLLIN)) continue;
      ssize_t r = ::recv(conns[i].fd, buf, sizeof buf, 0);
      if (r <= 0) {
        pfds[i].fd = -1;
        continue;
      }
      conns[i].dec->feed(ByteView(buf, static_cast<size_t>(r)));
      while (auto ev = conns[i].dec->next()) {
        if (ev->kind == FrameEvent::Kind::kPing) {
          Bytes out;
          conns[i].enc->pong(ev->nonce, out);
          if (::send(conns[i].fd, out.data(), out.size(), 0) > 0) ++pongs;
        }
      }
    }
  }
  put(to_child[1], 1);
  uint64_t peers_after = get(to_parent[0]);
  uint64_t idle_closed = get(to_parent[0]);
  put(to_child[1], 1);
  int status = 0;
  waitpid(pid, &status, 0);
  for (auto& c : conns) ::close(c.fd);
  std::printf(
      "RESULT mode=conns n=%zu connect_s=%.2f handshakes_per_s=%.0f peers=%llu "
      "node_rss_before_kib=%ld "
      "node_rss_after_kib=%ld bytes_per_idle_conn=%.0f hold_s=%.0f peers_after_hold=%llu "
      "pongs=%llu idle_closed=%llu\n",
      n, connect_s, n / connect_s, static_cast<unsigned long long>(peers), before, after,
      (after - before) * 1024.0 / static_cast<double>(n), hold,
      static_cast<unsigned long long>(peers_after), static_cast<unsigned long long>(pongs),
      static_cast<unsigned long long>(idle_closed));
  return peers == n && peers_after == n ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) return 2;
  signal(SIGPIPE, SIG_IGN);
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "handshake") return handshake_mode(argc > 2 ? std::atof(argv[2]) : 3.0);
  if (mode == "throughput" && argc > 3) {
    return throughput_mode(std::strtoull(argv[2], nullptr, 10),
                           std::strtoull(argv[3], nullptr, 10));
  }
  if (mode == "conns" && argc > 2) {
    return conns_mode(std::strtoull(argv[2], nullptr, 10), argc > 3 ? std::atof(argv[3]) : 35.0);
  }
  std::fprintf(stderr,
               "usage: p2p_perf handshake [seconds] | throughput <size> <count> | conns <n> [hold "
               "seconds]\n");
  return 2;
}
