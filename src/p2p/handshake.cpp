#include "p2p/handshake.h"

#include <algorithm>

#include "codec/codec.h"
#include "crypto/did.h"

namespace guts::p2p {

Bytes identity_signed_bytes(std::string_view network, const noise::DhPublic& noise_static) {
  codec::Writer w(network.size() + 40);
  w.str(network).fixed(noise_static);
  return w.take();
}

std::string ProtocolRange::to_string() const {
  return std::to_string(min) + ".." + std::to_string(max);
}

std::optional<uint8_t> common_version(const ProtocolRange& a, const ProtocolRange& b) {
  uint8_t lo = std::max(a.min, b.min), hi = std::min(a.max, b.max);
  if (lo > hi) return std::nullopt;
  return hi;
}

VersionMismatch::VersionMismatch(const ProtocolRange& ours, const ProtocolRange& theirs,
                                 const std::string& peer)
    : HandshakeError(Code::kFailedPrecondition,
                     "incompatible p2p protocol versions: " + peer + " speaks " +
                         theirs.to_string() + ", this node " + ours.to_string() + ": " +
                         (theirs.max < ours.min ? "the peer runs an older guts-node; upgrade it"
                                                : "the peer runs a newer guts-node; upgrade this "
                                                  "node")) {}

Bytes IdentityPayload::encode() const {
  codec::Writer w(2 + 32 + 64 + 1 + network.size());
  // Version 1 (min 1) is the first release's format, byte for byte; later versions append
  // their minimum.
  w.u8(protocol.max).fixed(identity).fixed(signature).str(network);
  if (protocol.max > kVersion) w.u8(protocol.min);
  return w.take();
}

IdentityPayload IdentityPayload::decode(ByteView data) {
  if (data.size() > kMaxSize)
    throw codec::DecodeError("identity payload of " + std::to_string(data.size()) + " bytes");
  codec::Reader r(data);
  IdentityPayload p;
  p.protocol.max = r.u8();
  if (p.protocol.max == 0) throw codec::DecodeError("identity payload version 0");
  p.identity = r.fixed<32>();
  p.signature = r.fixed<64>();
  p.network = r.str(kMaxNetworkIdLen, "network id");
  if (p.protocol.max == kVersion) {
    p.protocol.min = kVersion;
    r.finish();
    return p;
  }
  p.protocol.min = r.u8();
  if (p.protocol.min == 0 || p.protocol.min > p.protocol.max)
    throw codec::DecodeError("identity payload protocol range " + p.protocol.to_string());
  // Fields appended by versions after ours are not ours to read.
  return p;
}

IdentityPayload IdentityPayload::make(const crypto::SigningKey& key,
                                      const noise::DhPublic& noise_static, std::string_view network,
                                      ProtocolRange protocol) {
  if (protocol.min == 0 || protocol.min > protocol.max)
    throw Error(Code::kInvalidArgument, "p2p protocol range " + protocol.to_string());
  IdentityPayload p;
  p.protocol = protocol;
  p.identity = key.public_key();
  p.network = std::string(network);
  p.signature = key.sign(kNoiseStaticDomain, identity_signed_bytes(network, noise_static));
  return p;
}

bool IdentityPayload::verify(const noise::DhPublic& noise_static) const {
  return crypto::is_valid_public_key(identity) &&
         crypto::verify(identity, kNoiseStaticDomain, identity_signed_bytes(network, noise_static),
                        signature);
}

LocalIdentity LocalIdentity::create(crypto::SigningKey key, std::string network,
                                    ProtocolRange protocol) {
  if (network.size() > kMaxNetworkIdLen) {
    throw Error(Code::kInvalidArgument, "network id longer than 64 bytes");
  }
  auto noise_static = noise::KeyPair::generate();
  auto payload = IdentityPayload::make(key, noise_static.public_key(), network, protocol).encode();
  return LocalIdentity{std::move(key), std::move(noise_static), std::move(network),
                       std::move(payload), protocol};
}

SessionHandshake::SessionHandshake(const LocalIdentity& local, bool initiator)
    : key_(local.key), network_(local.network), protocol_(local.protocol), initiator_(initiator) {
  payload_ = local.payload.empty()
                 ? IdentityPayload::make(local.key, local.noise_static.public_key(), local.network,
                                         local.protocol)
                       .encode()
                 : local.payload;
  noise::HandshakeConfig c;
  c.protocol_name = std::string(kNoiseProtocol);
  c.initiator = initiator;
  c.prologue = to_bytes(kHandshakePrologue);
  c.s = local.noise_static;
  hs_ = std::make_unique<noise::HandshakeState>(std::move(c));
}

SessionHandshake::SessionHandshake(SessionHandshake&&) noexcept = default;
SessionHandshake& SessionHandshake::operator=(SessionHandshake&&) noexcept = default;
SessionHandshake::~SessionHandshake() = default;

SessionHandshake SessionHandshake::initiator(const LocalIdentity& local,
                                             std::optional<crypto::PublicKey> expected_remote) {
  SessionHandshake h(local, true);
  h.expected_ = expected_remote;
  return h;
}

SessionHandshake SessionHandshake::responder(const LocalIdentity& local, AcceptFn accept) {
  SessionHandshake h(local, false);
  h.accept_ = std::move(accept);
  return h;
}

namespace {
Bytes framed(const Bytes& msg) {
  Bytes out;
  out.reserve(msg.size() + 2);
  out.push_back(static_cast<uint8_t>(msg.size() >> 8));
  out.push_back(static_cast<uint8_t>(msg.size()));
  out.insert(out.end(), msg.begin(), msg.end());
  return out;
}
}  // namespace

Bytes SessionHandshake::start() {
  if (!initiator_ || started_ || failed_) {
    throw HandshakeError(Code::kInternal, "start() is for a fresh initiator only");
  }
  started_ = true;
  return framed(hs_->write_message({}));
}

bool SessionHandshake::done() const {
  return !failed_ && hs_->finished();
}

Bytes SessionHandshake::feed(ByteView data) {
  if (failed_) throw HandshakeError(Code::kInternal, "handshake already failed");
  if (initiator_ && !started_) throw HandshakeError(Code::kInternal, "call start() first");
  inbuf_.insert(inbuf_.end(), data.begin(), data.end());
  Bytes out;
  try {
    size_t pos = 0;
    while (!hs_->finished() && inbuf_.size() - pos >= 2) {
      size_t len = (size_t{inbuf_[pos]} << 8) | inbuf_[pos + 1];
      if (len > kMaxHandshakeMessage) {
        throw HandshakeError(Code::kInvalidArgument,
                             "handshake message of " + std::to_string(len) + " bytes is too long");
      }
      if (inbuf_.size() - pos - 2 < len) break;
      auto reply = on_message(ByteView(inbuf_).subspan(pos + 2, len));
      pos += 2 + len;
      out.insert(out.end(), reply.begin(), reply.end());
    }
    inbuf_.erase(inbuf_.begin(), inbuf_.begin() + static_cast<ptrdiff_t>(pos));
    if (!hs_->finished() && inbuf_.size() > kMaxHandshakeMessage + 2) {
      throw HandshakeError(Code::kInvalidArgument, "too much data during the handshake");
    }
  } catch (const HandshakeError&) {
    failed_ = true;
    throw;
  } catch (const noise::NoiseError& e) {
    failed_ = true;
    throw HandshakeError(Code::kUnauthenticated, e.what());
  } catch (const codec::DecodeError& e) {
    failed_ = true;
    throw HandshakeError(Code::kInvalidArgument, std::string("identity payload: ") + e.what());
  }
  return out;
}

Bytes SessionHandshake::on_message(ByteView msg) {
  auto payload = hs_->read_message(msg);
  if (!remote_ && hs_->remote_static()) {
    // This message carried the peer's static key and its identity payload.
    auto id = IdentityPayload::decode(payload);
    if (id.network != network_) {
      throw HandshakeError(Code::kPermissionDenied, "network mismatch: peer is on \"" + id.network +
                                                        "\", we are on \"" + network_ + "\"");
    }
    if (!id.verify(*hs_->remote_static())) {
      throw HandshakeError(Code::kUnauthenticated, "identity signature does not bind " +
                                                       crypto::did_from_key(id.identity) +
                                                       " to the session key");
    }
    if (id.identity == key_.public_key()) {
      throw HandshakeError(Code::kConflict, "connected to ourselves");
    }
    if (expected_ && id.identity != *expected_) {
      throw HandshakeError(Code::kUnauthenticated, "dialed " + crypto::did_from_key(*expected_) +
                                                       " but the peer is " +
                                                       crypto::did_from_key(id.identity));
    }
    // Versions after authentication: the reason names a peer that proved its identity.
    if (auto agreed = common_version(protocol_, id.protocol)) {
      agreed_ = *agreed;
    } else {
      VersionMismatch refusal(protocol_, id.protocol, crypto::did_from_key(id.identity));
      if (!initiator_) throw refusal;
      // The dialer answers anyway (its range in the last message) and refuses afterwards: the
      // listener sees the same ranges and logs the same reason instead of a dropped connection.
      refusal_ = refusal;
    }
    if (accept_) {
      auto st = accept_(id.identity);
      if (!st.ok()) {
        throw HandshakeError(Code::kPermissionDenied,
                             crypto::did_from_key(id.identity) + " refused: " + st.message());
      }
    }
    remote_ = id.identity;
  } else if (!payload.empty()) {
    throw HandshakeError(Code::kInvalidArgument, "unexpected handshake payload");
  }
  if (hs_->finished()) return {};
  // Our turn: the responder answers message 1 (e, ee, s, es), the initiator message 2 (s, se);
  // both carry our identity payload.
  return framed(hs_->write_message(payload_));
}

Session SessionHandshake::take_session() {
  if (!done()) throw HandshakeError(Code::kInternal, "handshake not finished");
  if (taken_) throw HandshakeError(Code::kInternal, "session already taken");
  if (refusal_) throw *refusal_;
  taken_ = true;
  auto [c1, c2] = hs_->split();
  Session s;
  s.remote = *remote_;
  s.remote_static = *hs_->remote_static();
  s.handshake_hash = hs_->handshake_hash();
  s.initiator = initiator_;
  s.protocol_version = agreed_;
  if (initiator_) {
    s.send = std::move(c1);
    s.recv = std::move(c2);
  } else {
    s.send = std::move(c2);
    s.recv = std::move(c1);
  }
  return s;
}

Bytes SessionHandshake::take_leftover() {
  return std::move(inbuf_);
}

}  // namespace guts::p2p
