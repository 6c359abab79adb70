#include "p2p/noise.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>

#include "crypto/hash.h"

namespace guts::p2p::noise {

namespace {

void make_nonce(uint64_t n, uint8_t out[12]) {
  std::memset(out, 0, 4);
  for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<uint8_t>(n >> (8 * i));
}

void encrypt_raw(const Key& k, uint64_t n, ByteView ad, ByteView pt, uint8_t* out) {
  uint8_t nonce[12];
  make_nonce(n, nonce);
  unsigned long long clen = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt.data(), pt.size(), ad.data(), ad.size(),
                                            nullptr, nonce, k.data());
}

// Pattern table (Noise §7.4, §7.5, §7.7). Syntax: messages separated by ';', "->"/"<-" prefixes,
// pre-messages before "...".
struct PatternText {
  const char* name;
  const char* text;
};

constexpr PatternText kPatterns[] = {
    {"N", "<- s ... -> e, es"},
    {"K", "-> s; <- s ... -> e, es, ss"},
    {"X", "<- s ... -> e, es, s, ss"},
    {"NN", "-> e; <- e, ee"},
    {"NK", "<- s ... -> e, es; <- e, ee"},
    {"NX", "-> e; <- e, ee, s, es"},
    {"KN", "-> s ... -> e; <- e, ee, se"},
    {"KK", "-> s; <- s ... -> e, es, ss; <- e, ee, se"},
    {"KX", "-> s ... -> e; <- e, ee, se, s, es"},
    {"XN", "-> e; <- e, ee; -> s, se"},
    {"XK", "<- s ... -> e, es; <- e, ee; -> s, se"},
    {"XX", "-> e; <- e, ee, s, es; -> s, se"},
    {"IN", "-> e, s; <- e, ee, se"},
    {"IK", "<- s ... -> e, es, s, ss; <- e, ee, se"},
    {"IX", "-> e, s; <- e, ee, se, s, es"},
    {"NK1", "<- s ... -> e; <- e, ee, es"},
    {"NX1", "-> e; <- e, ee, s; -> es"},
    {"X1N", "-> e; <- e, ee; -> s; <- se"},
    {"X1K", "<- s ... -> e, es; <- e, ee; -> s; <- se"},
    {"XK1", "<- s ... -> e; <- e, ee, es; -> s, se"},
    {"X1K1", "<- s ... -> e; <- e, ee, es; -> s; <- se"},
    {"X1X", "-> e; <- e, ee, s, es; -> s; <- se"},
    {"XX1", "-> e; <- e, ee, s; -> es, s, se"},
    {"X1X1", "-> e; <- e, ee, s; -> es, s; <- se"},
    {"K1N", "-> s ... -> e; <- e, ee; -> se"},
    {"K1K", "-> s; <- s ... -> e, es; <- e, ee; -> se"},
    {"KK1", "-> s; <- s ... -> e; <- e, ee, se, es"},
    {"K1K1", "-> s; <- s ... -> e; <- e, ee, es; -> se"},
    {"K1X", "-> s ... -> e; <- e, ee, s, es; -> se"},
    {"KX1", "-> s ... -> e; <- e, ee, se, s; -> es"},
    {"K1X1", "-> s ... -> e; <- e, ee, s; -> se, es"},
    {"I1N", "-> e, s; <- e, ee; -> se"},
    {"I1K", "<- s ... -> e, es, s; <- e, ee; -> se"},
    {"IK1", "<- s ... -> e, s; <- e, ee, se, es"},
    {"I1K1", "<- s ... -> e, s; <- e, ee, es; -> se"},
    {"I1X", "-> e, s; <- e, ee, s, es; -> se"},
    {"IX1", "-> e, s; <- e, ee, se, s; -> es"},
    {"I1X1", "-> e, s; <- e, ee, s; -> se, es"},
};

Token parse_token(std::string_view t) {
  static const std::map<std::string_view, Token> kTokens = {
      {"e", Token::e},   {"s", Token::s},   {"ee", Token::ee},  {"es", Token::es},
      {"se", Token::se}, {"ss", Token::ss}, {"psk", Token::psk}};
  auto it = kTokens.find(t);
  if (it == kTokens.end()) throw NoiseError("bad pattern token");
  return it->second;
}

std::vector<MessagePattern> parse_messages(std::string_view text) {
  std::vector<MessagePattern> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(';', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view msg = text.substr(pos, end - pos);
    pos = end + 1;
    while (!msg.empty() && msg.front() == ' ') msg.remove_prefix(1);
    MessagePattern mp;
    if (msg.substr(0, 2) == "->") {
      mp.from_initiator = true;
    } else if (msg.substr(0, 2) == "<-") {
      mp.from_initiator = false;
    } else {
      throw NoiseError("bad pattern text");
    }
    msg.remove_prefix(2);
    size_t p = 0;
    while (p < msg.size()) {
      while (p < msg.size() && (msg[p] == ' ' || msg[p] == ',')) ++p;
      size_t q = p;
      while (q < msg.size() && msg[q] != ' ' && msg[q] != ',') ++q;
      if (q > p) mp.tokens.push_back(parse_token(msg.substr(p, q - p)));
      p = q;
    }
    out.push_back(std::move(mp));
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Primitives

KeyPair KeyPair::generate() {
  crypto::ensure_sodium();
  Key priv;
  randombytes_buf(priv.data(), priv.size());
  auto kp = from_private(priv);
  sodium_memzero(priv.data(), priv.size());
  return kp;
}

KeyPair KeyPair::from_private(const Key& priv) {
  crypto::ensure_sodium();
  KeyPair kp;
  kp.priv_ = priv;
  crypto_scalarmult_base(kp.pub_.data(), kp.priv_.data());
  return kp;
}

KeyPair::~KeyPair() {
  sodium_memzero(priv_.data(), priv_.size());
}

Key dh(const KeyPair& kp, const DhPublic& pub) {
  Key out;
  if (crypto_scalarmult(out.data(), kp.private_key().data(), pub.data()) != 0) {
    throw NoiseError("invalid Diffie-Hellman public key (small-order point)");
  }
  return out;
}

Hash hash(std::initializer_list<ByteView> parts) {
  crypto_generichash_blake2b_state st;
  crypto_generichash_blake2b_init(&st, nullptr, 0, kHashLen);
  for (auto p : parts) crypto_generichash_blake2b_update(&st, p.data(), p.size());
  Hash out;
  crypto_generichash_blake2b_final(&st, out.data(), kHashLen);
  return out;
}

// HMAC-BLAKE2b per RFC 2104 (not BLAKE2b's own keyed mode, which is a different function).
Hash hmac(ByteView key, std::initializer_list<ByteView> parts) {
  std::array<uint8_t, kBlockLen> block{};
  if (key.size() > kBlockLen) {
    auto hk = hash({key});
    std::copy(hk.begin(), hk.end(), block.begin());
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::array<uint8_t, kBlockLen> pad;
  for (size_t i = 0; i < kBlockLen; ++i) pad[i] = block[i] ^ 0x36;
  crypto_generichash_blake2b_state st;
  crypto_generichash_blake2b_init(&st, nullptr, 0, kHashLen);
  crypto_generichash_blake2b_update(&st, pad.data(), pad.size());
  for (auto p : parts) crypto_generichash_blake2b_update(&st, p.data(), p.size());
  Hash inner;
  crypto_generichash_blake2b_final(&st, inner.data(), kHashLen);
  for (size_t i = 0; i < kBlockLen; ++i) pad[i] = block[i] ^ 0x5c;
  auto out = hash({pad, inner});
  sodium_memzero(block.data(), block.size());
  sodium_memzero(pad.data(), pad.size());
  sodium_memzero(inner.data(), inner.size());
  return out;
}

std::array<Hash, 3> hkdf(const Hash& ck, ByteView ikm, int num_outputs) {
  if (num_outputs != 2 && num_outputs != 3) throw NoiseError("hkdf: 2 or 3 outputs");
  std::array<Hash, 3> out{};
  Hash temp = hmac(ck, {ikm});
  const uint8_t one = 1, two = 2, three = 3;
  out[0] = hmac(temp, {ByteView(&one, 1)});
  out[1] = hmac(temp, {out[0], ByteView(&two, 1)});
  if (num_outputs == 3) out[2] = hmac(temp, {out[1], ByteView(&three, 1)});
  sodium_memzero(temp.data(), temp.size());
  return out;
}

// ---------------------------------------------------------------------------------------------
// CipherState

CipherState::CipherState(CipherState&& o) noexcept : k_(o.k_), has_key_(o.has_key_), n_(o.n_) {
  o.clear_key();
}

CipherState& CipherState::operator=(CipherState&& o) noexcept {
  if (this != &o) {
    k_ = o.k_;
    has_key_ = o.has_key_;
    n_ = o.n_;
    o.clear_key();
  }
  return *this;
}

CipherState::~CipherState() {
  sodium_memzero(k_.data(), k_.size());
}

void CipherState::initialize_key(const Key& k) {
  k_ = k;
  has_key_ = true;
  n_ = 0;
}

void CipherState::clear_key() {
  sodium_memzero(k_.data(), k_.size());
  has_key_ = false;
  n_ = 0;
}

size_t CipherState::encrypt_with_ad(ByteView ad, ByteView plaintext, uint8_t* out) {
  if (!has_key_) {
    if (!plaintext.empty() && out != plaintext.data()) {
      std::memmove(out, plaintext.data(), plaintext.size());
    }
    return plaintext.size();
  }
  if (n_ == kMaxNonce) throw NoiseError("nonce exhausted; the session must be rekeyed or closed");
  encrypt_raw(k_, n_, ad, plaintext, out);
  ++n_;
  return plaintext.size() + kTagLen;
}

size_t CipherState::decrypt_with_ad(ByteView ad, ByteView ciphertext, uint8_t* out) {
  if (!has_key_) {
    if (!ciphertext.empty() && out != ciphertext.data()) {
      std::memmove(out, ciphertext.data(), ciphertext.size());
    }
    return ciphertext.size();
  }
  if (n_ == kMaxNonce) throw NoiseError("nonce exhausted; the session must be rekeyed or closed");
  if (ciphertext.size() < kTagLen) throw NoiseError("ciphertext shorter than the tag");
  uint8_t nonce[12];
  make_nonce(n_, nonce);
  unsigned long long plen = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &plen, nullptr, ciphertext.data(),
                                                ciphertext.size(), ad.data(), ad.size(), nonce,
                                                k_.data()) != 0) {
    throw NoiseError("decryption failed (corrupted, replayed or reordered message)");
  }
  ++n_;
  return static_cast<size_t>(plen);
}

Bytes CipherState::encrypt_with_ad(ByteView ad, ByteView plaintext) {
  Bytes out(plaintext.size() + (has_key_ ? kTagLen : 0));
  out.resize(encrypt_with_ad(ad, plaintext, out.data()));
  return out;
}

Bytes CipherState::decrypt_with_ad(ByteView ad, ByteView ciphertext) {
  if (has_key_ && ciphertext.size() < kTagLen) throw NoiseError("ciphertext shorter than the tag");
  Bytes out(has_key_ ? ciphertext.size() - kTagLen : ciphertext.size());
  // libsodium writes the plaintext before verifying only into `out`; nothing leaks on failure
  // because out is discarded with the exception.
  out.resize(decrypt_with_ad(ad, ciphertext, out.data()));
  return out;
}

void CipherState::rekey() {
  if (!has_key_) throw NoiseError("rekey without a key");
  std::array<uint8_t, kKeyLen> zeros{};
  std::array<uint8_t, kKeyLen + kTagLen> out;
  encrypt_raw(k_, kMaxNonce, {}, zeros, out.data());
  std::copy(out.begin(), out.begin() + kKeyLen, k_.begin());
  sodium_memzero(out.data(), out.size());
}

// ---------------------------------------------------------------------------------------------
// SymmetricState

SymmetricState::SymmetricState(std::string_view protocol_name) {
  crypto::ensure_sodium();
  if (protocol_name.size() <= kHashLen) {
    h_.fill(0);
    std::copy(protocol_name.begin(), protocol_name.end(), h_.begin());
  } else {
    h_ = hash({as_bytes(protocol_name)});
  }
  ck_ = h_;
}

void SymmetricState::mix_key(ByteView ikm) {
  auto out = hkdf(ck_, ikm, 2);
  ck_ = out[0];
  Key k;
  std::copy(out[1].begin(), out[1].begin() + kKeyLen, k.begin());
  cipher_.initialize_key(k);
  sodium_memzero(k.data(), k.size());
  sodium_memzero(out.data(), sizeof(out));
}

void SymmetricState::mix_hash(ByteView data) {
  h_ = hash({h_, data});
}

void SymmetricState::mix_key_and_hash(ByteView ikm) {
  auto out = hkdf(ck_, ikm, 3);
  ck_ = out[0];
  mix_hash(out[1]);
  Key k;
  std::copy(out[2].begin(), out[2].begin() + kKeyLen, k.begin());
  cipher_.initialize_key(k);
  sodium_memzero(k.data(), k.size());
  sodium_memzero(out.data(), sizeof(out));
}

void SymmetricState::encrypt_and_hash(ByteView plaintext, Bytes& out) {
  size_t start = out.size();
  out.resize(start + plaintext.size() + (cipher_.has_key() ? kTagLen : 0));
  cipher_.encrypt_with_ad(h_, plaintext, out.data() + start);
  mix_hash(ByteView(out).subspan(start));
}

Bytes SymmetricState::decrypt_and_hash(ByteView ciphertext) {
  auto pt = cipher_.decrypt_with_ad(h_, ciphertext);
  mix_hash(ciphertext);
  return pt;
}

std::pair<CipherState, CipherState> SymmetricState::split() const {
  auto out = hkdf(ck_, {}, 2);
  Key k1, k2;
  std::copy(out[0].begin(), out[0].begin() + kKeyLen, k1.begin());
  std::copy(out[1].begin(), out[1].begin() + kKeyLen, k2.begin());
  std::pair<CipherState, CipherState> r{CipherState(k1), CipherState(k2)};
  sodium_memzero(k1.data(), k1.size());
  sodium_memzero(k2.data(), k2.size());
  sodium_memzero(out.data(), sizeof(out));
  return r;
}

// ---------------------------------------------------------------------------------------------
// Patterns

HandshakePattern parse_protocol_name(std::string_view name) {
  constexpr std::string_view kPrefix = "Noise_";
  constexpr std::string_view kSuffix = "_25519_ChaChaPoly_BLAKE2b";
  if (name.size() <= kPrefix.size() + kSuffix.size() || name.substr(0, kPrefix.size()) != kPrefix ||
      name.substr(name.size() - kSuffix.size()) != kSuffix) {
    throw NoiseError("unsupported protocol name (only *_25519_ChaChaPoly_BLAKE2b)");
  }
  std::string_view full =
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  // Base pattern: leading run of upper-case letters and digits '1'.
  size_t i = 0;
  while (i < full.size() && (std::isupper(static_cast<unsigned char>(full[i])) || full[i] == '1')) {
    ++i;
  }
  std::string_view base = full.substr(0, i);
  std::string_view mods = full.substr(i);
  const PatternText* found = nullptr;
  for (const auto& p : kPatterns) {
    if (base == p.name) found = &p;
  }
  if (!found) throw NoiseError("unknown handshake pattern");

  HandshakePattern hp;
  hp.name = std::string(full);
  hp.one_way = base.size() == 1;
  std::string_view text = found->text;
  size_t dots = text.find("...");
  if (dots != std::string_view::npos) {
    for (auto& mp : parse_messages(text.substr(0, dots))) {
      for (auto t : mp.tokens) {
        if (t != Token::e && t != Token::s) throw NoiseError("bad pre-message");
        (mp.from_initiator ? hp.pre_initiator : hp.pre_responder).push_back(t);
      }
    }
    text = text.substr(dots + 3);
  }
  hp.messages = parse_messages(text);

  // Modifiers: "psk0", "psk2+psk3", ...
  while (!mods.empty()) {
    if (mods.substr(0, 3) != "psk") throw NoiseError("unsupported pattern modifier");
    mods.remove_prefix(3);
    size_t j = 0;
    unsigned n = 0;
    while (j < mods.size() && std::isdigit(static_cast<unsigned char>(mods[j]))) {
      n = n * 10 + static_cast<unsigned>(mods[j] - '0');
      ++j;
      if (n > 64) throw NoiseError("bad psk modifier");
    }
    if (j == 0) throw NoiseError("bad psk modifier");
    mods.remove_prefix(j);
    if (n == 0) {
      auto& t = hp.messages.front().tokens;
      t.insert(t.begin(), Token::psk);
    } else {
      if (n > hp.messages.size()) throw NoiseError("psk modifier beyond the last message");
      hp.messages[n - 1].tokens.push_back(Token::psk);
    }
    if (!mods.empty()) {
      if (mods.front() != '+') throw NoiseError("bad modifier separator");
      mods.remove_prefix(1);
      if (mods.empty()) throw NoiseError("bad modifier separator");
    }
  }
  return hp;
}

// ---------------------------------------------------------------------------------------------
// HandshakeState

HandshakeState::HandshakeState(HandshakeConfig config)
    : pattern_(parse_protocol_name(config.protocol_name)),
      ss_(config.protocol_name),
      initiator_(config.initiator),
      s_(std::move(config.s)),
      e_(std::move(config.e)),
      rs_(config.rs),
      re_(config.re),
      psks_(std::move(config.psks)) {
  for (const auto& m : pattern_.messages) {
    if (std::find(m.tokens.begin(), m.tokens.end(), Token::psk) != m.tokens.end()) has_psk_ = true;
  }
  ss_.mix_hash(config.prologue);
  // Pre-messages: the initiator's keys first, then the responder's.
  auto pre = [&](const std::vector<Token>& tokens, bool of_initiator) {
    bool local = of_initiator == initiator_;
    for (auto t : tokens) {
      const DhPublic* pub = nullptr;
      if (t == Token::s) {
        if (local && !s_) throw NoiseError("pattern needs the local static key");
        if (!local && !rs_) throw NoiseError("pattern needs the remote static key");
        pub = local ? &s_->public_key() : &*rs_;
      } else {
        if (local && !e_) throw NoiseError("pattern needs the local ephemeral key");
        if (!local && !re_) throw NoiseError("pattern needs the remote ephemeral key");
        pub = local ? &e_->public_key() : &*re_;
      }
      ss_.mix_hash(*pub);
      if (t == Token::e && has_psk_) ss_.mix_key(*pub);
    }
  };
  pre(pattern_.pre_initiator, true);
  pre(pattern_.pre_responder, false);
  // A local static key the pattern will transmit must exist up front (clear error early).
  for (const auto& m : pattern_.messages) {
    if (m.from_initiator == initiator_ &&
        std::find(m.tokens.begin(), m.tokens.end(), Token::s) != m.tokens.end() && !s_) {
      throw NoiseError("pattern needs the local static key");
    }
  }
}

bool HandshakeState::my_turn() const {
  if (finished()) return false;
  return pattern_.messages[index_].from_initiator == initiator_;
}

void HandshakeState::require_turn(bool writing) const {
  if (failed_) throw NoiseError("handshake already failed");
  if (finished()) throw NoiseError("handshake already finished");
  if (my_turn() != writing) {
    throw NoiseError(writing ? "not our turn to write" : "not our turn to read");
  }
}

const Key& HandshakeState::next_psk() {
  if (psk_index_ >= psks_.size()) throw NoiseError("missing pre-shared key");
  return psks_[psk_index_++];
}

void HandshakeState::dh_token(Token t) {
  // Map the token to (local key, remote key) from this side's point of view. The first letter
  // names the initiator's key, the second the responder's.
  bool init_static = (t == Token::se || t == Token::ss);
  bool resp_static = (t == Token::es || t == Token::ss);
  bool local_static = initiator_ ? init_static : resp_static;
  bool remote_static = initiator_ ? resp_static : init_static;
  const auto& local = local_static ? s_ : e_;
  const auto& remote = remote_static ? rs_ : re_;
  if (!local || !remote) throw NoiseError("DH token without the needed key");
  auto shared = dh(*local, *remote);
  ss_.mix_key(shared);
  sodium_memzero(shared.data(), shared.size());
}

void HandshakeState::write_message(ByteView payload, Bytes& out) {
  require_turn(true);
  failed_ = true;  // cleared on success
  size_t start = out.size();
  for (auto t : pattern_.messages[index_].tokens) {
    switch (t) {
      case Token::e:
        if (!e_) e_ = KeyPair::generate();
        out.insert(out.end(), e_->public_key().begin(), e_->public_key().end());
        ss_.mix_hash(e_->public_key());
        if (has_psk_) ss_.mix_key(e_->public_key());
        break;
      case Token::s:
        ss_.encrypt_and_hash(s_->public_key(), out);
        break;
      case Token::psk:
        ss_.mix_key_and_hash(next_psk());
        break;
      default:
        dh_token(t);
    }
  }
  ss_.encrypt_and_hash(payload, out);
  if (out.size() - start > kMaxMessageLen) throw NoiseError("handshake message too long");
  ++index_;
  failed_ = false;
}

Bytes HandshakeState::write_message(ByteView payload) {
  Bytes out;
  write_message(payload, out);
  return out;
}

Bytes HandshakeState::read_message(ByteView message) {
  require_turn(false);
  if (message.size() > kMaxMessageLen) throw NoiseError("handshake message too long");
  failed_ = true;
  for (auto t : pattern_.messages[index_].tokens) {
    switch (t) {
      case Token::e: {
        if (message.size() < kDhLen) throw NoiseError("handshake message truncated");
        DhPublic re;
        std::copy(message.begin(), message.begin() + kDhLen, re.begin());
        message = message.subspan(kDhLen);
        re_ = re;
        ss_.mix_hash(re);
        if (has_psk_) ss_.mix_key(re);
        break;
      }
      case Token::s: {
        size_t len = kDhLen + (ss_.has_key() ? kTagLen : 0);
        if (message.size() < len) throw NoiseError("handshake message truncated");
        auto pt = ss_.decrypt_and_hash(message.subspan(0, len));
        message = message.subspan(len);
        DhPublic rs;
        std::copy(pt.begin(), pt.end(), rs.begin());
        rs_ = rs;
        break;
      }
      case Token::psk:
        ss_.mix_key_and_hash(next_psk());
        break;
      default:
        dh_token(t);
    }
  }
  auto payload = ss_.decrypt_and_hash(message);
  ++index_;
  failed_ = false;
  return payload;
}

std::pair<CipherState, CipherState> HandshakeState::split() const {
  if (failed_ || !finished()) throw NoiseError("split before the handshake finished");
  return ss_.split();
}

}  // namespace guts::p2p::noise
