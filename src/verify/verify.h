// Light verification (docs/verify.md): what a client that trusts only the genesis checks about
// a repository's refs served by any node. Pure: no I/O, no clock, no RocksDB; the CLI
// (`guts verify`), the git remote helper (git-remote-guts) and the tests call it.
//
// A proof bundle (GET /api/guts/proofs/repos/{owner}/{repo}, docs/protocol.md §4.4) holds a
// block header, the finalization certificate of that block, the two halves of its state root
// (history, repos_root), the Merkle proof of the repository's key in the repository tree and,
// when the repository exists, its state encoding (id, owner, visibility, default branch, refs).
// verify_repo_proof checks, in order:
//   1. the header decodes canonically, is version 2 and of the genesis' chain;
//   2. the certificate is a finalization of that header's id by ≥ q of the genesis validators;
//   3. SHA-256(str("guts/state-root/2") ‖ history ‖ repos_root) is the header's state root;
//   4. the proof leads from the repository's key to repos_root;
//   5. the state's SHA-256 is the proven leaf value and names the asked owner and repository
//      (or the proof proves absence and no state is given).
// Any failure throws guts::Error(kInvalidArgument) saying which step failed.
//
// Validator set changes (docs/verify.md "Validator set changes"): a certificate is checked
// against the set of its epoch. The anchor starts with the genesis set (epoch 0) and learns
// later sets by follow_epochs over the chain a node serves (GET /api/guts/proofs/validators):
// for epoch k, the hand-over — the last block of epoch k-1, finalized by epoch k-1's set (steps
// 1-3 above) — and the Merkle proof that its tree holds the change activating at the next
// height (key validator_tree_key(height + 1), value the SHA-256 of the change's record), whose
// validators are epoch k's set.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "state/genesis.h"
#include "state/smt_proof.h"

namespace guts::verify {

struct TrustAnchor {
  std::string chain_id;
  std::vector<crypto::PublicKey> validators;                 // epoch 0: the genesis set
  std::vector<std::vector<crypto::PublicKey>> later_epochs;  // epoch k at index k-1 (followed)
  static TrustAnchor from_genesis(const state::Genesis& g);
  // The set of `epoch`, or null when it was not followed yet.
  const std::vector<crypto::PublicKey>* set_of(uint64_t epoch) const;
  std::string consensus_namespace() const { return "guts/" + chain_id; }
};

struct RepoProofBundle {
  Bytes header;       // the encoded block header at the proof's height (state/block.h)
  Bytes certificate;  // the encoded finalization certificate (consensus/types.h)
  state::Digest history{};
  state::Digest repos_root{};
  Bytes proof;                 // state::SmtProof, wire form
  std::optional<Bytes> state;  // state::RepoState encoding, when the repository exists
};

struct VerifiedRepo {
  uint64_t height = 0;
  state::Digest block{};  // the finalized block's id
  uint64_t view = 0;
  uint64_t timestamp_ms = 0;
  std::optional<state::RepoState> repo;  // nullopt: proven absent at that height
};

VerifiedRepo verify_repo_proof(const TrustAnchor& anchor, const RepoProofBundle& bundle,
                               std::string_view owner, std::string_view name);

// One epoch of the validator-set chain (GET /api/guts/proofs/validators).
struct EpochLink {
  uint64_t epoch = 0;  // the epoch this link proves the set of (>= 1)
  Bytes header;        // the hand-over block: the last block of epoch - 1
  Bytes certificate;   // its finalization, by epoch - 1's set
  state::Digest history{};
  state::Digest repos_root{};
  Bytes proof;   // state::SmtProof of validator_tree_key(header height + 1)
  Bytes change;  // the state::ValidatorChange record
};

// Extends `anchor` with the links, in order from the first epoch it does not know; links of
// epochs it knows are skipped. Throws guts::Error(kInvalidArgument) at the first link that does
// not verify (the epochs before it stay learned).
void follow_epochs(TrustAnchor& anchor, const std::vector<EpochLink>& links);
std::vector<EpochLink> epoch_links_from_json(std::string_view text);
// The epoch an encoded certificate names (unverified); throws kInvalidArgument when malformed.
uint64_t certificate_epoch(ByteView certificate);

// The bundle's fields from the proof endpoint's JSON (hex strings; at most 64 MiB of text).
// Throws guts::Error(kInvalidArgument) when a field is missing or malformed.
RepoProofBundle bundle_from_json(std::string_view text);

}  // namespace guts::verify
