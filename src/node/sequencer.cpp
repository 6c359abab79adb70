#include "node/sequencer.h"

#include <spdlog/spdlog.h>

#include "core/time.h"

namespace guts::node {

SoloSequencer::SoloSequencer(state::Chain& chain, state::Mempool& mempool,
                             crypto::PublicKey proposer, size_t max_block_txs)
    : chain_(chain), mempool_(mempool), proposer_(proposer), max_block_txs_(max_block_txs) {}

SoloSequencer::~SoloSequencer() { stop(); }

void SoloSequencer::start() { thread_ = std::thread([this] { run(); }); }

void SoloSequencer::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void SoloSequencer::run() {
  while (!stop_) {
    if (!mempool_.wait_for_work(std::chrono::milliseconds(100))) continue;
    auto batch = mempool_.take(max_block_txs_);
    if (batch.empty()) continue;
    try {
      auto head = chain_.head();
      auto built = chain_.build(head.id, std::move(batch), head.height + 1, unix_millis(), proposer_);
      if (!built.block.txs.empty()) chain_.commit(built.block);
      mempool_.finished(built.block, built.rejected);
      spdlog::debug("block {} with {} transactions ({} rejected)", built.block.header.height,
                    built.block.txs.size(), built.rejected.size());
    } catch (const std::exception& e) {
      // A failed commit (disk full, I/O error) must not acknowledge anything; stop producing.
      spdlog::critical("sequencer stopped: {}", e.what());
      mempool_.shutdown();
      return;
    }
  }
}

}  // namespace guts::node
