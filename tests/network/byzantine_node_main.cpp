// guts-node-byzantine: guts-node with test doubles plugged into its test seams, chosen by
// GUTS_BYZANTINE (read here, in the test tree; production sources never read it):
//   tamper-objects | missing-objects   serve bad packs (tests/support/byzantine_packs.h)
//   forge-head                         announce forged finalization heads (byzantine_heads.h)
//   equivocate                         sign two notarize votes per view (byzantine_votes.h)
//   forge-block                        put the signed transaction in the file named by
//                                      GUTS_BYZANTINE_TX_FILE (hex, written by the test) into
//                                      every block it proposes, valid or not (forge_block below)
// Honest nodes must detect and block it (tests/network/replication_test.cpp, network_test.cpp).
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "core/bytes.h"
#include "node/cli.h"
#include "state/block.h"
#include "state/tx.h"
#include "tests/support/byzantine_heads.h"
#include "tests/support/byzantine_packs.h"
#include "tests/support/byzantine_votes.h"

namespace {

// A proposer that slips a transaction honest validators refuse (a push to a protected branch
// without the required approvals) into the blocks it builds, once the test has written it: the
// honest build's header with that transaction appended (tx count and root recomputed), as
// Protection.ByzantineProposerBlockIsRefused forges it in-process.
std::function<void(guts::state::Block&)> forge_block(std::string path) {
  return [path](guts::state::Block& block) {
    std::ifstream in(path);
    std::string hex((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == ' ')) hex.pop_back();
    auto bytes = guts::hex_decode(hex);
    if (!bytes || bytes->empty()) return;
    guts::state::Transaction tx;
    try {
      tx = guts::state::decode_transaction(*bytes);
    } catch (const std::exception&) {
      return;
    }
    const auto id = tx.id();
    if (std::any_of(block.txs.begin(), block.txs.end(),
                    [&](const guts::state::Transaction& t) { return t.id() == id; }))
      return;
    block.txs.push_back(std::move(tx));
    block.header.tx_count = block.txs.size();
    block.header.tx_root = guts::state::tx_root_of(block.txs);
  };
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("GUTS_BYZANTINE");
  std::string mode = env ? env : "";
  guts::node::TestSeams seams;
  seams.serve_packs = guts::testing::byzantine_packs(mode);
  if (mode == "forge-head") seams.rewrite_finality_heads = guts::testing::forge_heads();
  if (mode == "equivocate") seams.extra_votes = guts::testing::equivocate_votes();
  if (mode == "forge-block")
    if (const char* file = std::getenv("GUTS_BYZANTINE_TX_FILE"))
      seams.forge_block = forge_block(file);
  return guts::node::run_cli(argc, argv, std::move(seams));
}
