// Every p2p channel number of the Guts protocol, in one place (docs/p2p.md §4). A channel number
// is part of the wire protocol: never renumber or reuse one. Each line names the header that
// defines the channel's message kinds (the first byte of every message, unless noted).
// Per-channel limits (size, rate, validators only) are set where the transport is configured:
// p2p::default_channels() (transport.cpp) for 0-4, node/network.cpp for 5-8.
#pragma once

#include <cstdint>

namespace guts::p2p::channel {

inline constexpr uint64_t kVotes = 0;         // consensus votes: consensus/types.h (encode_vote)
inline constexpr uint64_t kCertificates = 1;  // consensus certificates: consensus/types.h
inline constexpr uint64_t kBlocks = 2;        // block push/fetch: the ledger (BlockMsg tags)
inline constexpr uint64_t kGossip = 3;        // discovery and announcements: p2p/gossip.h (Type)
inline constexpr uint64_t kGit = 4;           // object replication: replication/messages.h
inline constexpr uint64_t kResolver = 5;      // certificate fetches: consensus/types.h (Resolver)
inline constexpr uint64_t kTransactions = 6;  // forwarded transactions: the ledger (kTxBatch)
inline constexpr uint64_t kFinality = 7;      // finalization heads: consensus/head.h (kHead...)
inline constexpr uint64_t kBlobs = 8;         // blob replication: replication/blob_sync_messages.h

}  // namespace guts::p2p::channel
