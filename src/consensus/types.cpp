#include "consensus/types.h"

#include <algorithm>

namespace guts::consensus {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kNotarize:
      return "notarize";
    case Kind::kNullify:
      return "nullify";
    case Kind::kFinalize:
      return "finalize";
  }
  return "?";
}

const char* kind_suffix(Kind k) {
  switch (k) {
    case Kind::kNotarize:
      return "_NOTARIZE";
    case Kind::kNullify:
      return "_NULLIFY";
    case Kind::kFinalize:
      return "_FINALIZE";
  }
  return "_?";
}

namespace {
Kind read_kind(codec::Reader& r) {
  uint8_t t = r.u8();
  if (t > 2) throw codec::DecodeError("unknown tag");
  return static_cast<Kind>(t);
}
}  // namespace

void write_round(codec::Writer& w, const Round& r) {
  w.varint(r.epoch).varint(r.view);
}
Round read_round(codec::Reader& r) {
  Round out;
  out.epoch = r.varint();
  out.view = r.varint();
  return out;
}
void write_proposal(codec::Writer& w, const Proposal& p) {
  write_round(w, p.round);
  w.varint(p.parent).fixed(p.payload);
}
Proposal read_proposal(codec::Reader& r) {
  Proposal p;
  p.round = read_round(r);
  p.parent = r.varint();
  p.payload = r.fixed<32>();
  return p;
}
Bytes encode_round(const Round& r) {
  codec::Writer w;
  write_round(w, r);
  return w.take();
}
Bytes encode_proposal(const Proposal& p) {
  codec::Writer w;
  write_proposal(w, p);
  return w.take();
}

void write_vote_body(codec::Writer& w, const Vote& v) {
  if (v.kind == Kind::kNullify) {
    write_round(w, v.proposal.round);
  } else {
    write_proposal(w, v.proposal);
  }
  w.varint(v.signer).fixed(v.signature);
}

Vote read_vote_body(codec::Reader& r, Kind kind) {
  Vote v;
  v.kind = kind;
  if (kind == Kind::kNullify) {
    v.proposal.round = read_round(r);
  } else {
    v.proposal = read_proposal(r);
  }
  v.signer = static_cast<uint32_t>(r.varint_max(UINT32_MAX, "signer"));
  v.signature = r.fixed<64>();
  return v;
}

void write_certificate_body(codec::Writer& w, const Certificate& c) {
  if (c.kind == Kind::kNullify) {
    write_round(w, c.proposal.round);
  } else {
    write_proposal(w, c.proposal);
  }
  w.u64be(c.participants);
  Bytes bitmap((c.participants + 7) / 8, 0);
  for (uint32_t s : c.signers) {
    if (s < c.participants) bitmap[s / 8] |= static_cast<uint8_t>(1u << (s % 8));
  }
  w.fixed(bitmap);
  w.varint(c.signatures.size());
  for (const auto& sig : c.signatures) w.fixed(sig);
}

Certificate read_certificate_body(codec::Reader& r, Kind kind) {
  Certificate c;
  c.kind = kind;
  if (kind == Kind::kNullify) {
    c.proposal.round = read_round(r);
  } else {
    c.proposal = read_proposal(r);
  }
  c.participants = r.u64be();
  if (c.participants == 0 || c.participants > kMaxParticipants) {
    throw codec::DecodeError("signer bitmap length out of range");
  }
  ByteView bitmap = r.fixed((c.participants + 7) / 8);
  for (uint64_t i = 0; i < c.participants; ++i) {
    if (bitmap[i / 8] & (1u << (i % 8))) c.signers.push_back(static_cast<uint32_t>(i));
  }
  // Unused trailing bits must be zero (one encoding per value).
  if (c.participants % 8 != 0) {
    uint8_t last = bitmap[bitmap.size() - 1];
    if (last >> (c.participants % 8)) throw codec::DecodeError("non-zero bitmap padding");
  }
  size_t count = r.count(c.participants, "signatures");
  if (count != c.signers.size()) throw codec::DecodeError("signature count != signer count");
  c.signatures.reserve(count);
  for (size_t i = 0; i < count; ++i) c.signatures.push_back(r.fixed<64>());
  return c;
}

Bytes encode_vote(const Vote& v) {
  codec::Writer w(160);
  w.u8(static_cast<uint8_t>(v.kind));
  write_vote_body(w, v);
  return w.take();
}

std::optional<Epoch> message_epoch(ByteView payload) {
  try {
    codec::Reader r(payload);
    (void)read_kind(r);
    return r.varint();  // Round = varint epoch ‖ varint view, first in Proposal and Round
  } catch (const codec::DecodeError&) {
    return std::nullopt;
  }
}

Vote decode_vote(ByteView b) {
  codec::Reader r(b);
  Kind k = read_kind(r);
  Vote v = read_vote_body(r, k);
  r.finish();
  return v;
}

Bytes encode_certificate(const Certificate& c) {
  codec::Writer w(64 + 65 * c.signatures.size());
  w.u8(static_cast<uint8_t>(c.kind));
  write_certificate_body(w, c);
  return w.take();
}

Certificate decode_certificate(ByteView b) {
  codec::Reader r(b);
  Kind k = read_kind(r);
  Certificate c = read_certificate_body(r, k);
  r.finish();
  return c;
}

Bytes vote_subject(Kind kind, const Proposal& p) {
  return kind == Kind::kNullify ? encode_round(p.round) : encode_proposal(p);
}

bool same_subject(const Vote& a, const Vote& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == Kind::kNullify) return a.proposal.round == b.proposal.round;
  return a.proposal == b.proposal;
}

std::string domain(std::string_view ns, Kind kind) {
  std::string d(ns);
  d += kind_suffix(kind);
  return d;
}

Vote sign_vote(const crypto::SigningKey& key, std::string_view ns, Kind kind, uint32_t signer,
               const Proposal& p) {
  Vote v;
  v.kind = kind;
  v.proposal = p;
  if (kind == Kind::kNullify) {
    v.proposal.parent = 0;
    v.proposal.payload = Digest{};
  }
  v.signer = signer;
  v.signature = key.sign(domain(ns, kind), vote_subject(kind, v.proposal));
  return v;
}

bool verify_vote(const VerifyFn& verify, std::string_view ns, const crypto::PublicKey& pk,
                 const Vote& v) {
  Bytes msg = crypto::domain_message(domain(ns, v.kind), vote_subject(v.kind, v.proposal));
  return verify(pk, msg, v.signature);
}

bool verify_certificate(const VerifyFn& verify, std::string_view ns,
                        const std::vector<crypto::PublicKey>& participants, const Certificate& c) {
  uint32_t n = static_cast<uint32_t>(participants.size());
  if (c.participants != n) return false;
  if (c.signers.size() != c.signatures.size()) return false;
  if (c.signers.size() < quorum(n)) return false;
  for (size_t i = 0; i < c.signers.size(); ++i) {
    if (c.signers[i] >= n) return false;
    if (i > 0 && c.signers[i] <= c.signers[i - 1]) return false;
  }
  Bytes msg = crypto::domain_message(domain(ns, c.kind), vote_subject(c.kind, c.proposal));
  for (size_t i = 0; i < c.signers.size(); ++i) {
    if (!verify(participants[c.signers[i]], msg, c.signatures[i])) return false;
  }
  return true;
}

Certificate assemble(Kind kind, const Proposal& subject, uint64_t participants,
                     std::vector<Vote> votes) {
  std::sort(votes.begin(), votes.end(),
            [](const Vote& a, const Vote& b) { return a.signer < b.signer; });
  Certificate c;
  c.kind = kind;
  c.proposal = subject;
  if (kind == Kind::kNullify) {
    c.proposal.parent = 0;
    c.proposal.payload = Digest{};
  }
  c.participants = participants;
  for (const auto& v : votes) {
    if (!c.signers.empty() && c.signers.back() == v.signer) continue;
    c.signers.push_back(v.signer);
    c.signatures.push_back(v.signature);
  }
  return c;
}

// ---- Artifacts ----

View Artifact::view() const {
  switch (tag) {
    case ArtifactTag::kNotarize:
    case ArtifactTag::kNullify:
    case ArtifactTag::kFinalize:
      return vote.view();
    case ArtifactTag::kCertification:
      return round.view;
    default:
      return certificate.view();
  }
}

Artifact vote_artifact(const Vote& v) {
  Artifact a;
  a.tag = v.kind == Kind::kNotarize  ? ArtifactTag::kNotarize
          : v.kind == Kind::kNullify ? ArtifactTag::kNullify
                                     : ArtifactTag::kFinalize;
  a.vote = v;
  return a;
}

Artifact certificate_artifact(const Certificate& c) {
  Artifact a;
  a.tag = c.kind == Kind::kNotarize  ? ArtifactTag::kNotarization
          : c.kind == Kind::kNullify ? ArtifactTag::kNullification
                                     : ArtifactTag::kFinalization;
  a.certificate = c;
  return a;
}

Bytes encode_artifact(const Artifact& a) {
  codec::Writer w(160);
  w.u8(static_cast<uint8_t>(a.tag));
  switch (a.tag) {
    case ArtifactTag::kNotarize:
    case ArtifactTag::kNullify:
    case ArtifactTag::kFinalize:
      write_vote_body(w, a.vote);
      break;
    case ArtifactTag::kCertification:
      write_round(w, a.round);
      w.boolean(a.certified);
      break;
    default:
      write_certificate_body(w, a.certificate);
  }
  return w.take();
}

Artifact decode_artifact(ByteView b) {
  codec::Reader r(b);
  uint8_t t = r.u8();
  if (t > 6) throw codec::DecodeError("unknown artifact tag");
  Artifact a;
  a.tag = static_cast<ArtifactTag>(t);
  switch (a.tag) {
    case ArtifactTag::kNotarize:
      a.vote = read_vote_body(r, Kind::kNotarize);
      break;
    case ArtifactTag::kNullify:
      a.vote = read_vote_body(r, Kind::kNullify);
      break;
    case ArtifactTag::kFinalize:
      a.vote = read_vote_body(r, Kind::kFinalize);
      break;
    case ArtifactTag::kCertification:
      a.round = read_round(r);
      a.certified = r.boolean();
      break;
    case ArtifactTag::kNotarization:
      a.certificate = read_certificate_body(r, Kind::kNotarize);
      break;
    case ArtifactTag::kNullification:
      a.certificate = read_certificate_body(r, Kind::kNullify);
      break;
    case ArtifactTag::kFinalization:
      a.certificate = read_certificate_body(r, Kind::kFinalize);
      break;
  }
  r.finish();
  return a;
}

// ---- Resolver ----

Bytes encode_resolver(const ResolverMessage& m) {
  codec::Writer w;
  w.u64be(m.id).u8(static_cast<uint8_t>(m.type));
  if (m.type == ResolverMessage::Type::kRequest) w.u64be(m.view);
  if (m.type == ResolverMessage::Type::kResponse) w.bytes(m.certificate);
  return w.take();
}

ResolverMessage decode_resolver(ByteView b) {
  codec::Reader r(b);
  ResolverMessage m;
  m.id = r.u64be();
  uint8_t t = r.u8();
  if (t > 2) throw codec::DecodeError("unknown resolver tag");
  m.type = static_cast<ResolverMessage::Type>(t);
  if (m.type == ResolverMessage::Type::kRequest) m.view = r.u64be();
  if (m.type == ResolverMessage::Type::kResponse) {
    m.certificate = r.bytes(16 + kMaxParticipants * 65 + 256, "certificate");
  }
  r.finish();
  return m;
}

}  // namespace guts::consensus
