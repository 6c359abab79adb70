// guts-node: the Guts daemon. `guts-node` runs a node (a one-validator network on first start,
// API on 127.0.0.1:8080, data in ./data); see node/cli.h for the commands.
#include "node/cli.h"

int main(int argc, char** argv) {
  return guts::node::run_cli(argc, argv, {});
}
