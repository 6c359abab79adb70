#include "p2p/frame.h"

#include <gtest/gtest.h>

#include <random>

#include "codec/codec.h"

using namespace guts;
using namespace guts::p2p;

namespace {

noise::Key test_key() {
  noise::Key k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 7 + 1);
  return k;
}

FrameLimits limits() {
  FrameLimits l;
  l.max_message_size[0] = 1 << 20;
  l.max_message_size[1] = 1000;
  l.max_message_size[300] = 10;
  l.max_pending_bytes = 2 << 20;
  return l;
}

struct Pipe {
  FrameEncoder enc{noise::CipherState(test_key())};
  FrameDecoder dec{noise::CipherState(test_key()), limits()};
};

std::vector<FrameEvent> drain(FrameDecoder& d) {
  std::vector<FrameEvent> out;
  while (auto ev = d.next()) out.push_back(std::move(*ev));
  return out;
}

// Splits a wire stream into records (u16be length prefixes).
std::vector<Bytes> records(const Bytes& wire) {
  std::vector<Bytes> out;
  size_t pos = 0;
  while (pos + 2 <= wire.size()) {
    size_t len = (size_t{wire[pos]} << 8) | wire[pos + 1];
    out.emplace_back(wire.begin() + static_cast<ptrdiff_t>(pos),
                     wire.begin() + static_cast<ptrdiff_t>(pos + 2 + len));
    pos += 2 + len;
  }
  return out;
}

Bytes cat(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes pattern_bytes(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + seed);
  return b;
}

template <typename F>
Code error_code(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return Code::kOk;
}

}  // namespace

TEST(Frame, RoundTripAllKindsWithArbitrarySplits) {
  Pipe p;
  Bytes wire;
  auto big = pattern_bytes(300000, 5);  // 5 records
  p.enc.message(0, as_bytes("hello"), wire);
  p.enc.message(1, {}, wire);
  p.enc.message(0, big, wire);
  p.enc.message(300, as_bytes("0123456789"), wire);
  p.enc.ping(42, wire);
  p.enc.pong(43, wire);
  p.enc.close(7, "bye", wire);
  EXPECT_EQ(records(wire).size(), 6u + 5u);
  EXPECT_EQ(p.enc.records(), 11u);

  std::mt19937 rng(1);
  for (int round = 0; round < 4; ++round) {
    FrameDecoder dec(noise::CipherState(test_key()), limits());
    std::vector<FrameEvent> evs;
    size_t off = 0;
    while (off < wire.size()) {
      size_t n = round == 0 ? 1 : std::min<size_t>(wire.size() - off, 1 + rng() % 70000);
      dec.feed(ByteView(wire).subspan(off, n));
      off += n;
      auto got = drain(dec);
      for (auto& e : got) evs.push_back(std::move(e));
    }
    ASSERT_EQ(evs.size(), 7u);
    EXPECT_EQ(evs[0].channel, 0u);
    EXPECT_EQ(to_string(evs[0].payload), "hello");
    EXPECT_EQ(evs[1].channel, 1u);
    EXPECT_TRUE(evs[1].payload.empty());
    EXPECT_EQ(evs[2].payload, big);
    EXPECT_EQ(evs[3].channel, 300u);
    EXPECT_EQ(evs[4].kind, FrameEvent::Kind::kPing);
    EXPECT_EQ(evs[4].nonce, 42u);
    EXPECT_EQ(evs[5].kind, FrameEvent::Kind::kPong);
    EXPECT_EQ(evs[5].nonce, 43u);
    EXPECT_EQ(evs[6].kind, FrameEvent::Kind::kClose);
    EXPECT_EQ(evs[6].code, 7u);
    EXPECT_EQ(evs[6].reason, "bye");
    EXPECT_EQ(dec.buffered(), 0u);
    EXPECT_EQ(dec.pending(), 0u);
  }
}

TEST(Frame, GoldenRecordLayout) {
  // First record of message "hi" on channel 1: plaintext 01 01 02 68 69, encrypted with nonce 0.
  Pipe p;
  Bytes wire;
  p.enc.message(1, as_bytes("hi"), wire);
  ASSERT_EQ(wire.size(), 2u + 5 + 16);
  EXPECT_EQ(wire[0], 0);
  EXPECT_EQ(wire[1], 21);
  noise::CipherState cs(test_key());
  auto plain = cs.decrypt_with_ad({}, ByteView(wire).subspan(2));
  EXPECT_EQ(hex_encode(plain), "0101026869");
  // Chunking: the first record carries the total size, continuations only channel + bytes.
  FrameEncoder small(noise::CipherState(test_key()), kDefaultRekeyInterval, 32);
  Bytes w2;
  small.message(1, pattern_bytes(40, 0), w2);
  auto recs = records(w2);
  ASSERT_EQ(recs.size(), 2u);
  noise::CipherState cs2(test_key());
  auto r0 = cs2.decrypt_with_ad({}, ByteView(recs[0]).subspan(2));
  auto r1 = cs2.decrypt_with_ad({}, ByteView(recs[1]).subspan(2));
  EXPECT_EQ(r0.size(), 32u);
  EXPECT_EQ(hex_encode(ByteView(r0).subspan(0, 3)), "010128");  // MESSAGE ch=1 total=40
  EXPECT_EQ(hex_encode(ByteView(r1).subspan(0, 2)), "0201");    // CONTINUE ch=1
  EXPECT_EQ(r1.size(), 2u + 40 - 29);
}

TEST(Frame, InterleavedChannelsReassemble) {
  noise::CipherState cs(test_key());
  FrameEncoder enc(std::move(cs));
  Bytes wire;
  codec::Writer a1, b1, a2, b2;
  a1.u8(1).varint(0).varint(6).fixed(as_bytes("abc"));
  b1.u8(1).varint(1).varint(4).fixed(as_bytes("xy"));
  a2.u8(2).varint(0).fixed(as_bytes("def"));
  b2.u8(2).varint(1).fixed(as_bytes("zw"));
  for (auto* w : {&a1, &b1, &a2, &b2}) enc.raw_record(w->data(), wire);
  Pipe p;
  p.dec.feed(wire);
  auto evs = drain(p.dec);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(to_string(evs[0].payload), "abcdef");
  EXPECT_EQ(to_string(evs[1].payload), "xyzw");
}

TEST(Frame, CorruptedReplayedReorderedDroppedRecordsFail) {
  Pipe p;
  Bytes wire;
  for (int i = 0; i < 3; ++i) p.enc.message(0, pattern_bytes(100, static_cast<uint8_t>(i)), wire);
  auto recs = records(wire);
  auto expect_fail = [&](const Bytes& stream, size_t good_events) {
    FrameDecoder d(noise::CipherState(test_key()), limits());
    d.feed(stream);
    size_t n = 0;
    try {
      while (d.next()) ++n;
      ADD_FAILURE() << "no error";
    } catch (const noise::NoiseError& e) {
      EXPECT_NE(std::string(e.what()).find("replayed or reordered"), std::string::npos);
    }
    EXPECT_EQ(n, good_events);
    EXPECT_THROW(d.next(), FrameError);  // dead
  };
  auto corrupted = wire;
  corrupted[2 + 50] ^= 1;
  expect_fail(corrupted, 0);
  auto tag = wire;
  tag[recs[0].size() - 1] ^= 0x80;  // last tag byte of record 0
  expect_fail(tag, 0);
  expect_fail(cat({recs[0], recs[0]}), 1);  // replay
  expect_fail(cat({recs[1], recs[0]}), 0);  // reorder
  expect_fail(cat({recs[0], recs[2]}), 1);  // drop
  auto relen = recs[1];                     // length prefix tampered: shorter record
  relen[1] -= 1;
  expect_fail(cat({recs[0], relen}), 1);
}

TEST(Frame, TruncatedStreamWaitsForMore) {
  Pipe p;
  Bytes wire;
  p.enc.message(0, pattern_bytes(1000, 1), wire);
  p.dec.feed(ByteView(wire).subspan(0, wire.size() - 1));
  EXPECT_FALSE(p.dec.next());
  EXPECT_EQ(p.dec.buffered(), wire.size() - 1);
  p.dec.feed(ByteView(wire).subspan(wire.size() - 1));
  auto ev = p.dec.next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->payload.size(), 1000u);
  // A multi-record message cut after its first record stays pending (bounded).
  Bytes w2;
  p.enc.message(0, pattern_bytes(100000, 2), w2);
  auto recs = records(w2);
  p.dec.feed(recs[0]);
  EXPECT_FALSE(p.dec.next());
  EXPECT_GT(p.dec.pending(), 60000u);
}

TEST(Frame, ProtocolViolationsHaveClearErrors) {
  struct Case {
    const char* name;
    Bytes plain;
    Code code;
    const char* needle;
  };
  auto w = [](auto f) {
    codec::Writer x;
    f(x);
    return x.take();
  };
  std::vector<Case> cases = {
      {"unknown type", Bytes{9, 0}, Code::kInvalidArgument, "unknown frame type 9"},
      {"zero type", Bytes{0}, Code::kInvalidArgument, "unknown frame type 0"},
      {"unknown channel", w([](auto& x) { x.u8(1).varint(2).varint(1).u8(0); }),
       Code::kInvalidArgument, "unknown channel 2"},
      {"oversize", w([](auto& x) { x.u8(1).varint(1).varint(1001).u8(0); }), Code::kTooLarge,
       "exceeds its maximum of 1000"},
      {"oversize small channel", w([](auto& x) { x.u8(1).varint(300).varint(11).u8(0); }),
       Code::kTooLarge, "channel 300"},
      {"chunk longer than total", w([](auto& x) { x.u8(1).varint(1).varint(1).u8(0).u8(0); }),
       Code::kInvalidArgument, "chunk longer"},
      {"empty first chunk", w([](auto& x) { x.u8(1).varint(1).varint(5); }), Code::kInvalidArgument,
       "empty first chunk"},
      {"orphan continuation", w([](auto& x) { x.u8(2).varint(1).u8(1); }), Code::kInvalidArgument,
       "without a message"},
      {"truncated ping", Bytes{3, 0, 0}, Code::kInvalidArgument, "decode"},
      {"ping trailing", Bytes{3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, Code::kInvalidArgument, "trailing"},
      {"non-minimal varint", Bytes{1, 0x81, 0x00, 1, 0}, Code::kInvalidArgument, "decode"},
      {"close bad utf8", w([](auto& x) { x.u8(5).varint(1).varint(1).u8(0xff); }),
       Code::kInvalidArgument, "decode"},
      {"close long reason",
       w([](auto& x) { x.u8(5).varint(1).str(std::string(kMaxCloseReason + 1, 'a')); }),
       Code::kInvalidArgument, "decode"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Pipe p;
    Bytes wire;
    p.enc.raw_record(c.plain, wire);
    p.dec.feed(wire);
    try {
      p.dec.next();
      ADD_FAILURE() << "no error";
    } catch (const FrameError& e) {
      EXPECT_EQ(e.code(), c.code);
      EXPECT_NE(std::string(e.what()).find(c.needle), std::string::npos) << e.what();
    }
  }
}

TEST(Frame, SequenceViolations) {
  auto run = [](std::vector<Bytes> plains, FrameLimits lim = limits()) {
    FrameEncoder enc{noise::CipherState(test_key())};
    FrameDecoder dec{noise::CipherState(test_key()), lim};
    Bytes wire;
    for (auto& p : plains) enc.raw_record(p, wire);
    dec.feed(wire);
    return error_code([&] { drain(dec); });
  };
  Bytes start{1, 1, 10, 'a', 'b'};  // channel 1, 10 bytes, 2 given
  EXPECT_EQ(run({start, Bytes{1, 1, 2, 'x', 'y'}}), Code::kInvalidArgument);  // restart
  EXPECT_EQ(run({start, Bytes{2, 1}}), Code::kInvalidArgument);               // empty cont
  EXPECT_EQ(run({start, Bytes{2, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9}}), Code::kInvalidArgument);
  EXPECT_EQ(run({start, Bytes{2, 1, 1, 2, 3, 4, 5, 6, 7, 8}}), Code::kOk);  // exactly 10
  auto lim = limits();
  lim.max_pending_bytes = 3;
  EXPECT_EQ(run({start, Bytes{2, 1, 1, 2}}, lim), Code::kTooLarge);
  // A short length prefix (< 17 bytes, cannot hold a tag and a type).
  FrameDecoder dec{noise::CipherState(test_key()), limits()};
  dec.feed(Bytes{0, 16});
  EXPECT_EQ(error_code([&] { dec.next(); }), Code::kInvalidArgument);
}

TEST(Frame, RekeyEveryNRecords) {
  FrameEncoder enc(noise::CipherState(test_key()), 3);
  FrameLimits lim = limits();
  lim.rekey_interval = 3;
  FrameDecoder dec(noise::CipherState(test_key()), lim);
  Bytes wire;
  for (int i = 0; i < 10; ++i) enc.message(0, pattern_bytes(10, static_cast<uint8_t>(i)), wire);
  dec.feed(wire);
  EXPECT_EQ(drain(dec).size(), 10u);
  // A peer that does not rekey fails at the 4th record.
  FrameDecoder lazy(noise::CipherState(test_key()), limits());
  lazy.feed(wire);
  int ok = 0;
  EXPECT_THROW(while (lazy.next())++ ok, noise::NoiseError);
  EXPECT_EQ(ok, 3);
}
