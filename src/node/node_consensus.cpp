#include "node/node_consensus.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "consensus/signing_guard.h"
#include "core/status.h"
#include "node/network.h"
#include "p2p/transport.h"
#include "state/validator_set_state.h"

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

consensus::Config NodeConsensus::epoch_config(const state::ValidatorEpoch& e) const {
  const auto& g = chain_.genesis();
  consensus::Config cfg(key_);
  cfg.ns = consensus_namespace(g);
  cfg.epoch = e.number;
  cfg.participants = e.keys();
  // Consensus payloads are block ids: the first epoch builds on the genesis id, a later one on
  // the last block of the epoch before it (finalized by the old set).
  if (e.number == 0) {
    cfg.genesis = g.id();
  } else {
    auto last = chain_.block_at(e.first_height - 1);
    if (!last)
      throw Error(Code::kInternal, "epoch " + std::to_string(e.number) + " starts after block " +
                                       std::to_string(e.first_height - 1) + ", not applied here");
    cfg.genesis = last->id();
  }
  cfg.leader_timeout = g.leader_timeout_ms;
  cfg.certification_timeout = g.certification_timeout_ms;
  cfg.timeout_retry = g.timeout_retry_ms;
  cfg.skip_timeout = std::max(g.certification_timeout_ms, g.timeout_retry_ms) + 1000;
  cfg.fetch_timeout = std::clamp<uint64_t>(g.leader_timeout_ms / 2, 50, 1000);
  return cfg;
}

std::filesystem::path NodeConsensus::journal_dir(consensus::Epoch e) const {
  return e == 0 ? data_dir_ / "consensus" : data_dir_ / ("consensus-epoch-" + std::to_string(e));
}

NodeConsensus::NodeConsensus(state::Chain& chain, state::Mempool& mempool,
                             const crypto::SigningKey& key, Network& network,
                             const std::filesystem::path& data_dir, NodeConsensusOptions options)
    : chain_(chain),
      key_(key),
      data_dir_(data_dir),
      validator_mode_(options.validator),
      on_epochs_(std::move(options.on_epochs)) {
  const auto& g = chain.genesis();
  schedule_ = state::validator_schedule(chain.view(), g);
  epoch_ = schedule_.at_height(chain.head().height + 1).number;
  const auto& current = schedule_.epochs()[epoch_];
  auto keys = current.keys();
  const bool in_set = std::find(keys.begin(), keys.end(), key.public_key()) != keys.end();
  auto cfg = epoch_config(current);
  {
    auto guard = consensus::load_guard(data_dir / "consensus");
    fresh_epochs_ = guard && guard->reserved && guard->floor == 0;
  }

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
  std::vector<crypto::PublicKey> genesis_keys;
  for (const auto& v : g.validators) genesis_keys.push_back(v.key);
  ledger_ = std::make_unique<ledger::Driver>(chain, mempool, key.public_key(),
                                             std::move(genesis_keys), *net_, std::move(opts));
  network.subscribe(p2p::channel::kBlocks,
                    [l = ledger_.get()](const crypto::PublicKey& peer, Bytes payload) {
                      l->on_blocks_message(peer, std::move(payload));
                    });
  network.subscribe(p2p::channel::kTransactions,
                    [l = ledger_.get()](const crypto::PublicKey& peer, Bytes payload) {
                      l->on_transactions_message(peer, std::move(payload));
                    });
  chain.add_commit_listener([this](const state::Block& b) { on_commit(b); });
  if (on_epochs_) on_epochs_(schedule_, epoch_, options.validator && in_set);
  if (!options.validator) return;
  runtime::SimplexDriver::Options dopts(std::move(cfg));
  dopts.journal_dir = journal_dir(epoch_);
  // Not in the current set (a validator removed, or one added for a later epoch): no engine
  // until an epoch names this node.
  dopts.passive = !in_set;
  if (in_set && epoch_ > 0 && !std::filesystem::exists(dopts.journal_dir) && fresh_epochs_)
    consensus::init_fresh_guard(dopts.journal_dir);
  dopts.channels = runtime::ChannelMap{p2p::channel::kVotes, p2p::channel::kCertificates,
                                       p2p::channel::kResolver};
  if (options.extra_votes)
    dopts.extra_broadcasts = [f = std::move(options.extra_votes), key, ns = dopts.engine.ns](
                                 uint64_t ch, ByteView payload) {
      return ch == p2p::channel::kVotes ? f(key, ns, payload) : std::vector<Bytes>{};
    };
  if (options.on_behind)
    dopts.on_future_epoch = [f = std::move(options.on_behind)](const crypto::PublicKey& peer,
                                                               consensus::Epoch) { f(peer); };
  driver_ =
      std::make_unique<runtime::SimplexDriver>(std::move(dopts), network.transport(), *ledger_);
  ledger_->attach(*driver_);
  for (uint64_t ch : {p2p::channel::kVotes, p2p::channel::kCertificates, p2p::channel::kResolver}) {
    network.subscribe(ch, [d = driver_.get(), ch](const crypto::PublicKey& peer, Bytes payload) {
      d->deliver(peer, ch, std::move(payload));
    });
  }
}

void NodeConsensus::on_commit(const state::Block& b) {
  const bool changed = state::may_change_validator_schedule(b);
  if (changed) schedule_ = state::validator_schedule(chain_.view(), chain_.genesis());
  const auto& next = schedule_.at_height(b.header.height + 1);
  const bool new_epoch = next.number != epoch_;
  if (!changed && !new_epoch) return;
  auto keys = next.keys();
  const bool in_set =
      validator_mode_ && std::find(keys.begin(), keys.end(), key_.public_key()) != keys.end();
  if (new_epoch) {
    epoch_ = next.number;
    spdlog::info("consensus: block {} ends epoch {}; epoch {} has {} validator(s){}",
                 b.header.height, epoch_ - 1, epoch_, keys.size(),
                 in_set ? ", this node among them" : "");
    if (driver_) {
      auto dir = journal_dir(epoch_);
      if (in_set && !std::filesystem::exists(dir) && fresh_epochs_)
        consensus::init_fresh_guard(dir);
      driver_->switch_epoch(epoch_, in_set ? std::optional(epoch_config(next)) : std::nullopt, dir);
    }
  }
  if (on_epochs_) on_epochs_(schedule_, epoch_, in_set);
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
