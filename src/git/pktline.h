// git pkt-line framing (gitprotocol-common(5)) and side-band-64k multiplexing.
//
// A pkt-line is 4 lower- or upper-case hex digits giving the total length (header included),
// then the payload. Special packets: 0000 flush, 0001 delim (v2), 0002 response-end (v2).
// 0003 is invalid; lengths 4..65520 are data (4 = empty payload, which git itself never sends
// but tolerates). Everything else is a protocol error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"

namespace guts::git::pkt {

inline constexpr size_t kMaxPacketLen = 65520;                  // LARGE_PACKET_MAX
inline constexpr size_t kMaxPayload = kMaxPacketLen - 4;        // 65516
inline constexpr size_t kMaxSidebandPayload = kMaxPayload - 1;  // 65515 (side-band-64k)
inline constexpr size_t kMaxSidebandSmallPayload = 1000 - 5;    // old side-band (995)

inline constexpr std::string_view kFlush = "0000";
inline constexpr std::string_view kDelim = "0001";
inline constexpr std::string_view kResponseEnd = "0002";

enum class Type { kData, kFlush, kDelim, kResponseEnd };

struct Packet {
  Type type = Type::kData;
  std::string data;  // payload for kData (with its trailing '\n' if the sender wrote one)
  // Payload without one trailing '\n'.
  std::string_view line() const {
    std::string_view v(data);
    if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
    return v;
  }
};

// Encodes one data packet; throws Error(kTooLarge) if the payload is over kMaxPayload.
std::string encode(std::string_view payload);
// Appends one data packet to `out`.
void append(std::string& out, std::string_view payload);

// Incremental decoder: feed() arbitrary chunks, then call next() until it returns nullopt
// (needs more input). Malformed input throws guts::Error(kInvalidArgument) with a message
// naming the problem; the decoder is then unusable. Memory is bounded by `max_buffer`:
// feeding more unparsed bytes than that throws Error(kTooLarge).
class Decoder {
 public:
  explicit Decoder(size_t max_buffer = 4 * kMaxPacketLen) : max_buffer_(max_buffer) {}
  void feed(ByteView chunk);
  void feed(std::string_view chunk) { feed(as_bytes(chunk)); }
  std::optional<Packet> next();
  // Bytes fed but not consumed by next() (e.g. the pack after the command list).
  std::string take_remaining();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
  size_t max_buffer_;
};

// Parses a complete buffer into packets (for tests and small messages); throws on error or if
// the buffer ends inside a packet.
std::vector<Packet> decode_all(std::string_view data);

// ---- side-band ----

enum class Band : uint8_t { kData = 1, kProgress = 2, kError = 3 };

// Encodes `data` as side-band packets on `band`, split into payloads of at most `max_payload`
// bytes (kMaxSidebandPayload for side-band-64k). Empty data yields nothing.
std::string sideband_encode(Band band, ByteView data, size_t max_payload = kMaxSidebandPayload);
inline std::string sideband_encode(Band band, std::string_view data,
                                   size_t max_payload = kMaxSidebandPayload) {
  return sideband_encode(band, as_bytes(data), max_payload);
}

// Writes a response either plain or wrapped in side-band, to a sink.
class SidebandWriter {
 public:
  using Out = std::function<void(std::string_view)>;
  SidebandWriter(Out out, bool sideband, size_t max_payload = kMaxSidebandPayload)
      : out_(std::move(out)), sideband_(sideband), max_(max_payload) {}
  // Band 1 (or plain bytes when side-band is off).
  void data(std::string_view bytes);
  // Band 2; dropped when side-band is off (there is no channel for it).
  void progress(std::string_view message);
  // Band 3 (fatal error shown by the client); without side-band, nothing can carry it.
  void error(std::string_view message);
  // The closing flush of a side-band stream (no-op without side-band).
  void finish();
  bool sideband() const { return sideband_; }

 private:
  Out out_;
  bool sideband_;
  size_t max_;
};

// Demultiplexes side-band packets (as a client would). Each data packet's first byte is the
// band; a flush ends the stream. Throws Error(kInvalidArgument) on an unknown band.
class SidebandReader {
 public:
  std::function<void(std::string_view)> on_data, on_progress, on_error;
  // Feeds raw bytes; returns true once the closing flush was seen.
  bool feed(std::string_view chunk);

 private:
  Decoder dec_;
  bool done_ = false;
};

}  // namespace guts::git::pkt
