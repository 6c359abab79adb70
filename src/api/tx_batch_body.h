// The body of POST /api/guts/transactions/batch (docs/api.md "Transactions in batches"):
// signed transactions, either `application/octet-stream` in the batch encoding of
// state/tx_batch.h (varint count ‖ bytes(tx) × count) or JSON {"txs": ["<hex>", …]}. Parsed
// and bounded without I/O: used by the route (api/guts_routes.cpp) and the fuzzer
// (fuzz/tx_batch_body_fuzz.cpp). A bad body is refused as a whole: nothing of it is submitted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "state/tx.h"

namespace guts::api {

// A batch is a unit of HTTP work, not of consensus: 1,000 one-kilobyte transactions fill about
// half a block and 1 MiB of body.
inline constexpr size_t kMaxApiBatchTxs = 1000;

struct TxBatchBody {
  std::vector<state::Transaction> txs;  // in the order sent
  // Set when the body is refused: 400 (not decodable: `message` says where) or 422 (GitHub's
  // validation shape: `field` and `code`, missing_field or invalid).
  int status = 0;
  std::string field, code, message;
  bool ok() const { return status == 0; }
};

TxBatchBody parse_tx_batch_body(std::string_view content_type, std::string_view body);

}  // namespace guts::api
