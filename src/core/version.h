// Every version number of Guts, in one place (docs/protocol.md "Versioning", docs/operator.md
// "Upgrades"). What bumps which number:
//   - software: the release (CMake project version); informative, never compared by peers.
//   - p2p protocol: the handshake's identity payload and the meaning of the messages after it
//     (channels, frames, gossip, consensus and replication messages). A node speaks every version
//     in [kP2pProtocolMin, kP2pProtocolMax]; two nodes connect iff their ranges overlap.
//   - storage: the layout of the state database (column families, keys, value encodings). An
//     older database is migrated on open (storage/migrations.h); a newer one is refused.
//   - block and transaction formats: the first byte of every encoded block header and
//     transaction. A change is a hard fork: it also bumps the p2p protocol (minimum included).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace guts::version {

inline constexpr uint8_t kP2pProtocolMin = 1;
inline constexpr uint8_t kP2pProtocolMax = 1;
inline constexpr uint32_t kStorage = 2;
inline constexpr uint8_t kBlockFormat = 3;  // the newest header version (state/block.h)
inline constexpr uint8_t kTxFormat = 1;

// The release, e.g. "0.1.0" (CMake's project version).
std::string_view software();

// One line for --version: "guts-node 0.1.0 (p2p protocol 1..1, storage 1, block format 1,
// transaction format 1)".
std::string describe(std::string_view program);

}  // namespace guts::version
