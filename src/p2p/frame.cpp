#include "p2p/frame.h"

#include <algorithm>
#include <cstring>

#include "codec/codec.h"

namespace guts::p2p {

namespace {

size_t put_varint(uint8_t* p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = static_cast<uint8_t>(v) | 0x80;
    v >>= 7;
  }
  p[n++] = static_cast<uint8_t>(v);
  return n;
}

constexpr size_t kMinRecordLen = noise::kTagLen + 1;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Encoder

FrameEncoder::FrameEncoder(noise::CipherState send, uint64_t rekey_interval,
                           size_t max_record_plaintext)
    : cs_(std::move(send)), rekey_interval_(rekey_interval), max_plain_(max_record_plaintext) {
  if (max_plain_ > kMaxRecordPlaintext || max_plain_ < 32) {
    throw Error(Code::kInvalidArgument, "record plaintext size out of range");
  }
}

void FrameEncoder::seal(Bytes& out, size_t start, size_t plaintext_len) {
  uint8_t* p = out.data() + start + 2;
  size_t len = cs_.encrypt_with_ad({}, ByteView(p, plaintext_len), p);
  out[start] = static_cast<uint8_t>(len >> 8);
  out[start + 1] = static_cast<uint8_t>(len);
  ++records_;
  if (rekey_interval_ != 0 && records_ % rekey_interval_ == 0) cs_.rekey();
}

void FrameEncoder::message(uint64_t channel, ByteView payload, Bytes& out) {
  // Reserve every record of the message at once (geometric growth: appending many messages to
  // one queue stays linear).
  size_t records = payload.size() / (max_plain_ - 21) + 1;
  size_t needed = out.size() + payload.size() + records * (2 + 21 + noise::kTagLen);
  if (out.capacity() < needed) out.reserve(std::max(needed, 2 * out.capacity()));
  size_t off = 0;
  bool first = true;
  do {
    uint8_t header[1 + 10 + 10];
    size_t h = 0;
    header[h++] = static_cast<uint8_t>(first ? FrameType::kMessage : FrameType::kContinue);
    h += put_varint(header + h, channel);
    if (first) h += put_varint(header + h, payload.size());
    size_t chunk = std::min(max_plain_ - h, payload.size() - off);
    size_t start = out.size();
    out.resize(start + 2 + h + chunk + noise::kTagLen);
    std::memcpy(out.data() + start + 2, header, h);
    if (chunk) std::memcpy(out.data() + start + 2 + h, payload.data() + off, chunk);
    seal(out, start, h + chunk);
    off += chunk;
    first = false;
  } while (off < payload.size());
}

void FrameEncoder::raw_record(ByteView plaintext, Bytes& out) {
  if (plaintext.size() > max_plain_) throw Error(Code::kInvalidArgument, "record too large");
  size_t start = out.size();
  out.resize(start + 2 + plaintext.size() + noise::kTagLen);
  if (!plaintext.empty()) std::memcpy(out.data() + start + 2, plaintext.data(), plaintext.size());
  seal(out, start, plaintext.size());
}

void FrameEncoder::ping(uint64_t nonce, Bytes& out) {
  codec::Writer w(9);
  w.u8(static_cast<uint8_t>(FrameType::kPing)).u64be(nonce);
  raw_record(w.data(), out);
}

void FrameEncoder::pong(uint64_t nonce, Bytes& out) {
  codec::Writer w(9);
  w.u8(static_cast<uint8_t>(FrameType::kPong)).u64be(nonce);
  raw_record(w.data(), out);
}

void FrameEncoder::close(uint64_t code, std::string_view reason, Bytes& out) {
  if (reason.size() > kMaxCloseReason) reason = reason.substr(0, kMaxCloseReason);
  codec::Writer w;
  w.u8(static_cast<uint8_t>(FrameType::kClose)).varint(code);
  // Truncation may split a UTF-8 sequence; the decoder validates, so keep ASCII only.
  std::string safe(reason);
  for (auto& c : safe) {
    if (static_cast<unsigned char>(c) >= 0x80 || c < 0x20) c = '?';
  }
  w.str(safe);
  raw_record(w.data(), out);
}

// ---------------------------------------------------------------------------------------------
// Decoder

FrameDecoder::FrameDecoder(noise::CipherState recv, FrameLimits limits)
    : cs_(std::move(recv)), limits_(std::move(limits)) {}

void FrameDecoder::feed(ByteView data) {
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  buf_.insert(buf_.end(), data.begin(), data.end());
}

void FrameDecoder::compact() {
  if (pos_ == buf_.size()) {
    Bytes().swap(buf_);
    pos_ = 0;
  }
}

std::optional<FrameEvent> FrameDecoder::next() {
  if (dead_) throw FrameError(Code::kInvalidArgument, "stream already failed");
  try {
    while (true) {
      size_t avail = buf_.size() - pos_;
      if (avail >= 2) {
        size_t len = (size_t{buf_[pos_]} << 8) | buf_[pos_ + 1];
        if (len < kMinRecordLen) {
          throw FrameError(Code::kInvalidArgument,
                           "record of " + std::to_string(len) + " bytes is shorter than 17");
        }
        if (avail - 2 >= len) {
          uint8_t* p = buf_.data() + pos_ + 2;
          size_t plen = cs_.decrypt_with_ad({}, ByteView(p, len), p);
          pos_ += 2 + len;
          ++records_;
          if (limits_.rekey_interval != 0 && records_ % limits_.rekey_interval == 0) cs_.rekey();
          auto ev = parse(ByteView(p, plen));
          if (ev) return ev;
          continue;
        }
      }
      // Need more bytes: drop what was consumed so the buffer stays one record large.
      if (pos_ > 0) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
        pos_ = 0;
      }
      return std::nullopt;
    }
  } catch (const codec::DecodeError& e) {
    dead_ = true;
    throw FrameError(Code::kInvalidArgument, e.what());
  } catch (...) {
    dead_ = true;
    throw;
  }
}

std::optional<FrameEvent> FrameDecoder::parse(ByteView plain) {
  codec::Reader r(plain);
  auto type = r.u8();
  FrameEvent ev;
  switch (static_cast<FrameType>(type)) {
    case FrameType::kMessage: {
      uint64_t ch = r.varint();
      uint64_t total = r.varint();
      auto lim = limits_.max_message_size.find(ch);
      if (lim == limits_.max_message_size.end()) {
        throw FrameError(Code::kInvalidArgument, "unknown channel " + std::to_string(ch));
      }
      if (total > lim->second) {
        throw FrameError(Code::kTooLarge, "message of " + std::to_string(total) +
                                              " bytes on channel " + std::to_string(ch) +
                                              " exceeds its maximum of " +
                                              std::to_string(lim->second));
      }
      if (partial_.count(ch)) {
        throw FrameError(Code::kInvalidArgument, "new message on channel " + std::to_string(ch) +
                                                     " while the previous one is incomplete");
      }
      ByteView chunk = r.fixed(r.remaining());
      if (chunk.size() > total) {
        throw FrameError(Code::kInvalidArgument, "chunk longer than the declared message");
      }
      if (chunk.empty() && total > 0) {
        throw FrameError(Code::kInvalidArgument, "empty first chunk");
      }
      if (chunk.size() == total) {
        ev.kind = FrameEvent::Kind::kMessage;
        ev.channel = ch;
        ev.payload.assign(chunk.begin(), chunk.end());
        return ev;
      }
      if (pending_bytes_ + chunk.size() > limits_.max_pending_bytes) {
        throw FrameError(Code::kTooLarge, "too many bytes in partial messages");
      }
      auto& p = partial_[ch];
      p.total = total;
      // Room for the whole message up front (no regrowth copies), but never more than 16× the
      // bytes actually received: a declared size alone cannot make us allocate much.
      p.data.reserve(std::min<uint64_t>(total, uint64_t{16} * chunk.size()));
      p.data.assign(chunk.begin(), chunk.end());
      pending_bytes_ += chunk.size();
      return std::nullopt;
    }
    case FrameType::kContinue: {
      uint64_t ch = r.varint();
      auto it = partial_.find(ch);
      if (it == partial_.end()) {
        throw FrameError(Code::kInvalidArgument,
                         "continuation on channel " + std::to_string(ch) + " without a message");
      }
      ByteView chunk = r.fixed(r.remaining());
      if (chunk.empty()) throw FrameError(Code::kInvalidArgument, "empty continuation");
      auto& p = it->second;
      if (p.data.size() + chunk.size() > p.total) {
        throw FrameError(Code::kInvalidArgument, "chunks exceed the declared message size");
      }
      if (pending_bytes_ + chunk.size() > limits_.max_pending_bytes) {
        throw FrameError(Code::kTooLarge, "too many bytes in partial messages");
      }
      p.data.insert(p.data.end(), chunk.begin(), chunk.end());
      pending_bytes_ += chunk.size();
      if (p.data.size() < p.total) return std::nullopt;
      pending_bytes_ -= p.data.size();
      ev.kind = FrameEvent::Kind::kMessage;
      ev.channel = ch;
      ev.payload = std::move(p.data);
      partial_.erase(it);
      return ev;
    }
    case FrameType::kPing:
    case FrameType::kPong:
      ev.kind = type == static_cast<uint8_t>(FrameType::kPing) ? FrameEvent::Kind::kPing
                                                               : FrameEvent::Kind::kPong;
      ev.nonce = r.u64be();
      r.finish();
      return ev;
    case FrameType::kClose:
      ev.kind = FrameEvent::Kind::kClose;
      ev.code = r.varint();
      ev.reason = r.str(kMaxCloseReason, "close reason");
      r.finish();
      return ev;
  }
  throw FrameError(Code::kInvalidArgument, "unknown frame type " + std::to_string(type));
}

}  // namespace guts::p2p
