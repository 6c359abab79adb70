#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "git/pktline.h"
#include "git/process.h"
#include "git/refs.h"
#include "git_test_util.h"

using namespace guts;
using namespace guts::git;
using namespace guts::git::testing;

// ---------------- process ----------------

TEST(Process, RunGitCollectsOutputAndExitCode) {
  auto r = run_git({"--version"});
  ASSERT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.out.rfind("git version 2.", 0), 0u);
  auto bad = run_git({"rev-parse", "--verify", "nope"}, {.cwd = "/"});
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.exit.code, 128);
  EXPECT_NE(bad.err.find("not a git repository"), std::string::npos);
}

TEST(Process, EnvAndCwd) {
  TempDir t;
  ProcessOptions po;
  po.argv = {"sh", "-c", "printf '%s:%s' \"$FOO\" \"$(pwd)\"; test -z \"$GIT_DIR\""};
  po.env = {{"FOO", "bar"}};
  po.unset_env = {"GIT_DIR"};
  po.cwd = t.path;
  auto p = Process::spawn(po);
  std::string out;
  auto st = p.pump(Source(), sink_to(out), Sink());
  EXPECT_TRUE(st.success()) << st.describe();
  EXPECT_EQ(out, "bar:" + fs::canonical(t.path).string());
}

TEST(Process, StreamsLargeDataBothWays) {
  // 32 MiB through `git hash-object --stdin`-like cat: no deadlock on full pipes, bounded buffers.
  ProcessOptions po;
  po.argv = {"cat"};
  auto p = Process::spawn(po);
  const size_t total = 32u << 20;
  size_t produced = 0, consumed = 0;
  uint8_t pattern = 0;
  bool in_order = true;
  auto st = p.pump(
      [&](uint8_t* buf, size_t cap) {
        size_t n = std::min(cap, total - produced);
        for (size_t i = 0; i < n; ++i) buf[i] = static_cast<uint8_t>((produced + i) & 0xff);
        produced += n;
        return n;
      },
      [&](ByteView c) {
        for (uint8_t b : c) in_order &= (b == pattern++);
        consumed += c.size();
      },
      Sink());
  EXPECT_TRUE(st.success());
  EXPECT_EQ(consumed, total);
  EXPECT_TRUE(in_order);
}

TEST(Process, TimeoutKillsAndReaps) {
  ProcessOptions po;
  po.argv = {"sleep", "30"};
  po.timeout = std::chrono::milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  auto p = Process::spawn(po);
  pid_t pid = p.pid();
  auto st = p.pump(Source(), Sink(), Sink());
  EXPECT_TRUE(st.timed_out);
  EXPECT_FALSE(st.success());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(p.reaped());
  EXPECT_EQ(::kill(pid, 0), -1);  // gone and reaped: no zombie
}

namespace {
// True while `pid` is a live (not zombie) process.
bool alive(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(f, stat)) return false;
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}
}  // namespace

TEST(Process, DestructorKillsGroupAndReaps) {
  pid_t pid, grandchild;
  int gfd = -1;
  {
    ProcessOptions po;
    // A shell with a child of its own: both are in the group that gets killed.
    po.argv = {"sh", "-c", "sleep 30 & echo $!; wait"};
    auto p = Process::spawn(po);
    pid = p.pid();
    auto line = p.read_stdout_line();
    ASSERT_TRUE(line);
    grandchild = std::stoi(*line);
    EXPECT_TRUE(alive(pid));
    EXPECT_TRUE(alive(grandchild));
    gfd = static_cast<int>(::syscall(SYS_pidfd_open, grandchild, 0));
  }
  EXPECT_EQ(::kill(pid, 0), -1);  // reaped: not even a zombie
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  // Killed with the group (reaping it is init's job); SIGKILL lands asynchronously, so wait for
  // the grandchild's exit notification on its pidfd.
  ASSERT_GE(gfd, 0);
  pollfd pfd{gfd, POLLIN, 0};
  EXPECT_EQ(::poll(&pfd, 1, 10000), 1);
  ::close(gfd);
  EXPECT_FALSE(alive(grandchild));
}

TEST(Process, MissingProgramThrows) {
  ProcessOptions po;
  po.argv = {"/nonexistent/guts-no-such-binary"};
  EXPECT_THROW(Process::spawn(po), Error);
}

TEST(Process, ChildExitingEarlyDoesNotBreakPump) {
  // `true` never reads stdin: EPIPE must end feeding, not kill us with SIGPIPE.
  ProcessOptions po;
  po.argv = {"true"};
  auto p = Process::spawn(po);
  std::string big(1 << 20, 'x');
  auto st = p.pump(source_from(as_bytes(big)), Sink(), Sink());
  EXPECT_TRUE(st.success());
}

TEST(Process, OutputLimit) {
  GitOptions o;
  o.max_output = 10;
  EXPECT_THROW(run_git({"help", "-a"}, o), Error);
}

// ---------------- pkt-line ----------------

TEST(PktLine, EncodeAndSpecials) {
  EXPECT_EQ(pkt::encode("hello\n"), "000ahello\n");
  EXPECT_EQ(pkt::encode(""), "0004");
  auto pkts = pkt::decode_all("0000000100020006a\n0004");
  ASSERT_EQ(pkts.size(), 5u);
  EXPECT_EQ(pkts[0].type, pkt::Type::kFlush);
  EXPECT_EQ(pkts[1].type, pkt::Type::kDelim);
  EXPECT_EQ(pkts[2].type, pkt::Type::kResponseEnd);
  EXPECT_EQ(pkts[3].data, "a\n");
  EXPECT_EQ(pkts[3].line(), "a");
  EXPECT_EQ(pkts[4].data, "");
}

TEST(PktLine, Bounds) {
  std::string max(pkt::kMaxPayload, 'x');
  auto enc = pkt::encode(max);
  EXPECT_EQ(enc.substr(0, 4), "fff0");
  EXPECT_EQ(pkt::decode_all(enc)[0].data.size(), pkt::kMaxPayload);
  EXPECT_THROW(pkt::encode(max + "x"), Error);
  EXPECT_THROW(pkt::decode_all("fff1" + std::string(65517, 'x')), Error);
  EXPECT_THROW(pkt::decode_all("0003"), Error);
  EXPECT_THROW(pkt::decode_all("00zz"), Error);
  EXPECT_THROW(pkt::decode_all("-001"), Error);
  EXPECT_THROW(pkt::decode_all("0009abc"), Error);             // truncated
  EXPECT_EQ(pkt::decode_all("000AabcdeF")[0].data, "abcdeF");  // upper-case hex accepted
}

TEST(PktLine, IncrementalByteByByte) {
  std::string stream = pkt::encode("one\n") + "0000" + pkt::encode("two") + "0001";
  pkt::Decoder d;
  std::vector<pkt::Packet> got;
  for (char c : stream) {
    d.feed(std::string_view(&c, 1));
    while (auto p = d.next()) got.push_back(*p);
  }
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].data, "one\n");
  EXPECT_EQ(got[1].type, pkt::Type::kFlush);
  EXPECT_EQ(got[2].data, "two");
  EXPECT_EQ(got[3].type, pkt::Type::kDelim);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(PktLine, RemainingAfterFlush) {
  pkt::Decoder d;
  d.feed(pkt::encode("cmd\n") + "0000PACKrest");
  EXPECT_EQ(d.next()->data, "cmd\n");
  EXPECT_EQ(d.next()->type, pkt::Type::kFlush);
  EXPECT_EQ(d.take_remaining(), "PACKrest");
}

TEST(PktLine, DecoderBufferBound) {
  pkt::Decoder d(100);
  EXPECT_THROW(d.feed(std::string(101, '0')), Error);
}

TEST(Sideband, SplitsAtMaxPayloadAndRoundTrips) {
  std::string data(pkt::kMaxSidebandPayload * 2 + 10, 'd');
  auto enc = pkt::sideband_encode(pkt::Band::kData, data);
  auto pkts = pkt::decode_all(enc);
  ASSERT_EQ(pkts.size(), 3u);
  EXPECT_EQ(pkts[0].data.size(), pkt::kMaxSidebandPayload + 1);
  EXPECT_EQ(enc.substr(0, 4), "fff0");
  EXPECT_EQ(pkts[2].data.size(), 11u);

  std::string got, progress, error;
  pkt::SidebandReader r;
  r.on_data = [&](std::string_view s) { got += s; };
  r.on_progress = [&](std::string_view s) { progress += s; };
  r.on_error = [&](std::string_view s) { error += s; };
  std::string stream = enc + pkt::sideband_encode(pkt::Band::kProgress, "50%\r") +
                       pkt::sideband_encode(pkt::Band::kError, "boom\n") + "0000";
  bool done = false;
  for (size_t i = 0; i < stream.size(); i += 777) done = r.feed(stream.substr(i, 777));
  EXPECT_TRUE(done);
  EXPECT_EQ(got, data);
  EXPECT_EQ(progress, "50%\r");
  EXPECT_EQ(error, "boom\n");

  pkt::SidebandReader bad;
  EXPECT_THROW(bad.feed(pkt::encode("\x04oops")), Error);
}

TEST(Sideband, WriterPlainAndMuxed) {
  std::string out;
  pkt::SidebandWriter plain([&](std::string_view s) { out += s; }, false);
  plain.data("abc");
  plain.progress("ignored");
  plain.finish();
  EXPECT_EQ(out, "abc");
  out.clear();
  pkt::SidebandWriter mux([&](std::string_view s) { out += s; }, true);
  mux.progress("p");
  mux.data("abc");
  mux.finish();
  EXPECT_EQ(out, "0006\x02p" +
                     std::string("0008\x01"
                                 "abc") +
                     "0000");
}

// ---------------- ref names ----------------

TEST(RefNames, MatchGitCheckRefFormat) {
  std::vector<std::string> names = {"refs/heads/main",
                                    "refs/heads/feature/x",
                                    "refs/tags/v1.0",
                                    "refs/heads/a..b",
                                    "refs/heads/.hidden",
                                    "refs/heads/x.lock",
                                    "refs/heads/x.lock/y",
                                    "refs/heads/a b",
                                    "refs/heads/a~1",
                                    "refs/heads/a^",
                                    "refs/heads/a:b",
                                    "refs/heads/a?",
                                    "refs/heads/a*",
                                    "refs/heads/a[",
                                    "refs/heads/a\\b",
                                    "refs/heads/a//b",
                                    "refs/heads/",
                                    "/refs/heads/a",
                                    "refs/heads/a.",
                                    "refs/heads/a@{1}",
                                    "@",
                                    "main",
                                    "refs/heads/\x01x",
                                    "refs/heads/\x7f",
                                    "refs/heads/a@b",
                                    "refs/heads/-dash",
                                    "refs/heads/ü",
                                    "refs/heads/x.lockx",
                                    "refs/heads/a/.b",
                                    "refs/heads/a.b"};
  for (const auto& n : names) {
    auto r = run_git({"check-ref-format", n});
    EXPECT_EQ(is_valid_ref_name(n), r.ok()) << "'" << n << "': " << ref_name_error(n);
  }
  EXPECT_FALSE(is_valid_ref_name("refs/heads/" + std::string(2000, 'a')));
  EXPECT_TRUE(pushable_ref_error("refs/heads/main").empty());
  EXPECT_FALSE(pushable_ref_error("refs/pull/1/head").empty());
  EXPECT_FALSE(pushable_ref_error("refs/heads/a..b").empty());
}

TEST(Oids, Validation) {
  EXPECT_TRUE(is_valid_oid(std::string(40, 'a')));
  EXPECT_FALSE(is_valid_oid(std::string(40, 'A')));
  EXPECT_FALSE(is_valid_oid(std::string(39, 'a')));
  EXPECT_FALSE(is_valid_oid(std::string(40, 'g')));
}
