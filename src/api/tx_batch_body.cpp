#include "api/tx_batch_body.h"

#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "state/tx_batch.h"

namespace guts::api {

namespace {

TxBatchBody refused(int status, std::string field, std::string code, std::string message) {
  TxBatchBody b;
  b.status = status;
  b.field = std::move(field);
  b.code = std::move(code);
  b.message = std::move(message);
  return b;
}

}  // namespace

TxBatchBody parse_tx_batch_body(std::string_view content_type, std::string_view body) {
  TxBatchBody out;
  if (content_type.starts_with("application/octet-stream")) {
    try {
      out.txs = state::decode_transactions(as_bytes(body), kMaxApiBatchTxs);
    } catch (const codec::DecodeError& e) {
      return refused(400, "", "", std::string("malformed transactions: ") + e.what());
    }
    if (out.txs.empty()) return refused(422, "txs", "invalid", "no transactions");
    return out;
  }
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return refused(400, "", "", "Problems parsing JSON");
  auto it = j.find("txs");
  if (it == j.end())
    return refused(422, "txs", "missing_field", "an array of hex-encoded transactions required");
  if (!it->is_array() || it->empty())
    return refused(422, "txs", "invalid", "a non-empty array of hex-encoded transactions");
  if (it->size() > kMaxApiBatchTxs)
    return refused(422, "txs", "invalid",
                   "at most " + std::to_string(kMaxApiBatchTxs) + " transactions in a batch");
  out.txs.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& e = (*it)[i];
    std::optional<Bytes> raw;
    if (e.is_string() && e.get_ref<const std::string&>().size() <= 2 * state::kMaxTxBytes)
      raw = hex_decode(e.get_ref<const std::string&>());
    if (!raw)
      return refused(422, "txs", "invalid",
                     "transaction " + std::to_string(i) + ": not a hex string of at most " +
                         std::to_string(state::kMaxTxBytes) + " bytes");
    try {
      out.txs.push_back(state::decode_transaction(*raw));
    } catch (const codec::DecodeError& err) {
      return refused(400, "", "", "malformed transaction " + std::to_string(i) + ": " + err.what());
    }
  }
  return out;
}

}  // namespace guts::api
