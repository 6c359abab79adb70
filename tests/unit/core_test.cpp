#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/base58.h"
#include "core/bytes.h"
#include "core/fs.h"
#include "core/net_addr.h"
#include "core/status.h"
#include "core/time.h"
#include "core/utf8.h"

using namespace guts;

TEST(Hex, RoundTripAndRejects) {
  Bytes b{0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(hex_encode(b), "0001abff");
  EXPECT_EQ(*hex_decode("0001ABff"), b);
  EXPECT_FALSE(hex_decode("abc"));
  EXPECT_FALSE(hex_decode("zz"));
  EXPECT_FALSE(hex_decode_fixed<2>("0001ab"));
}

TEST(Base58, KnownVectors) {
  // Vectors from the base58 draft (draft-msporny-base58).
  EXPECT_EQ(base58_encode(as_bytes("Hello World!")), "2NEpo7TZRRrLZSi2U");
  EXPECT_EQ(base58_encode(as_bytes("The quick brown fox jumps over the lazy dog.")),
            "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z");
  Bytes lead{0x00, 0x00, 0x28, 0x7f, 0xb4, 0xcd};
  EXPECT_EQ(base58_encode(lead), "11233QC4");
  EXPECT_EQ(*base58_decode("11233QC4"), lead);
  EXPECT_EQ(base58_encode({}), "");
  EXPECT_FALSE(base58_decode("0OIl"));
  EXPECT_FALSE(base58_decode(std::string(300, '2')));
}

TEST(Utf8, StrictValidation) {
  EXPECT_TRUE(is_valid_utf8("hello"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\xff"));
}

TEST(Time, Iso8601) {
  EXPECT_EQ(iso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(iso8601(1795000000123), "2026-11-18T11:06:40Z");
  EXPECT_EQ(*parse_iso8601("2026-11-18T11:06:40Z"), 1795000000000u);
  EXPECT_FALSE(parse_iso8601("2026-13-18T09:46:40Z"));
  EXPECT_FALSE(parse_iso8601("yesterday"));
}

TEST(Fs, AtomicWriteCreatesWithMode) {
  auto dir = std::filesystem::temp_directory_path() / ("guts-core-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / "secret";
  atomic_write_file(path, as_bytes("one"), 0600);
  atomic_write_file(path, as_bytes("two"), 0600);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(to_string(read_file(path)), "two");
  EXPECT_THROW(read_file(dir / "missing"), Error);
  EXPECT_THROW(read_file(path, 2), Error);
  std::filesystem::remove_all(dir);
}

TEST(Result, ValueAndError) {
  Result<int> ok = 5;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  Result<int> bad = Status(Code::kNotFound, "nope");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kNotFound);
  EXPECT_THROW(std::move(bad).take(), Error);
}

// The strict host:port grammar itself is covered case by case in tests/p2p/discovery_test.cpp
// (HostPort.*); here: port 0 for listen addresses, and the error messages.
TEST(NetAddr, ParseHostPortPortZeroOnlyWhenAllowed) {
  EXPECT_EQ(parse_host_port("127.0.0.1:9000"), (HostPort{"127.0.0.1", 9000}));
  EXPECT_EQ(parse_host_port("[::]:0", PortZero::kAllow), (HostPort{"::", 0}));
  EXPECT_EQ(parse_host_port("0.0.0.0:0", PortZero::kAllow), (HostPort{"0.0.0.0", 0}));
  EXPECT_EQ(parse_host_port("localhost:65535", PortZero::kAllow), (HostPort{"localhost", 65535}));
  EXPECT_THROW(parse_host_port("127.0.0.1:0"), Error);
  for (const char* s : {"127.0.0.1:00", "127.0.0.1:01", "127.0.0.1:", "127.0.0.1:65536"})
    EXPECT_THROW(parse_host_port(s, PortZero::kAllow), Error) << s;
  try {
    parse_host_port("::1:80");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("brackets"), std::string::npos) << e.what();
  }
  EXPECT_EQ((HostPort{"2001:db8::1", 443}).to_string(), "[2001:db8::1]:443");
}

TEST(NetAddr, PickFreePortsAreDistinctAndNotExcluded) {
  auto first = pick_free_ports(8);
  ASSERT_EQ(first.size(), 8u);
  std::set<uint16_t> seen(first.begin(), first.end());
  EXPECT_EQ(seen.size(), 8u);
  for (auto p : first) EXPECT_NE(p, 0);
  auto more = pick_free_ports(4, seen);
  for (auto p : more) EXPECT_EQ(seen.count(p), 0u) << p;
  EXPECT_TRUE(pick_free_ports(0).empty());
  EXPECT_NE(pick_free_port(), 0);
}

TEST(NetAddr, PickFreePortsStayOutOfTheEphemeralRange) {
  // Outgoing connections take their source ports from that range: a port picked there could be
  // taken before the process it was picked for binds it.
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  uint32_t lo = 0, hi = 0;
  ASSERT_TRUE(in >> lo >> hi);
  // A range leaving no room below or above it (e.g. 1024-65535) is drawn from as a last resort.
  if (lo < 10000 + 4096 && hi + 4096 > 65535) GTEST_SKIP() << "ephemeral range " << lo << "-" << hi;
  auto ports = pick_free_ports(64);
  for (auto p : ports) EXPECT_TRUE(p < lo || p > hi) << p << " in " << lo << "-" << hi;
  // Drawn at random, not from one fixed sequence: two picks rarely agree.
  auto again = pick_free_ports(64);
  EXPECT_NE(ports, again);
}

namespace {
size_t open_fds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}
}  // namespace

TEST(NetAddr, PickFreePortsClosesEverySocketAlsoOnError) {
  size_t before = open_fds();
  pick_free_ports(16);
  EXPECT_EQ(open_fds(), before);
  // In a child with a descriptor limit just above what is open: socket() fails midway.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    size_t open = open_fds();
    rlimit lim{open + 4, open + 4};
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) ::_exit(2);
    try {
      pick_free_ports(32);
      ::_exit(3);  // should have run out of descriptors
    } catch (const Error& e) {
      if (e.code() != Code::kInternal) ::_exit(4);
    }
    ::_exit(open_fds() == open ? 0 : 5);
  }
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
}
