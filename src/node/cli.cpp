// guts-node's command line (node/cli.h): the Guts daemon. `guts-node` runs a node (a one-validator
// network on first start, API on 127.0.0.1:8080, data in ./data); `guts-node check` re-executes the
// stored chain from genesis and compares state roots.
#include "node/cli.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

#include "consensus/signing_guard.h"
#include "core/log.h"
#include "core/net_addr.h"
#include "core/status.h"
#include "core/time.h"
#include "crypto/did.h"
#include "crypto/hash.h"
#include "crypto/keyfile.h"
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
  auto scratch =
      std::filesystem::temp_directory_path() / ("guts-check-" + std::to_string(::getpid()));
  auto root = state::Chain::replay(*db, genesis, scratch);
  std::filesystem::remove_all(scratch);
  std::cout << "height " << head.height << "\nstate_root " << hex_encode(root) << "\nreplay ok\n";
  return 0;
}

struct InitGenesisOptions {
  int validators = 4;
  std::filesystem::path out;
  std::string host = "127.0.0.1";
  std::string chain_id;
  uint64_t leader_timeout_ms = 1000;
  uint64_t certification_timeout_ms = 2000;
  uint64_t timeout_retry_ms = 10000;
  std::vector<std::string> accounts;      // "<username>=<did:key:…>"
  std::vector<std::string> repositories;  // "<username>/<name>"
};

// Genesis accounts from --account username=did and --repository username/name.
std::vector<state::GenesisAccount> genesis_accounts(const InitGenesisOptions& o) {
  std::vector<state::GenesisAccount> out;
  for (const auto& a : o.accounts) {
    auto eq = a.find('=');
    auto key = eq == std::string::npos ? std::nullopt : crypto::parse_did(a.substr(eq + 1));
    if (!key)
      throw Error(Code::kInvalidArgument, "--account '" + a + "' must be <username>=<did:key:…>");
    out.push_back({*key, a.substr(0, eq), {}});
  }
  for (const auto& r : o.repositories) {
    auto slash = r.find('/');
    auto it = std::find_if(out.begin(), out.end(), [&](const state::GenesisAccount& x) {
      return slash != std::string::npos && x.username == r.substr(0, slash);
    });
    if (it == out.end())
      throw Error(Code::kInvalidArgument,
                  "--repository '" + r + "' must be <username>/<name> of an --account");
    it->repositories.push_back(r.substr(slash + 1));
  }
  return out;
}

// Writes <out>/genesis.json listing N validators with fresh node keys (<out>/node<i>/node.key,
// mode 0600) and loopback p2p addresses on free ports: a local network for tests and demos.
int init_genesis(const InitGenesisOptions& o) {
  if (o.validators < 1 || o.validators > 100)
    throw Error(Code::kInvalidArgument, "--validators must be 1..100");
  if (std::filesystem::exists(o.out / "genesis.json"))
    throw Error(Code::kConflict, (o.out / "genesis.json").string() + " already exists");
  std::filesystem::create_directories(o.out);
  state::Genesis g;
  g.chain_id =
      o.chain_id.empty() ? "guts-devnet-" + hex_encode(crypto::random_array<4>()) : o.chain_id;
  g.genesis_time_ms = unix_millis();
  g.leader_timeout_ms = o.leader_timeout_ms;
  g.certification_timeout_ms = o.certification_timeout_ms;
  g.timeout_retry_ms = o.timeout_retry_ms;
  g.accounts = genesis_accounts(o);
  if (!g.accounts.empty()) {
    // Apply the accounts once here, so that a taken or malformed name fails now rather than
    // on every node's first start.
    auto scratch = std::filesystem::temp_directory_path() /
                   ("guts-init-genesis-" + std::to_string(::getpid()));
    try {
      auto db = storage::Db::open(scratch, state::Schema::families());
      state::Chain check(*db, g);
    } catch (...) {
      std::filesystem::remove_all(scratch);
      throw;
    }
    std::filesystem::remove_all(scratch);
  }
  auto ports = pick_free_ports(static_cast<size_t>(o.validators));
  for (int i = 0; i < o.validators; ++i) {
    auto dir = o.out / ("node" + std::to_string(i));
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
    auto key = crypto::create_key_file(dir / "node.key");
    consensus::init_fresh_guard(dir / "consensus");  // a new key has signed nothing
    g.validators.push_back({key.public_key(), o.host + ":" + std::to_string(ports[i])});
  }
  g.save(o.out / "genesis.json");
  std::cout << "chain " << g.chain_id << "\ngenesis " << (o.out / "genesis.json").string() << "\n";
  for (int i = 0; i < o.validators; ++i)
    std::cout << "node" << i << " " << crypto::did_from_key(g.validators[i].key) << " p2p "
              << g.validators[i].p2p_address << " data-dir "
              << (o.out / ("node" + std::to_string(i))).string() << "\n";
  return 0;
}

}  // namespace

int guts::node::run_cli(int argc, char** argv, TestSeams seams) {
  CLI::App app{
      "guts-node: a Guts node (git hosting and collaboration replicated by BFT consensus)"};
  app.set_config("--config", "", "Read options from a TOML/INI config file");
  node::NodeConfig config;
  config.seams = std::move(seams);
  app.add_option("--api-addr", config.api_addr, "API and web address (host:port)")
      ->envname("GUTS_API_ADDR")
      ->capture_default_str();
  app.add_option("--p2p-addr", config.p2p_addr, "Peer-to-peer address (host:port)")
      ->envname("GUTS_P2P_ADDR")
      ->capture_default_str();
  app.add_option("--data-dir", config.data_dir, "Data directory")
      ->envname("GUTS_DATA_DIR")
      ->capture_default_str();
  app.add_option("--genesis-file", config.genesis_file,
                 "Genesis file (default: <data-dir>/genesis.json, created on first start)")
      ->envname("GUTS_GENESIS_FILE");
  app.add_option("--public-url", config.public_url,
                 "URL clients use to reach this node (default http://<api-addr>)")
      ->envname("GUTS_PUBLIC_URL");
  app.add_option("--bootstrap", config.bootstrap,
                 "Bootstrap peer did:key:...@host:port (repeatable)")
      ->envname("GUTS_BOOTSTRAP");
  app.add_option("--external-addr", config.external_addr,
                 "p2p address announced to other nodes, host:port (repeatable; default: --p2p-addr "
                 "unless it is 0.0.0.0 or ::)")
      ->envname("GUTS_EXTERNAL_ADDR");
  app.add_flag("--validator,!--no-validator", config.validator,
               "Run as a validator (default); --no-validator runs a full node that follows the "
               "network of --genesis-file");
  app.add_option("--seed", config.seed,
                 "Full nodes: repositories to host: all (default), repo:<owner>/<name>, "
                 "follow:<did> (repeatable)")
      ->envname("GUTS_SEED");
  app.add_option("--log-level", config.log_level, "trace|debug|info|warn|error")
      ->envname("GUTS_LOG_LEVEL")
      ->capture_default_str();
  app.add_option("--port-file", config.port_file, "Write the bound API port to this file");
  app.add_option("--max-block-txs", config.max_block_txs, "Maximum transactions per block")
      ->capture_default_str();
  app.add_option("--api-threads", config.api_threads, "HTTP I/O threads")->capture_default_str();
  app.add_flag("--maintenance,!--no-maintenance", config.maintenance,
               "Repository maintenance in the background (default on; docs/maintenance.md)");
  app.add_option("--maintenance-interval-ms", config.maintenance_interval_ms,
                 "Maintenance scan interval; a repository is repacked at most this often")
      ->envname("GUTS_MAINTENANCE_INTERVAL_MS")
      ->check(CLI::Range(uint64_t{100}, uint64_t{86400000}))
      ->capture_default_str();
  app.add_option("--maintenance-concurrency", config.maintenance_concurrency,
                 "Maintenance git tasks at a time")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option("--maintenance-prune-window-hours", config.maintenance_prune_window_hours,
                 "Unreachable loose objects younger than this are never pruned")
      ->check(CLI::Range(uint64_t{1}, uint64_t{24 * 365 * 10}))
      ->capture_default_str();

  app.fallthrough();  // global options may follow the subcommand (inherited by subcommands)
  auto* check = app.add_subcommand(
      "check", "Re-execute the stored chain from genesis and verify every state root");
  InitGenesisOptions ig;
  auto* init = app.add_subcommand(
      "init-genesis", "Write a genesis for a local network of N validators with fresh keys");
  init->add_option("--validators", ig.validators, "Number of validators")->capture_default_str();
  init->add_option("--out", ig.out, "Output directory (genesis.json, node<i>/node.key)")
      ->required();
  init->add_option("--host", ig.host, "Host of the validators' p2p addresses")
      ->capture_default_str();
  init->add_option("--chain-id", ig.chain_id, "Chain id (default: guts-devnet-<random>)");
  init->add_option("--leader-timeout-ms", ig.leader_timeout_ms, "Consensus leader timeout")
      ->capture_default_str();
  init->add_option("--certification-timeout-ms", ig.certification_timeout_ms,
                   "Consensus certification timeout")
      ->capture_default_str();
  init->add_option("--timeout-retry-ms", ig.timeout_retry_ms, "Nullify retry interval")
      ->capture_default_str();
  init->add_option("--account", ig.accounts,
                   "An identity registered at genesis: <username>=<did:key:…> (repeatable)");
  init->add_option(
      "--repository", ig.repositories,
      "A repository created at genesis: <username>/<name> of an --account (repeatable)");
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);

  init_logging(config.log_level);
  try {
    if (check->parsed()) return check_chain(config.data_dir, config.genesis_file);
    if (init->parsed()) return init_genesis(ig);
    return run_node(config);
  } catch (const std::exception& e) {
    std::cerr << "guts-node: " << e.what() << "\n";
    return 1;
  }
}
