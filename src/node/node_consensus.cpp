#include "node/node_consensus.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "node/network.h"
#include "p2p/transport.h"

namespace guts::node {

namespace {

uint64_t channel_number(ledger::Channel c) {
  return c == ledger::Channel::kBlocks ? p2p::channel::kBlocks : p2p::channel::kTransactions;
}

// The ledger driver's network: node::Network.
class LedgerNet : public ledger::Net {
 public:
  explicit LedgerNet(Network& network) : network_(network) {}
  void send(const crypto::PublicKey& peer, ledger::Channel c, ByteView payload) override {
    network_.transport().send(peer, channel_number(c), payload);
  }
  void send_to_validators(ledger::Channel c, ByteView payload) override {
    network_.send_to_validators(channel_number(c), payload);
  }
  void block(const crypto::PublicKey& peer) override { network_.transport().block(peer); }

 private:
  Network& network_;
};

}  // namespace

std::string consensus_namespace(const state::Genesis& genesis) {
  return "guts/" + genesis.chain_id;
}

NodeConsensus::NodeConsensus(state::Chain& chain, state::Mempool& mempool,
                             const crypto::SigningKey& key, Network& network,
                             const std::filesystem::path& data_dir, NodeConsensusOptions options) {
  const auto& g = chain.genesis();
  consensus::Config cfg(key);
  cfg.ns = consensus_namespace(g);
  for (const auto& v : g.validators) cfg.participants.push_back(v.key);
  cfg.genesis = g.id();  // the parent of block 1: consensus payloads are block ids
  cfg.leader_timeout = g.leader_timeout_ms;
  cfg.certification_timeout = g.certification_timeout_ms;
  cfg.timeout_retry = g.timeout_retry_ms;
  cfg.skip_timeout = std::max(g.certification_timeout_ms, g.timeout_retry_ms) + 1000;
  cfg.fetch_timeout = std::clamp<uint64_t>(g.leader_timeout_ms / 2, 50, 1000);

  ledger::DriverOptions opts;
  opts.max_block_txs = std::min(options.max_block_txs, ledger::kMaxConsensusBlockTxs);
  opts.fetch_timeout = std::chrono::milliseconds(cfg.fetch_timeout);
  opts.empty_child_after =
      std::chrono::milliseconds(ledger::empty_child_delay_ms(g.leader_timeout_ms));
  opts.validator = options.validator;
  opts.on_finalized = std::move(options.on_finalized);
  opts.availability = std::move(options.availability);
  opts.on_fault = std::move(options.on_fault);
  opts.forge_block = std::move(options.forge_block);
  // Objects must arrive well inside the time the other validators wait for our vote.
  opts.availability_timeout = std::chrono::milliseconds(
      std::max<uint64_t>(500, g.leader_timeout_ms + g.certification_timeout_ms / 2));
  if (options.validator) opts.stats_file = data_dir / "consensus" / "stats.json";
  net_ = std::make_unique<LedgerNet>(network);
  ledger_ = std::make_unique<ledger::Driver>(chain, mempool, key.public_key(), cfg.participants,
                                             *net_, std::move(opts));
  network.subscribe(p2p::channel::kBlocks,
                    [l = ledger_.get()](const crypto::PublicKey& peer, Bytes payload) {
                      l->on_blocks_message(peer, std::move(payload));
                    });
  network.subscribe(p2p::channel::kTransactions,
                    [l = ledger_.get()](const crypto::PublicKey& peer, Bytes payload) {
                      l->on_transactions_message(peer, std::move(payload));
                    });
  if (!options.validator) return;
  runtime::SimplexDriver::Options dopts(std::move(cfg));
  dopts.journal_dir = data_dir / "consensus";
  dopts.channels = runtime::ChannelMap{p2p::channel::kVotes, p2p::channel::kCertificates,
                                       p2p::channel::kResolver};
  if (options.extra_votes)
    dopts.extra_broadcasts = [f = std::move(options.extra_votes), key, ns = dopts.engine.ns](
                                 uint64_t ch, ByteView payload) {
      return ch == p2p::channel::kVotes ? f(key, ns, payload) : std::vector<Bytes>{};
    };
  driver_ =
      std::make_unique<runtime::SimplexDriver>(std::move(dopts), network.transport(), *ledger_);
  ledger_->attach(*driver_);
  for (uint64_t ch : {p2p::channel::kVotes, p2p::channel::kCertificates, p2p::channel::kResolver}) {
    network.subscribe(ch, [d = driver_.get(), ch](const crypto::PublicKey& peer, Bytes payload) {
      d->deliver(peer, ch, std::move(payload));
    });
  }
}

NodeConsensus::~NodeConsensus() {
  stop();
}

void NodeConsensus::start() {
  ledger_->start();
  if (!driver_) return;
  driver_->start();
  // Blocks finalized before a restart whose bytes are in the journal are applied before the
  // node serves clients (a block we must fetch from peers may take longer: do not wait long).
  if (!ledger_->wait_applied(std::chrono::seconds(10)))
    spdlog::warn("consensus: still applying finalized blocks in the background");
}

void NodeConsensus::stop() {
  if (driver_) driver_->stop();
  if (ledger_) ledger_->stop();
}

}  // namespace guts::node
