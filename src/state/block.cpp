#include "state/block.h"

#include "codec/codec.h"
#include "core/version.h"
#include "crypto/hash.h"

namespace guts::state {

using codec::DecodeError;
using codec::Reader;
using codec::Writer;

static_assert(kHeaderV3 == version::kBlockFormat);  // core/version.h: the newest header

Bytes BlockHeader::encode() const {
  Writer w(200);
  w.u8(version)
      .str(chain_id)
      .varint(height)
      .fixed(parent)
      .varint(view)
      .varint(timestamp_ms)
      .fixed(proposer)
      .fixed(tx_root)
      .fixed(state_root)
      .varint(tx_count);
  return w.take();
}

Digest BlockHeader::id() const {
  return crypto::sha256(encode());
}

static BlockHeader read_header(Reader& r) {
  BlockHeader h;
  h.version = r.u8();
  if (h.version < kHeaderV1 || h.version > kHeaderV3)
    throw DecodeError("unsupported block version");
  h.chain_id = r.str(kMaxChainIdBytes, "chain id");
  h.height = r.varint();
  h.parent = r.fixed<32>();
  h.view = r.varint();
  h.timestamp_ms = r.varint();
  h.proposer = r.fixed<32>();
  h.tx_root = r.fixed<32>();
  h.state_root = r.fixed<32>();
  h.tx_count = r.varint_max(kMaxBlockTxs, "transaction count");
  return h;
}

Bytes Block::encode() const {
  Writer w(256 + txs.size() * 256);
  w.fixed(header.encode());
  for (const auto& tx : txs) w.bytes(tx.encode());
  return w.take();
}

Block decode_block(ByteView data) {
  if (data.size() > kMaxBlockBytes) throw DecodeError("block too large");
  Reader r(data);
  Block b;
  b.header = read_header(r);
  b.txs.reserve(b.header.tx_count);
  for (uint64_t i = 0; i < b.header.tx_count; ++i)
    b.txs.push_back(decode_transaction(r.bytes_view(kMaxTxBytes, "transaction")));
  r.finish();
  if (tx_root_of(b.txs) != b.header.tx_root) throw DecodeError("block tx_root mismatch");
  return b;
}

Digest merkle_root(const std::vector<Digest>& leaves) {
  if (leaves.empty()) return crypto::sha256(ByteView{});
  std::vector<Digest> level;
  level.reserve(leaves.size());
  for (const auto& l : leaves) {
    crypto::Sha256 h;
    uint8_t tag = 0;
    h.update(ByteView(&tag, 1)).update(l);
    level.push_back(h.finish());
  }
  while (level.size() > 1) {
    std::vector<Digest> next;
    for (size_t i = 0; i < level.size(); i += 2) {
      if (i + 1 == level.size()) {
        next.push_back(level[i]);  // odd node promoted, as in RFC 6962's split
        continue;
      }
      crypto::Sha256 h;
      uint8_t tag = 1;
      h.update(ByteView(&tag, 1)).update(level[i]).update(level[i + 1]);
      next.push_back(h.finish());
    }
    level = std::move(next);
  }
  return level[0];
}

Digest tx_root_of(const std::vector<Transaction>& txs) {
  std::vector<Digest> ids;
  ids.reserve(txs.size());
  for (const auto& tx : txs) ids.push_back(tx.id());
  return merkle_root(ids);
}

Digest next_state_root(const Digest& previous, uint64_t height, const Digest& writes_digest) {
  Writer w;
  w.str("guts/state-root").fixed(previous).varint(height).fixed(writes_digest);
  return crypto::sha256(w.data());
}

Digest authenticated_state_root(const Digest& history, const Digest& repos_root) {
  Writer w;
  w.str("guts/state-root/2").fixed(history).fixed(repos_root);
  return crypto::sha256(w.data());
}

}  // namespace guts::state
