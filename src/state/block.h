// Blocks: an ordered batch of transactions and a header that commits to them and to the
// state after applying them (docs/protocol.md §4).
//
// Header encoding: version u8 | chain_id str | height varint | parent 32 | view varint |
//   timestamp_ms varint | proposer pk32 | tx_root 32 | state_root 32 | tx_count varint
// Block encoding: header | tx_count × bytes(transaction)
// Block id = SHA-256(header encoding). tx_root = Merkle root (RFC 6962 hashing: leaves
// SHA-256(0x00 || tx id), nodes SHA-256(0x01 || left || right)) over the transaction ids.
#pragma once

#include <vector>

#include "state/tx.h"

namespace guts::state {

inline constexpr size_t kMaxBlockTxs = 20000;
inline constexpr size_t kMaxBlockBytes = 16 << 20;

struct BlockHeader {
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

}  // namespace guts::state
