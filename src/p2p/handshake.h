// The Guts session handshake (docs/p2p.md §2): Noise_XX_25519_ChaChaPoly_BLAKE2b whose encrypted
// handshake payloads bind each side's Ed25519 node identity (did:key) to its Noise static key:
//
//   -> e                         payload: empty
//   <- e, ee, s, es              payload: IdentityPayload of the responder
//   -> s, se                     payload: IdentityPayload of the initiator
//
// IdentityPayload = u8 version || public key [32] || signature [64] || str network
//                   [|| u8 min_version || extensions, when version >= 2],
// where the signature is SigningKey::sign("guts/p2p/noise-static", str(network) || noise static
// key [32]). `version` is the highest p2p protocol version the sender speaks and min_version its
// lowest (1 when absent: a version-1 payload is exactly the format of the first release, so
// nodes that speak only version 1 still read it). A receiver ignores the bytes after min_version
// (later versions may append fields). Two nodes connect iff their ranges overlap; the session
// then speaks the highest common version (docs/protocol.md "Versioning"). Either side refuses a
// peer with a disjoint range (VersionMismatch); the dialer still sends its last message first,
// so that the listener learns the dialer's range and logs the same reason.
// Noise proves possession of the static X25519 key; the signature proves that the Ed25519
// identity chose that static key for this network. A peer that presents another node's did
// without its signing key therefore fails. The dialer knows whom it dials and aborts before
// revealing its own identity when the responder's did differs.
//
// Sans-I/O over a byte stream: every handshake message travels as u16be length || message.
// start() gives the dialer's first bytes; feed() takes any chunk of received bytes and returns
// the bytes to send. When done(), take_session() yields the keys, and leftover() holds bytes that
// followed the last handshake message (the first transport frames).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/status.h"
#include "core/version.h"
#include "crypto/ed25519.h"
#include "p2p/noise.h"

namespace guts::p2p {

inline constexpr std::string_view kNoiseProtocol = "Noise_XX_25519_ChaChaPoly_BLAKE2b";
inline constexpr std::string_view kHandshakePrologue = "guts/p2p/1";
inline constexpr std::string_view kNoiseStaticDomain = "guts/p2p/noise-static";
inline constexpr size_t kMaxNetworkIdLen = 64;
// Handshake messages are small; anything larger before authentication is refused.
inline constexpr size_t kMaxHandshakeMessage = 1024;

// Handshake failures. code(): kUnauthenticated (bad MAC, bad signature, wrong identity),
// kInvalidArgument (malformed message), kPermissionDenied (refused by policy), kConflict (self),
// kFailedPrecondition (no common protocol version: VersionMismatch).
class HandshakeError : public Error {
 public:
  HandshakeError(Code code, const std::string& what) : Error(code, "handshake: " + what) {}
};

// The protocol versions a node speaks (core/version.h).
struct ProtocolRange {
  uint8_t min = version::kP2pProtocolMin;
  uint8_t max = version::kP2pProtocolMax;
  std::string to_string() const;  // "1..2"
};
// The highest version in both ranges; nullopt when they do not overlap.
std::optional<uint8_t> common_version(const ProtocolRange& a, const ProtocolRange& b);

// A peer whose protocol range does not overlap ours (code kFailedPrecondition).
class VersionMismatch : public HandshakeError {
 public:
  VersionMismatch(const ProtocolRange& ours, const ProtocolRange& theirs, const std::string& peer);
};

struct IdentityPayload {
  static constexpr uint8_t kVersion = 1;  // the first format (no min_version)
  // Longest payload accepted: the version-1 fields, min_version and extensions.
  static constexpr size_t kMaxSize = 512;
  ProtocolRange protocol;
  crypto::PublicKey identity{};
  crypto::Signature signature{};
  std::string network;

  Bytes encode() const;
  // Throws codec::DecodeError (version 0, min_version 0 or above version, bad lengths, invalid
  // UTF-8, trailing bytes after a version-1 payload).
  static IdentityPayload decode(ByteView data);

  static IdentityPayload make(const crypto::SigningKey& key, const noise::DhPublic& noise_static,
                              std::string_view network, ProtocolRange protocol = {});
  // True if the signature binds `identity` to noise_static on `network`.
  bool verify(const noise::DhPublic& noise_static) const;
};

// The exact bytes signed (before domain separation): str(network) || noise_static.
Bytes identity_signed_bytes(std::string_view network, const noise::DhPublic& noise_static);

// What a node brings to every handshake. The Noise static key may be long-lived or per-process.
struct LocalIdentity {
  crypto::SigningKey key;
  noise::KeyPair noise_static;
  std::string network;
  // The encoded IdentityPayload (signed once by create(); computed per handshake when empty).
  Bytes payload;
  ProtocolRange protocol;  // announced in the payload

  static LocalIdentity create(crypto::SigningKey key, std::string network,
                              ProtocolRange protocol = {});
};

// The result of a completed handshake.
struct Session {
  crypto::PublicKey remote{};
  noise::DhPublic remote_static{};
  noise::CipherState send;
  noise::CipherState recv;
  noise::Hash handshake_hash{};
  bool initiator = false;
  uint8_t protocol_version = 0;  // the highest version both sides speak
};

class SessionHandshake {
 public:
  // Called by the responder with the authenticated initiator identity; a non-OK status aborts.
  using AcceptFn = std::function<Status(const crypto::PublicKey&)>;

  static SessionHandshake initiator(const LocalIdentity& local,
                                    std::optional<crypto::PublicKey> expected_remote = {});
  static SessionHandshake responder(const LocalIdentity& local, AcceptFn accept = {});

  SessionHandshake(SessionHandshake&&) noexcept;
  SessionHandshake& operator=(SessionHandshake&&) noexcept;
  ~SessionHandshake();

  // Dialer only, once: the first message (framed).
  Bytes start();
  // Feeds received bytes (any split). Returns bytes to send (possibly empty). Throws
  // HandshakeError; after a throw the handshake is dead.
  Bytes feed(ByteView data);
  bool done() const;
  // The remote identity, once authenticated.
  const std::optional<crypto::PublicKey>& remote() const { return remote_; }
  // After done(): the session keys (once) and bytes received after the handshake. Throws the
  // VersionMismatch of a dialer that completed the handshake only to tell the listener its range.
  Session take_session();
  Bytes take_leftover();

 private:
  SessionHandshake(const LocalIdentity& local, bool initiator);
  Bytes on_message(ByteView msg);

  crypto::SigningKey key_;
  std::string network_;
  Bytes payload_;
  ProtocolRange protocol_;
  uint8_t agreed_ = 0;
  std::optional<VersionMismatch> refusal_;  // the dialer's, thrown by take_session()
  bool initiator_;
  std::optional<crypto::PublicKey> expected_;
  AcceptFn accept_;
  std::unique_ptr<noise::HandshakeState> hs_;
  std::optional<crypto::PublicKey> remote_;
  Bytes inbuf_;
  bool started_ = false;
  bool failed_ = false;
  bool taken_ = false;
};

}  // namespace guts::p2p
