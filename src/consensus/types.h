// Simplex wire types (docs/simplex-spec.md §1.2) and their canonical encodings.
//
//   Round       = varint epoch ‖ varint view
//   Proposal    = Round ‖ varint parent_view ‖ payload[32]
//   Attestation = varint signer ‖ sig[64]
//   Vote        = u8 tag(0 notarize, 1 nullify, 2 finalize) ‖ (Proposal | Round) ‖ Attestation
//   Certificate = u8 tag(0 notarization, 1 nullification, 2 finalization) ‖ (Proposal | Round) ‖
//                 u64be bit_len ‖ bitmap[ceil(bit_len/8)] (bit i = byte i/8, mask 1<<(i%8)) ‖
//                 varint count ‖ sig[64] × count (sorted by signer index)
//
// A vote of kind K signs domain_message(ns + suffix(K), encode(subject)), subject = Proposal
// for notarize/finalize and Round for nullify; domain_message is union_unique of the spec.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/codec.h"
#include "core/bytes.h"
#include "crypto/ed25519.h"

namespace guts::consensus {

using View = uint64_t;
using Epoch = uint64_t;
using Time = uint64_t;  // milliseconds of (virtual or monotonic) time, supplied by the driver

// Bounds enforced by decoders.
inline constexpr uint64_t kMaxParticipants = 1024;

// f = ⌊(n−1)/3⌋ and q = n − f.
inline uint32_t max_faults(uint32_t n) {
  return n == 0 ? 0 : (n - 1) / 3;
}
inline uint32_t quorum(uint32_t n) {
  return n - max_faults(n);
}

struct Round {
  Epoch epoch = 0;
  View view = 0;
  bool operator==(const Round&) const = default;
  auto operator<=>(const Round&) const = default;
};

struct Proposal {
  Round round;
  View parent = 0;
  Digest payload{};
  bool operator==(const Proposal&) const = default;
};

enum class Kind : uint8_t { kNotarize = 0, kNullify = 1, kFinalize = 2 };
const char* kind_name(Kind k);
// "_NOTARIZE", "_NULLIFY", "_FINALIZE".
const char* kind_suffix(Kind k);

// A vote. For kNullify only proposal.round is meaningful (parent and payload are zero).
struct Vote {
  Kind kind = Kind::kNotarize;
  Proposal proposal;
  uint32_t signer = 0;
  crypto::Signature signature{};
  const Round& round() const { return proposal.round; }
  View view() const { return proposal.round.view; }
  bool operator==(const Vote&) const = default;
};

// A certificate: q or more signatures of one kind over one subject.
struct Certificate {
  Kind kind = Kind::kNotarize;
  Proposal proposal;              // for nullification only .round is meaningful
  uint64_t participants = 0;      // bitmap length in bits (= n)
  std::vector<uint32_t> signers;  // strictly increasing
  std::vector<crypto::Signature> signatures;
  const Round& round() const { return proposal.round; }
  View view() const { return proposal.round.view; }
  bool operator==(const Certificate&) const = default;
};

// Encoders / decoders. Decoders throw codec::DecodeError and reject trailing bytes.
void write_round(codec::Writer& w, const Round& r);
Round read_round(codec::Reader& r);
void write_proposal(codec::Writer& w, const Proposal& p);
Proposal read_proposal(codec::Reader& r);
Bytes encode_round(const Round& r);
Bytes encode_proposal(const Proposal& p);

// Body = everything after the tag byte.
void write_vote_body(codec::Writer& w, const Vote& v);
Vote read_vote_body(codec::Reader& r, Kind kind);
void write_certificate_body(codec::Writer& w, const Certificate& c);
Certificate read_certificate_body(codec::Reader& r, Kind kind);

// The epoch a vote or certificate message (tag ‖ body) is about, read without decoding the rest;
// nullopt when the bytes do not start like one. Lets a driver drop another epoch's messages
// before they reach the engine of its epoch.
std::optional<Epoch> message_epoch(ByteView payload);

Bytes encode_vote(const Vote& v);
Vote decode_vote(ByteView b);
Bytes encode_certificate(const Certificate& c);
Certificate decode_certificate(ByteView b);

// The signed subject of a vote (encoded Proposal, or encoded Round for nullify).
Bytes vote_subject(Kind kind, const Proposal& p);
// True if two votes of one kind are over the same subject.
bool same_subject(const Vote& a, const Vote& b);
std::string domain(std::string_view ns, Kind kind);

// Signature check hook: libsodium verify by default; the simulator memoizes it.
using VerifyFn =
    std::function<bool(const crypto::PublicKey&, ByteView message, const crypto::Signature&)>;

Vote sign_vote(const crypto::SigningKey& key, std::string_view ns, Kind kind, uint32_t signer,
               const Proposal& p);
bool verify_vote(const VerifyFn& verify, std::string_view ns, const crypto::PublicKey& pk,
                 const Vote& v);
// Checks bitmap length == participants.size(), ≥ q signers and every signature.
bool verify_certificate(const VerifyFn& verify, std::string_view ns,
                        const std::vector<crypto::PublicKey>& participants, const Certificate& c);
// Builds a certificate from votes of one kind over one subject (any order, distinct signers).
Certificate assemble(Kind kind, const Proposal& subject, uint64_t participants,
                     std::vector<Vote> votes);

// ---- Journal artifacts (tags 0–6, §1.2) ----
enum class ArtifactTag : uint8_t {
  kNotarize = 0,
  kNotarization = 1,
  kCertification = 2,
  kNullify = 3,
  kNullification = 4,
  kFinalize = 5,
  kFinalization = 6,
};
struct Artifact {
  ArtifactTag tag = ArtifactTag::kNotarize;
  Vote vote;                // kNotarize / kNullify / kFinalize
  Certificate certificate;  // kNotarization / kNullification / kFinalization
  Round round;              // kCertification
  bool certified = false;   // kCertification
  View view() const;
};
Bytes encode_artifact(const Artifact& a);
Artifact decode_artifact(ByteView b);
Artifact vote_artifact(const Vote& v);
Artifact certificate_artifact(const Certificate& c);

// ---- Network messages ----
// Channels as in §1.9: 0 votes, 1 certificates, 2 resolver.
enum class Channel : uint8_t { kVote = 0, kCertificate = 1, kResolver = 2 };

// Resolver: u64be id ‖ u8 tag ‖ (0: u64be view | 1: bytes(encoded certificate) | 2: nothing).
struct ResolverMessage {
  enum class Type : uint8_t { kRequest = 0, kResponse = 1, kError = 2 };
  uint64_t id = 0;
  Type type = Type::kRequest;
  View view = 0;      // kRequest
  Bytes certificate;  // kResponse: an encoded Certificate
};
Bytes encode_resolver(const ResolverMessage& m);
ResolverMessage decode_resolver(ByteView b);

}  // namespace guts::consensus
