// The Noise Protocol Framework (revision 34) for the suite 25519_ChaChaPoly_BLAKE2b, on libsodium
// primitives, sans-I/O: byte strings in, byte strings out, no sockets and no clocks.
//
//   DH      X25519 (crypto_scalarmult); an all-zero shared secret (small-order point) is an error
//   cipher  ChaCha20-Poly1305 IETF; nonce = 4 zero bytes || little-endian 64-bit counter n
//   hash    BLAKE2b-512; HMAC per RFC 2104 with a 128-byte block; HKDF as in Noise §4.3
//
// HandshakeState runs any handshake pattern named by a protocol name of this suite: the one-way
// patterns (N, K, X), the twelve fundamental interactive patterns (NN ... IX), the deferred
// patterns (NK1, X1X1, ...) and psk modifiers (psk0 .. pskN). Every failure (bad MAC, bad point,
// wrong message length, nonce exhausted, misuse) throws NoiseError and leaves the object unusable
// for the handshake; a CipherState whose decryption failed keeps its nonce (Noise §5.1).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"

namespace guts::p2p::noise {

inline constexpr size_t kDhLen = 32;
inline constexpr size_t kHashLen = 64;
inline constexpr size_t kBlockLen = 128;
inline constexpr size_t kKeyLen = 32;
inline constexpr size_t kTagLen = 16;
inline constexpr size_t kMaxMessageLen = 65535;    // Noise §3: every message fits in 64 KiB
inline constexpr uint64_t kMaxNonce = UINT64_MAX;  // reserved (rekey); never used for messages

using Hash = std::array<uint8_t, kHashLen>;
using Key = std::array<uint8_t, kKeyLen>;
using DhPublic = std::array<uint8_t, kDhLen>;

class NoiseError : public Error {
 public:
  explicit NoiseError(const std::string& what) : Error(Code::kUnauthenticated, "noise: " + what) {}
};

// An X25519 key pair; the private half is wiped on destruction.
class KeyPair {
 public:
  static KeyPair generate();
  static KeyPair from_private(const Key& priv);
  KeyPair(const KeyPair& other) = default;
  KeyPair& operator=(const KeyPair& other) = default;
  ~KeyPair();
  const DhPublic& public_key() const { return pub_; }
  const Key& private_key() const { return priv_; }

 private:
  KeyPair() = default;
  Key priv_{};
  DhPublic pub_{};
};

// X25519(priv, pub); throws NoiseError if the result is all zeros.
Key dh(const KeyPair& kp, const DhPublic& pub);

// BLAKE2b-512 of the concatenation of the parts.
Hash hash(std::initializer_list<ByteView> parts);
Hash hmac(ByteView key, std::initializer_list<ByteView> parts);
// HKDF(chaining_key, ikm, num_outputs) with num_outputs 2 or 3 (Noise §4.3).
std::array<Hash, 3> hkdf(const Hash& ck, ByteView ikm, int num_outputs);

// Noise §5.1. Not copyable by accident: keys live in one place.
class CipherState {
 public:
  CipherState() = default;
  explicit CipherState(const Key& k) { initialize_key(k); }
  CipherState(CipherState&& o) noexcept;
  CipherState& operator=(CipherState&& o) noexcept;
  CipherState(const CipherState&) = delete;
  CipherState& operator=(const CipherState&) = delete;
  ~CipherState();

  void initialize_key(const Key& k);
  void clear_key();
  bool has_key() const { return has_key_; }
  uint64_t nonce() const { return n_; }
  // Testing and resumption aid (Noise §5.1 SetNonce).
  void set_nonce(uint64_t n) { n_ = n; }

  // Encrypts plaintext into out (plaintext.size() + kTagLen bytes when keyed, else a copy).
  // Returns the number of bytes written. out may alias plaintext.
  size_t encrypt_with_ad(ByteView ad, ByteView plaintext, uint8_t* out);
  // Decrypts; out receives ciphertext.size() - kTagLen bytes. On failure throws NoiseError and
  // leaves the nonce unchanged. out may alias ciphertext.
  size_t decrypt_with_ad(ByteView ad, ByteView ciphertext, uint8_t* out);
  Bytes encrypt_with_ad(ByteView ad, ByteView plaintext);
  Bytes decrypt_with_ad(ByteView ad, ByteView ciphertext);
  // k = REKEY(k) (Noise §4.2, §11.3); the nonce is unchanged.
  void rekey();

 private:
  Key k_{};
  bool has_key_ = false;
  uint64_t n_ = 0;
};

// Noise §5.2.
class SymmetricState {
 public:
  explicit SymmetricState(std::string_view protocol_name);
  void mix_key(ByteView ikm);
  void mix_hash(ByteView data);
  void mix_key_and_hash(ByteView ikm);
  const Hash& handshake_hash() const { return h_; }
  bool has_key() const { return cipher_.has_key(); }
  // Appends the result to out.
  void encrypt_and_hash(ByteView plaintext, Bytes& out);
  Bytes decrypt_and_hash(ByteView ciphertext);
  std::pair<CipherState, CipherState> split() const;

 private:
  CipherState cipher_;
  Hash ck_{};
  Hash h_{};
};

enum class Token : uint8_t { e, s, ee, es, se, ss, psk };

struct MessagePattern {
  bool from_initiator = true;
  std::vector<Token> tokens;
};

struct HandshakePattern {
  std::string name;                  // "XX", "IKpsk2", ...
  std::vector<Token> pre_initiator;  // subset of {e, s}
  std::vector<Token> pre_responder;
  std::vector<MessagePattern> messages;
  bool one_way = false;  // N, K, X: only the initiator sends, after the handshake too
};

// Parses "Noise_<pattern>_25519_ChaChaPoly_BLAKE2b" (only this suite). Throws NoiseError.
HandshakePattern parse_protocol_name(std::string_view protocol_name);

struct HandshakeConfig {
  std::string protocol_name;  // e.g. "Noise_XX_25519_ChaChaPoly_BLAKE2b"
  bool initiator = true;
  Bytes prologue;
  std::optional<KeyPair> s;    // local static key, if the pattern needs one
  std::optional<DhPublic> rs;  // remote static key known in advance (pre-message)
  std::optional<KeyPair> e;    // fixed ephemeral (test vectors only; generated otherwise)
  std::optional<DhPublic> re;  // remote ephemeral pre-message (fallback patterns)
  std::vector<Key> psks;       // in order of the psk tokens
};

// Noise §5.3. Use: while (!finished()) { my_turn() ? write_message : read_message }, then split().
class HandshakeState {
 public:
  explicit HandshakeState(HandshakeConfig config);

  bool finished() const { return index_ >= pattern_.messages.size(); }
  bool my_turn() const;
  // Appends the next handshake message carrying `payload` to out.
  void write_message(ByteView payload, Bytes& out);
  Bytes write_message(ByteView payload);
  // Processes the next handshake message and returns its payload.
  Bytes read_message(ByteView message);

  // After finished(): (initiator→responder, responder→initiator) cipher states.
  std::pair<CipherState, CipherState> split() const;
  const Hash& handshake_hash() const { return ss_.handshake_hash(); }
  const std::optional<DhPublic>& remote_static() const { return rs_; }
  const std::optional<DhPublic>& remote_ephemeral() const { return re_; }
  const HandshakePattern& pattern() const { return pattern_; }
  bool initiator() const { return initiator_; }

 private:
  void require_turn(bool writing) const;
  void dh_token(Token t);
  const Key& next_psk();

  HandshakePattern pattern_;
  SymmetricState ss_;
  bool initiator_;
  std::optional<KeyPair> s_, e_;
  std::optional<DhPublic> rs_, re_;
  std::vector<Key> psks_;
  size_t psk_index_ = 0;
  bool has_psk_ = false;
  size_t index_ = 0;
  bool failed_ = false;
};

}  // namespace guts::p2p::noise
