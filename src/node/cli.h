// guts-node's command line: runs a node, `check`s a data directory or writes a local network's
// genesis (`init-genesis`). guts-node's main() calls it with no test seams; the test-only
// guts-node-byzantine (tests/network) calls it with test doubles plugged into the seams.
#pragma once

#include "node/config.h"

namespace guts::node {

int run_cli(int argc, char** argv, TestSeams seams);

}  // namespace guts::node
