// The application side of Simplex (docs/simplex-spec.md §1.8): an Automaton-style interface over
// 32-byte block digests. Consensus never sees block bytes; blocks travel on their own channel and
// the application fetches a block it is missing (keeping verify() pending meanwhile).
//
// The engine is sans-I/O, so it never calls these methods itself: it emits requests
// (Engine::Output::requests) and reports (Output::reports); the driver forwards them here and
// feeds the answers back with Engine::on_proposed / on_verified / on_certified. Answers may come
// later (asynchronously), in any order; stale answers are ignored by the engine.
#pragma once

#include <optional>

#include "consensus/types.h"

namespace guts::consensus {

// What the leader builds on, and what a verifier checks a proposal against.
struct Context {
  Round round;
  uint32_t leader = 0;
  View parent_view = 0;
  Digest parent_payload{};  // the genesis digest when parent_view == 0
  bool operator==(const Context&) const = default;
};

enum class FaultKind : uint8_t { kConflictingNotarize, kConflictingFinalize, kNullifyFinalize };
const char* fault_name(FaultKind k);

// Verifiable evidence: two votes by one signer that an honest node never produces together.
struct Fault {
  FaultKind kind = FaultKind::kConflictingNotarize;
  uint32_t signer = 0;
  Vote first;
  Vote second;
};

// A finalized proposal. `certificate` is its finalization, or — for an ancestor finalized
// implicitly by a later finalization (implied = true) — its notarization.
struct Finalized {
  Proposal proposal;
  Certificate certificate;
  bool implied = false;
};

class Application {
 public:
  virtual ~Application() = default;

  // Build a block on ctx.parent and answer Engine::on_proposed(round, digest) — or nullopt to
  // skip (treated as an immediate timeout). Answering commits the node to that digest; the
  // application broadcasts the block bytes itself (allowed before the journal sync).
  virtual void propose(const Context& ctx) = 0;

  // Decide whether `payload` is a valid child of ctx.parent and answer Engine::on_verified.
  // Single-shot: stay pending while the block (or its objects) is being fetched; false means
  // permanently invalid.
  virtual void verify(const Context& ctx, const Digest& payload) = 0;

  // Certification of a notarized payload; must be deterministic across honest nodes. The default
  // answer is true; answer through Engine::on_certified.
  virtual void certify(const Round& round, const Digest& payload) = 0;

  // A finalized block digest, reported in increasing view order per engine instance (implied
  // ancestors before the finalization that implies them). The application applies blocks in
  // order, fetching any it lacks (by digest from the certificate, then by parent links).
  virtual void finalized(const Finalized& f) = 0;

  // Fault evidence against a validator (the engine has already asked the driver to block it).
  virtual void fault(const Fault& f) {}
};

}  // namespace guts::consensus
