#include "git/pktline.h"

#include <algorithm>
#include <vector>

namespace guts::git::pkt {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_header(std::string& out, size_t len) {
  out.push_back(kHex[(len >> 12) & 0xf]);
  out.push_back(kHex[(len >> 8) & 0xf]);
  out.push_back(kHex[(len >> 4) & 0xf]);
  out.push_back(kHex[len & 0xf]);
}

}  // namespace

void append(std::string& out, std::string_view payload) {
  if (payload.size() > kMaxPayload)
    throw Error(Code::kTooLarge, "pkt-line payload of " + std::to_string(payload.size()) +
                                     " bytes exceeds " + std::to_string(kMaxPayload));
  append_header(out, payload.size() + 4);
  out.append(payload);
}

std::string encode(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 4);
  append(out, payload);
  return out;
}

void Decoder::feed(ByteView chunk) {
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  if (buffered() + chunk.size() > max_buffer_)
    throw Error(Code::kTooLarge, "pkt-line input exceeds buffer bound");
  buf_.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
}

std::optional<Packet> Decoder::next() {
  if (buffered() < 4) return std::nullopt;
  size_t len = 0;
  for (int i = 0; i < 4; ++i) {
    int v = hex_value(buf_[pos_ + i]);
    if (v < 0) {
      std::string shown;
      for (int j = 0; j < 4; ++j) {
        unsigned char c = static_cast<unsigned char>(buf_[pos_ + j]);
        shown += (c >= 0x20 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : "?";
      }
      throw Error(Code::kInvalidArgument, "protocol error: bad line length character: " + shown);
    }
    len = (len << 4) | static_cast<size_t>(v);
  }
  Packet p;
  switch (len) {
    case 0:
      p.type = Type::kFlush;
      pos_ += 4;
      return p;
    case 1:
      p.type = Type::kDelim;
      pos_ += 4;
      return p;
    case 2:
      p.type = Type::kResponseEnd;
      pos_ += 4;
      return p;
    case 3:
      throw Error(Code::kInvalidArgument, "protocol error: bad line length 3");
    default:
      break;
  }
  if (len > kMaxPacketLen)
    throw Error(Code::kInvalidArgument,
                "protocol error: bad line length " + std::to_string(len) + " (max 65520)");
  if (buffered() < len) return std::nullopt;
  p.type = Type::kData;
  p.data.assign(buf_, pos_ + 4, len - 4);
  pos_ += len;
  return p;
}

std::string Decoder::take_remaining() {
  std::string rest = buf_.substr(pos_);
  buf_.clear();
  pos_ = 0;
  return rest;
}

std::vector<Packet> decode_all(std::string_view data) {
  Decoder d(data.size() + 1);
  d.feed(data);
  std::vector<Packet> out;
  while (auto p = d.next()) out.push_back(std::move(*p));
  if (d.buffered() != 0) throw Error(Code::kInvalidArgument, "protocol error: truncated pkt-line");
  return out;
}

std::string sideband_encode(Band band, ByteView data, size_t max_payload) {
  max_payload = std::clamp<size_t>(max_payload, 1, kMaxSidebandPayload);
  std::string out;
  out.reserve(data.size() + (data.size() / max_payload + 1) * 5);
  size_t off = 0;
  while (off < data.size()) {
    size_t n = std::min(max_payload, data.size() - off);
    append_header(out, n + 5);
    out.push_back(static_cast<char>(band));
    out.append(reinterpret_cast<const char*>(data.data()) + off, n);
    off += n;
  }
  return out;
}

void SidebandWriter::data(std::string_view bytes) {
  if (bytes.empty()) return;
  if (sideband_)
    out_(sideband_encode(Band::kData, bytes, max_));
  else
    out_(bytes);
}

void SidebandWriter::progress(std::string_view message) {
  if (sideband_ && !message.empty()) out_(sideband_encode(Band::kProgress, message, max_));
}

void SidebandWriter::error(std::string_view message) {
  if (sideband_ && !message.empty()) out_(sideband_encode(Band::kError, message, max_));
}

void SidebandWriter::finish() {
  if (sideband_) out_(kFlush);
}

bool SidebandReader::feed(std::string_view chunk) {
  if (done_) return true;
  dec_.feed(chunk);
  while (auto p = dec_.next()) {
    if (p->type == Type::kFlush) {
      done_ = true;
      return true;
    }
    if (p->type != Type::kData || p->data.empty())
      throw Error(Code::kInvalidArgument, "protocol error: bad side-band packet");
    std::string_view payload = std::string_view(p->data).substr(1);
    switch (static_cast<uint8_t>(p->data[0])) {
      case 1:
        if (on_data) on_data(payload);
        break;
      case 2:
        if (on_progress) on_progress(payload);
        break;
      case 3:
        if (on_error) on_error(payload);
        break;
      default:
        throw Error(Code::kInvalidArgument, "protocol error: bad band #" +
                                                std::to_string(static_cast<uint8_t>(p->data[0])));
    }
  }
  return false;
}

}  // namespace guts::git::pkt
