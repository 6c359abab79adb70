// The Guts session handshake (docs/p2p.md §2): Noise_XX_25519_ChaChaPoly_BLAKE2b whose encrypted
// handshake payloads bind each side's Ed25519 node identity (did:key) to its Noise static key:
//
//   -> e                         payload: empty
//   <- e, ee, s, es              payload: IdentityPayload of the responder
//   -> s, se                     payload: IdentityPayload of the initiator
//
// IdentityPayload = u8 version (1) || public key [32] || signature [64] || str network, where the
// signature is SigningKey::sign("guts/p2p/noise-static", str(network) || noise static key [32]).
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
// kInvalidArgument (malformed message), kPermissionDenied (refused by policy), kConflict (self).
class HandshakeError : public Error {
 public:
  HandshakeError(Code code, const std::string& what) : Error(code, "handshake: " + what) {}
};

struct IdentityPayload {
  static constexpr uint8_t kVersion = 1;
  crypto::PublicKey identity{};
  crypto::Signature signature{};
  std::string network;

  Bytes encode() const;
  // Throws codec::DecodeError (wrong version, bad lengths, invalid UTF-8, trailing bytes).
  static IdentityPayload decode(ByteView data);

  static IdentityPayload make(const crypto::SigningKey& key, const noise::DhPublic& noise_static,
                              std::string_view network);
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

  static LocalIdentity create(crypto::SigningKey key, std::string network);
};

// The result of a completed handshake.
struct Session {
  crypto::PublicKey remote{};
  noise::DhPublic remote_static{};
  noise::CipherState send;
  noise::CipherState recv;
  noise::Hash handshake_hash{};
  bool initiator = false;
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
  // After done(): the session keys (once) and bytes received after the handshake.
  Session take_session();
  Bytes take_leftover();

 private:
  SessionHandshake(const LocalIdentity& local, bool initiator);
  Bytes on_message(ByteView msg);

  crypto::SigningKey key_;
  std::string network_;
  Bytes payload_;
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
