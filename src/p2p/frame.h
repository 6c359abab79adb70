// Wire framing after the handshake (docs/p2p.md §3), sans-I/O.
//
// Record:   u16be length || ciphertext          (length = ciphertext size, 17 ..= 65535)
// Payload:  the Noise transport plaintext of one record:
//   0x01 MESSAGE   varint channel || varint total_len || chunk     (first chunk of a message)
//   0x02 CONTINUE  varint channel || chunk (>= 1 byte)             (next chunk, same channel)
//   0x03 PING      u64be nonce
//   0x04 PONG      u64be nonce
//   0x05 CLOSE     varint code || str reason (<= 256 bytes)
//
// A message larger than one record is split into a MESSAGE chunk and CONTINUE chunks; chunks of
// different channels may interleave, chunks of one channel arrive in order. Each channel has a
// maximum message size, checked against total_len before any chunk is buffered; the bytes held
// in partial messages across all channels are bounded too. Replayed, reordered, dropped or
// corrupted records fail the AEAD (the nonce is implicit) and kill the stream.
//
// Both directions rekey (Noise §11.3) after every `rekey_interval` records they encrypt/decrypt.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/bytes.h"
#include "core/status.h"
#include "p2p/noise.h"

namespace guts::p2p {

inline constexpr size_t kMaxRecordLen = noise::kMaxMessageLen;                 // ciphertext
inline constexpr size_t kMaxRecordPlaintext = kMaxRecordLen - noise::kTagLen;  // 65519
inline constexpr size_t kMaxCloseReason = 256;
inline constexpr uint64_t kDefaultRekeyInterval = uint64_t{1} << 20;

enum class FrameType : uint8_t {
  kMessage = 1,
  kContinue = 2,
  kPing = 3,
  kPong = 4,
  kClose = 5,
};

// A protocol violation by the peer (code kInvalidArgument, or kTooLarge for size bounds).
class FrameError : public Error {
 public:
  FrameError(Code code, const std::string& what) : Error(code, "frame: " + what) {}
};

struct FrameEvent {
  enum class Kind { kMessage, kPing, kPong, kClose };
  Kind kind = Kind::kMessage;
  uint64_t channel = 0;  // kMessage
  Bytes payload;         // kMessage
  uint64_t nonce = 0;    // kPing, kPong
  uint64_t code = 0;     // kClose
  std::string reason;    // kClose
};

struct FrameLimits {
  // Known channels and their maximum message size; a frame for any other channel is an error.
  std::map<uint64_t, size_t> max_message_size;
  // Bound on bytes held in partially received messages, all channels together.
  size_t max_pending_bytes = 64 << 20;
  uint64_t rekey_interval = kDefaultRekeyInterval;
};

class FrameEncoder {
 public:
  explicit FrameEncoder(noise::CipherState send, uint64_t rekey_interval = kDefaultRekeyInterval,
                        size_t max_record_plaintext = kMaxRecordPlaintext);

  // Appends the records of one message to out.
  void message(uint64_t channel, ByteView payload, Bytes& out);
  void ping(uint64_t nonce, Bytes& out);
  void pong(uint64_t nonce, Bytes& out);
  void close(uint64_t code, std::string_view reason, Bytes& out);
  // Encrypts an arbitrary record plaintext (tests and fuzzers build invalid frames with it).
  void raw_record(ByteView plaintext, Bytes& out);

  uint64_t records() const { return records_; }

 private:
  // Encrypts out[start+2 .. start+2+len) in place and writes the length prefix at start.
  void seal(Bytes& out, size_t start, size_t plaintext_len);

  noise::CipherState cs_;
  uint64_t rekey_interval_;
  size_t max_plain_;
  uint64_t records_ = 0;
};

class FrameDecoder {
 public:
  FrameDecoder(noise::CipherState recv, FrameLimits limits);

  // Buffers received bytes (any split). Cheap; the work happens in next().
  void feed(ByteView data);
  // The next complete event, or nullopt when more bytes are needed. Throws FrameError or
  // noise::NoiseError on any violation; the decoder is dead afterwards (every call throws).
  std::optional<FrameEvent> next();

  // Bytes buffered and not yet decoded, plus bytes held in partial messages.
  size_t buffered() const { return buf_.size() - pos_; }
  size_t pending() const { return pending_bytes_; }
  uint64_t records() const { return records_; }
  // Frees the input buffer when it holds no bytes (idle connections keep little memory).
  void compact();

 private:
  std::optional<FrameEvent> parse(ByteView plain);

  struct Partial {
    uint64_t total = 0;
    Bytes data;
  };

  noise::CipherState cs_;
  FrameLimits limits_;
  Bytes buf_;
  size_t pos_ = 0;
  std::map<uint64_t, Partial> partial_;
  size_t pending_bytes_ = 0;
  uint64_t records_ = 0;
  bool dead_ = false;
};

}  // namespace guts::p2p
