// guts-node-byzantine: guts-node with test doubles plugged into its test seams, chosen by
// GUTS_BYZANTINE (read here, in the test tree; production sources never read it):
//   tamper-objects | missing-objects   serve bad packs (tests/support/byzantine_packs.h)
//   forge-head                         announce forged finalization heads (byzantine_heads.h)
//   equivocate                         sign two notarize votes per view (byzantine_votes.h)
// Honest nodes must detect and block it (tests/network/replication_test.cpp, network_test.cpp).
#include <cstdlib>
#include <string>

#include "node/cli.h"
#include "tests/support/byzantine_heads.h"
#include "tests/support/byzantine_packs.h"
#include "tests/support/byzantine_votes.h"

int main(int argc, char** argv) {
  const char* env = std::getenv("GUTS_BYZANTINE");
  std::string mode = env ? env : "";
  guts::node::TestSeams seams;
  seams.serve_packs = guts::testing::byzantine_packs(mode);
  if (mode == "forge-head") seams.rewrite_finality_heads = guts::testing::forge_heads();
  if (mode == "equivocate") seams.extra_votes = guts::testing::equivocate_votes();
  return guts::node::run_cli(argc, argv, std::move(seams));
}
