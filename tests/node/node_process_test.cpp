// guts-node as a process: a bad configuration refuses to start (exit 2, the file, line and key
// named, nothing written), `guts-node config check`, and systemd's readiness protocol (READY=1,
// WATCHDOG=1, STOPPING=1 on a NOTIFY_SOCKET the test binds).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "tests/support/node_harness.h"

using namespace guts::testing;
using namespace std::chrono_literals;

namespace {

std::string guts_node() {
  return (bin_dir() / "guts-node").string();
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// A unix datagram socket bound at `path`, closed by the destructor.
class NotifySocket {
 public:
  explicit NotifySocket(const fs::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    EXPECT_LT(path.string().size(), sizeof(addr.sun_path));
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << strerror(errno);
  }
  ~NotifySocket() { ::close(fd_); }
  // Datagrams until one contains `what` or the deadline passes; all received go to `seen`.
  bool wait_for(const std::string& what, std::chrono::milliseconds deadline) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left.count()))) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      std::string msg(buf, static_cast<size_t>(n));
      seen += msg + "|";
      if (msg.find(what) != std::string::npos) return true;
    }
    return false;
  }
  std::string seen;

 private:
  fs::path path_;
  int fd_ = -1;
};

}  // namespace

TEST(NodeConfigProcess, BadConfigRefusesToStartAndWritesNothing) {
  TempDir dir("bad-config");
  struct Case {
    std::string text, expect;
  };
  const std::vector<Case> cases = {
      {"api-addr = \"127.0.0.1:0\"\nlisten = \"x\"\n", "bad.toml:2: unknown key 'listen'"},
      {"api-threads = \"four\"\n", "bad.toml:1: key 'api-threads': expected an integer"},
      {"\n\nmax-block-txs = 1000000000\n",
       "bad.toml:3: key 'max-block-txs': 1000000000 is out of range"},
      {"bootstrap = [\n  \"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK@h:1\",\n",
       "bad.toml:3: key 'bootstrap': unterminated array (opened on line 1)"},
      {"log-level = \"info", "bad.toml:1: key 'log-level': unterminated string"},
      {"[node]\napi-addr = \"x\"\n", "bad.toml:1: tables ([section]) are not supported"},
  };
  auto data = dir / "data";
  for (const auto& c : cases) {
    write(dir / "bad.toml", c.text);
    auto r = run({guts_node(), "--config", (dir / "bad.toml").string(), "--data-dir", data.string(),
                  "--api-addr", "127.0.0.1:0", "--p2p-addr", "127.0.0.1:0"},
                 {}, {}, "", 60s);
    EXPECT_EQ(r.code, 2) << c.text << "\n" << r.both();
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    EXPECT_NE(r.err.find((dir / "bad.toml").string()), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(data)) << "a refused configuration created " << data;
  }
  // Same through GUTS_CONFIG and a bad environment variable.
  write(dir / "bad.toml", "api-threads = 0\n");
  auto r = run({guts_node(), "--data-dir", data.string()},
               {{"GUTS_CONFIG", (dir / "bad.toml").string()}}, {}, "", 60s);
  EXPECT_EQ(r.code, 2) << r.both();
  EXPECT_NE(r.err.find("bad.toml:1: key 'api-threads': 0 is out of range (1..256)"),
            std::string::npos)
      << r.err;
  r = run({guts_node(), "--data-dir", data.string()}, {{"GUTS_MAX_BLOCK_TXS", "-1"}}, {}, "", 60s);
  EXPECT_EQ(r.code, 2) << r.both();
  EXPECT_NE(r.err.find("GUTS_MAX_BLOCK_TXS"), std::string::npos) << r.err;
  r = run({guts_node(), "--config", (dir / "missing.toml").string(), "--data-dir", data.string()},
          {}, {}, "", 60s);
  EXPECT_EQ(r.code, 2) << r.both();
  EXPECT_NE(r.err.find("missing.toml"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(data));
}

TEST(NodeConfigProcess, ConfigCheckPrintsTheEffectiveConfiguration) {
  TempDir dir("config-check");
  write(dir / "node.toml",
        "# a node\napi-addr = \"127.0.0.1:18080\"\nlog-level = \"debug\"\napi-threads = 3\n");
  auto r = run({guts_node(), "config", "check", "--config", (dir / "node.toml").string(),
                "--api-threads", "4"},
               {{"GUTS_LOG_LEVEL", "warn"}}, {}, "", 60s);
  ASSERT_EQ(r.code, 0) << r.both();
  EXPECT_NE(r.out.find("api-addr = \"127.0.0.1:18080\"  # " + (dir / "node.toml").string() + ":2"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("log-level = \"warn\"  # GUTS_LOG_LEVEL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("api-threads = 4  # --api-threads"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("max-block-txs = 5000  # default"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("# configuration ok"), std::string::npos) << r.out;
  // The printed configuration is itself a valid config file.
  write(dir / "effective.toml", r.out);
  auto again = run({guts_node(), "config", "check", "--config", (dir / "effective.toml").string()},
                   {}, {}, "", 60s);
  EXPECT_EQ(again.code, 0) << again.both();
  EXPECT_NE(again.out.find("api-threads = 4"), std::string::npos) << again.out;
  // A full node without a genesis file is refused by config check too.
  auto full = run({guts_node(), "config", "check", "--no-validator"}, {}, {}, "", 60s);
  EXPECT_EQ(full.code, 2) << full.both();
  EXPECT_NE(full.err.find("--genesis-file"), std::string::npos) << full.err;
}

TEST(NodeConfigProcess, SdNotifyReadyWatchdogStopping) {
  TempDir dir("sd-notify");
  // sun_path holds 108 bytes: a short directory of our own under /tmp.
  auto sock_dir = fs::path("/tmp") / ("guts-sd-" + std::to_string(::getpid()));
  fs::create_directories(sock_dir);
  auto sock_path = sock_dir / "notify";
  fs::remove(sock_path);
  {
    NotifySocket sock(sock_path);
    write(dir / "node.toml", "log-level = \"info\"\napi-threads = 1\n");
    NodeProcess node(dir / "data", {"--config", (dir / "node.toml").string()});
    node.env() = {{"NOTIFY_SOCKET", sock_path.string()}, {"WATCHDOG_USEC", "400000"}};
    node.start();  // returns once the API answers
    ASSERT_TRUE(sock.wait_for("READY=1", 30s)) << sock.seen << node.log();
    EXPECT_NE(sock.seen.find("STATUS=serving on port " + std::to_string(node.port())),
              std::string::npos)
        << sock.seen;
    ASSERT_TRUE(sock.wait_for("WATCHDOG=1", 10s)) << sock.seen;
    ASSERT_TRUE(sock.wait_for("WATCHDOG=1", 10s)) << sock.seen;
    node.stop();
    EXPECT_EQ(node.exit_status(), "exit 0");
    EXPECT_TRUE(sock.wait_for("STOPPING=1", 10s)) << sock.seen;
  }
  // Abstract socket names ("@…") work too.
  {
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    std::string name = "guts-sd-abstract-" + std::to_string(::getpid());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name.data(), name.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr),
                     static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())),
              0);
    NodeProcess node(dir / "data", {});
    node.env() = {{"NOTIFY_SOCKET", "@" + name}};
    node.start();
    pollfd p{fd, POLLIN, 0};
    std::string got;
    auto end = std::chrono::steady_clock::now() + 30s;
    while (got.find("READY=1") == std::string::npos && std::chrono::steady_clock::now() < end) {
      if (::poll(&p, 1, 1000) <= 0) continue;
      char buf[512];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
    }
    EXPECT_NE(got.find("READY=1"), std::string::npos) << got;
    node.stop();
    ::close(fd);
  }
  fs::remove_all(sock_dir);
}
