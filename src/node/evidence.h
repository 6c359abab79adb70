// Evidence of byzantine validators, kept by every validator that observed it.
//
// The consensus engine reports a consensus::Fault when one validator signed two votes that an
// honest validator never signs together (two notarizations or two finalizations in one view for
// different blocks, or a nullify and a finalize in one view). Both votes carry the signer's
// signature, so the record is proof anyone can re-check with the validator's public key: the
// operator hands it to the other operators (docs/operator/byzantine-validator.md).
//
// Records are node-local (the "local" column family, prefix "evidence/"), written when the fault
// is reported, and re-verified against the validator set whenever they are read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "consensus/application.h"
#include "core/thread_annotations.h"
#include "storage/db.h"

namespace guts::node {

struct EvidenceRecord {
  uint64_t seq = 0;          // 1, 2, ... in order of detection on this node
  uint64_t detected_ms = 0;  // unix milliseconds
  consensus::Fault fault;
};

class EvidenceLog {
 public:
  // `ns` is the consensus namespace the votes are signed in ("guts/<chain id>"); `validators`
  // the participants of epoch 0 (the genesis set) in consensus order (Fault::signer indexes the
  // set of the votes' epoch).
  EvidenceLog(storage::Db& db, storage::Cf cf, std::string ns,
              std::vector<crypto::PublicKey> validators);
  // The participants of every epoch known (docs/consensus.md §10), index = epoch number. Any
  // thread.
  void set_epochs(std::vector<std::vector<crypto::PublicKey>> epochs);

  // Stores the fault (synced) unless the same pair of votes is already stored. Thread-safe; it
  // is called on the consensus driver thread, which is fine: faults are rare and one write.
  void record(const consensus::Fault& fault, uint64_t now_ms);

  // Newest first, at most `limit`.
  std::vector<EvidenceRecord> list(size_t limit) const;
  size_t count() const;

  // Both votes are by fault.signer (of their epoch's set), validly signed, in one round, and form
  // the conflict `kind`.
  bool verify(const consensus::Fault& fault) const;

  // The records as JSON (GET /api/guts/evidence): kind, view, signer DID, the two votes encoded
  // in hex (consensus wire format, docs/consensus.md) and `verified`.
  std::string to_json(size_t limit) const;

 private:
  storage::Db& db_;
  const storage::Cf cf_;
  const std::string ns_;
  // The signer's key: participant `signer` of `epoch`, if known.
  std::optional<crypto::PublicKey> key_of(consensus::Epoch epoch, uint32_t signer) const;
  mutable Mutex epochs_mu_;
  std::vector<std::vector<crypto::PublicKey>> epochs_ GUTS_GUARDED_BY(epochs_mu_);
  mutable Mutex mu_;
  uint64_t next_seq_ GUTS_GUARDED_BY(mu_) = 1;
};

// Encoding of one record's value (exposed for tests and the fuzz target). decode throws
// codec::DecodeError on malformed input.
std::string encode_evidence(const EvidenceRecord& r);
EvidenceRecord decode_evidence(std::string_view bytes);

}  // namespace guts::node
