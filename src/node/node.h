// A running Guts node: data directory, keys, ledger, mempool, consensus and the API server.
#pragma once

#include <memory>

#include "node/config.h"

namespace guts::node {

class Node {
 public:
  explicit Node(NodeConfig config);
  ~Node();
  // Opens the data directory (creating the node key and a one-validator genesis on first
  // start), starts consensus and the API. Throws guts::Error with a clear message on failure.
  void start();
  void stop();
  // Rereads what may change while the node runs (guts-node on SIGHUP): the TLS certificate and
  // key, for new connections. On failure logs the file and the problem and keeps the current
  // ones. True when something was reloaded.
  bool reload();
  uint16_t api_port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace guts::node
