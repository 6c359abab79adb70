// Several signed transactions in one message: `varint count ‖ bytes(tx) × count` (each
// transaction's encoding behind its varint length). The p2p transactions channel carries it
// behind its tag byte (ledger/core.h); POST /api/guts/transactions/batch takes it as its
// binary body (docs/api.md).
#pragma once

#include <span>
#include <vector>

#include "core/bytes.h"
#include "state/tx.h"

namespace guts::codec {
class Writer;
}

namespace guts::state {

// The batch's encoding.
Bytes encode_transactions(std::span<const Transaction> txs);
Bytes encode_transactions(std::span<const Bytes> encoded);  // already encoded, in order
// The same, appended to `w` (behind a message's tag).
void write_transactions(codec::Writer& w, std::span<const Bytes> encoded);

// At most `max_count` transactions, each at most kMaxTxBytes; the whole of `data` must be
// used. Throws codec::DecodeError (saying which transaction) on anything else.
std::vector<Transaction> decode_transactions(ByteView data, size_t max_count);

}  // namespace guts::state
