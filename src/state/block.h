// Blocks: an ordered batch of transactions and a header that commits to them and to the
// state after applying them (docs/protocol.md §4).
//
// Header encoding: version u8 (1, 2 or 3) | chain_id str | height varint | parent 32 |
//   view varint | timestamp_ms varint | proposer pk32 | tx_root 32 | state_root 32 |
//   tx_count varint
// Block encoding: header | tx_count × bytes(transaction)
// Block id = SHA-256(header encoding). tx_root = Merkle root (RFC 6962 hashing: leaves
// SHA-256(0x00 || tx id), nodes SHA-256(0x01 || left || right)) over the transaction ids.
#pragma once

#include <vector>

#include "state/tx.h"

namespace guts::state {

inline constexpr size_t kMaxBlockTxs = 20000;
inline constexpr size_t kMaxBlockBytes = 16 << 20;
// Header versions (docs/protocol.md §4.3, §5): the encoding is the same; a version-2 or -3
// header's state_root also commits to the authenticated repository tree (state/smt.h):
//   state_root = SHA-256(str("guts/state-root/2") ‖ history ‖ repos_root)
// where history is next_state_root() below. In version 3 a repository's leaf commits to its refs
// through a tree of their own (state/smt_proof.h, repo_leaf_value). Honest proposers build
// version 3; a block is accepted only on a parent of its version or lower (chains from before
// replay as they were).
inline constexpr uint8_t kHeaderV1 = 1;
inline constexpr uint8_t kHeaderV2 = 2;
inline constexpr uint8_t kHeaderV3 = 3;

struct BlockHeader {
  uint8_t version = kHeaderV1;  // kHeaderV1, kHeaderV2 or kHeaderV3
  std::string chain_id;
  uint64_t height = 0;
  Digest parent{};
  uint64_t view = 0;
  uint64_t timestamp_ms = 0;
  PublicKey proposer{};
  Digest tx_root{};
  Digest state_root{};
  uint64_t tx_count = 0;

  Bytes encode() const;
  Digest id() const;
};

struct Block {
  BlockHeader header;
  std::vector<Transaction> txs;

  Digest id() const { return header.id(); }
  Bytes encode() const;
};

// Throws codec::DecodeError; also checks tx_count and tx_root against the transactions.
Block decode_block(ByteView data);

Digest merkle_root(const std::vector<Digest>& leaves);
Digest tx_root_of(const std::vector<Transaction>& txs);

// The state root after a block: SHA-256("guts/state-root" || previous root || height ||
// digest of the block's sorted state writes). It commits to the whole history of state
// changes, so two nodes that applied anything differently disagree from that block on.
Digest next_state_root(const Digest& previous, uint64_t height, const Digest& writes_digest);
// A version-2 header's state root: the history root above and the repository tree's root.
Digest authenticated_state_root(const Digest& history, const Digest& repos_root);

}  // namespace guts::state
