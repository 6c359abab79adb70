// guts-node: the Guts daemon. `guts-node` runs a node (a one-validator network on first start,
// API on 127.0.0.1:8080, data in ./data); `guts-node check` re-executes the stored chain from
// genesis and compares state roots.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <spdlog/spdlog.h>

#include "core/log.h"
#include "core/status.h"
#include "node/node.h"
#include "state/chain.h"
#include "storage/db.h"

using namespace guts;

namespace {

int run_node(node::NodeConfig config) {
  // Block the signals before any thread starts so that only sigwait() receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  node::Node n(config);
  n.start();
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("received signal {}, shutting down", sig);
  n.stop();
  return 0;
}

int check_chain(const std::filesystem::path& data_dir, std::filesystem::path genesis_file) {
  if (genesis_file.empty()) genesis_file = data_dir / "genesis.json";
  auto genesis = state::Genesis::load(genesis_file);
  auto db = storage::Db::open(data_dir / "db", state::Schema::families());
  state::Chain chain(*db, genesis);
  auto head = chain.head();
  auto scratch = std::filesystem::temp_directory_path() / ("guts-check-" + std::to_string(::getpid()));
  auto root = state::Chain::replay(*db, genesis, scratch);
  std::filesystem::remove_all(scratch);
  std::cout << "height " << head.height << "\nstate_root " << hex_encode(root) << "\nreplay ok\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"guts-node: a Guts node (git hosting and collaboration replicated by BFT consensus)"};
  app.set_config("--config", "", "Read options from a TOML/INI config file");
  node::NodeConfig config;
  app.add_option("--api-addr", config.api_addr, "API and web address (host:port)")
      ->envname("GUTS_API_ADDR")->capture_default_str();
  app.add_option("--p2p-addr", config.p2p_addr, "Peer-to-peer address (host:port)")
      ->envname("GUTS_P2P_ADDR")->capture_default_str();
  app.add_option("--data-dir", config.data_dir, "Data directory")->envname("GUTS_DATA_DIR")->capture_default_str();
  app.add_option("--genesis-file", config.genesis_file, "Genesis file (default: <data-dir>/genesis.json, created on first start)")
      ->envname("GUTS_GENESIS_FILE");
  app.add_option("--public-url", config.public_url, "URL clients use to reach this node (default http://<api-addr>)")
      ->envname("GUTS_PUBLIC_URL");
  app.add_option("--bootstrap", config.bootstrap, "Bootstrap peer did:key:...@host:port (repeatable)")
      ->envname("GUTS_BOOTSTRAP");
  app.add_flag("--validator,!--no-validator", config.validator, "Run as a validator");
  app.add_option("--log-level", config.log_level, "trace|debug|info|warn|error")->envname("GUTS_LOG_LEVEL")->capture_default_str();
  app.add_option("--port-file", config.port_file, "Write the bound API port to this file");
  app.add_option("--max-block-txs", config.max_block_txs, "Maximum transactions per block")->capture_default_str();
  app.add_option("--api-threads", config.api_threads, "HTTP I/O threads")->capture_default_str();

  app.fallthrough();  // global options may follow the subcommand (inherited by subcommands)
  auto* check = app.add_subcommand("check", "Re-execute the stored chain from genesis and verify every state root");
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);

  init_logging(config.log_level);
  try {
    if (check->parsed()) return check_chain(config.data_dir, config.genesis_file);
    return run_node(config);
  } catch (const std::exception& e) {
    std::cerr << "guts-node: " << e.what() << "\n";
    return 1;
  }
}
