#include "state/tx_batch.h"

#include <string>

#include "codec/codec.h"

namespace guts::state {

void write_transactions(codec::Writer& w, std::span<const Bytes> encoded) {
  w.varint(encoded.size());
  for (const auto& e : encoded) w.bytes(e);
}

Bytes encode_transactions(std::span<const Bytes> encoded) {
  size_t bytes = 0;
  for (const auto& e : encoded) bytes += e.size();
  codec::Writer w(bytes + 10 + encoded.size() * 3);
  write_transactions(w, encoded);
  return w.data();
}

Bytes encode_transactions(std::span<const Transaction> txs) {
  std::vector<Bytes> encoded;
  encoded.reserve(txs.size());
  for (const auto& tx : txs) encoded.push_back(tx.encode());
  return encode_transactions(encoded);
}

std::vector<Transaction> decode_transactions(ByteView data, size_t max_count) {
  codec::Reader r(data);
  size_t n = r.count(max_count, "transactions");
  std::vector<Transaction> txs;
  txs.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    ByteView one = r.bytes_view(kMaxTxBytes);
    try {
      txs.push_back(decode_transaction(one));
    } catch (const codec::DecodeError& e) {
      std::string why = e.what();
      if (why.starts_with("decode: ")) why.erase(0, 8);
      throw codec::DecodeError("transaction " + std::to_string(i) + ": " + why);
    }
  }
  r.finish();
  return txs;
}

}  // namespace guts::state
