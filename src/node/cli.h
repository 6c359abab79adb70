// guts-node's command line: runs a node, `check`s a data directory, writes a network's genesis
// (`init-genesis`) or checks the configuration (`config check`; exit 2 on a bad one). guts-node's
// main() calls it with no test seams; the test-only guts-node-byzantine (tests/network) calls it
// with test doubles plugged into the seams.
#pragma once

#include "node/config.h"

namespace guts::node {

int run_cli(int argc, char** argv, TestSeams seams);

}  // namespace guts::node
