// Ledger messages from untrusted peers (ledger/core.h): blocks-channel messages (proposal
// pushes, block and range requests, answers) and forwarded transaction batches. Any bytes are
// either handled or answered by blocking the peer — never a crash, an exception out of the core,
// or unbounded work. The finality channel (finality/relay_core.h) is fed the same bytes.
#include <cstddef>
#include <cstdint>

#include "codec/codec.h"
#include "finality/relay_core.h"
#include "ledger/core.h"

namespace {

using namespace guts;

// A chain at genesis that holds nothing: the core answers requests from its own memory.
class EmptyChain : public ledger::ChainPort {
 public:
  state::Head head() const override { return {}; }
  std::optional<state::TxLocation> locate(const Digest&) const override { return std::nullopt; }
  std::optional<state::Block> block_at(uint64_t) const override { return std::nullopt; }
  state::BuildResult build(const Digest&, std::vector<state::PendingTx>, uint64_t, uint64_t,
                           const crypto::PublicKey&) override {
    throw Error(Code::kInternal, "no building in the fuzzer");
  }
  Status verify(const state::Block&, const std::function<bool(const Digest&)>&) override {
    return Status(Code::kInvalidArgument, "no verifying in the fuzzer");
  }
};

crypto::PublicKey key(uint8_t n) {
  crypto::Seed s;
  s.fill(n);
  return crypto::SigningKey::from_seed(s).public_key();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<crypto::PublicKey> validators = {key(1), key(2), key(3), key(4)};
  ByteView in(data, size);
  try {
    (void)ledger::decode_tx_batch(in);
  } catch (const codec::DecodeError&) {
  }
  EmptyChain chain;
  ledger::CoreOptions o;
  o.self = validators[0];
  o.validators = validators;
  ledger::Core core(chain, o);
  (void)core.blocks_message({1000, 1000}, validators[1], in);  // a validator may push
  (void)core.blocks_message({1001, 1001}, key(9), in);         // a stranger may only ask
  finality::RelayCore relay("guts/fuzz", validators, false);
  (void)relay.message(key(9), in, 1);
  return 0;
}
