// guts-node's command line (node/cli.h): the Guts daemon. `guts-node` runs a node (a one-validator
// network on first start, API on 127.0.0.1:8080, data in ./data); `guts-node check` re-executes the
// stored chain from genesis and compares state roots; `guts-node config check` validates and prints
// the configuration (options: node/config.h; docs/configuration.md); `guts-node backup` and
// `guts-node restore` write and restore backups (node/backup.h; docs/operator.md).
#include "node/cli.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <ctime>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "consensus/signing_guard.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/net_addr.h"
#include "core/status.h"
#include "core/time.h"
#include "core/version.h"
#include "crypto/did.h"
#include "crypto/hash.h"
#include "crypto/keyfile.h"
#include "node/backup.h"
#include "node/node.h"
#include "node/sd_notify.h"
#include "state/chain.h"
#include "state/migrations.h"
#include "storage/db.h"

using namespace guts;

namespace {

int run_node(node::NodeConfig config) {
  // Block the signals before any thread starts so that only sigwait() receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);  // reload the TLS certificate and key (docs/operator.md)
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  node::Node n(config);
  n.start();
  // systemd (Type=notify): ready once the API serves; watchdog pings from this thread, which
  // otherwise only waits for a signal (node/sd_notify.h).
  auto notify = node::SdNotify::from_environment();
  notify.send("READY=1\nSTATUS=serving on port " + std::to_string(n.api_port()));
  auto interval = notify.watchdog_interval();
  int sig = 0;
  while (true) {
    if (!interval) {
      sigwait(&set, &sig);
    } else {
      timespec ts{};
      ts.tv_sec = static_cast<time_t>(interval->count() / 1000000);
      ts.tv_nsec = static_cast<long>((interval->count() % 1000000) * 1000);
      sig = sigtimedwait(&set, nullptr, &ts);
      if (sig <= 0) {
        notify.send("WATCHDOG=1");
        continue;
      }
    }
    if (sig != SIGHUP) break;
    spdlog::info("received SIGHUP, reloading");
    n.reload();
  }
  spdlog::info("received signal {}, shutting down", sig);
  notify.send("STOPPING=1");
  n.stop();
  return 0;
}

int check_chain(const std::filesystem::path& data_dir, std::filesystem::path genesis_file) {
  if (genesis_file.empty()) genesis_file = data_dir / "genesis.json";
  auto genesis = state::Genesis::load(genesis_file);
  auto db = state::open_state_db(data_dir / "db");  // refuses a newer storage version
  state::Chain chain(*db, genesis);
  auto head = chain.head();
  auto scratch =
      std::filesystem::temp_directory_path() / ("guts-check-" + std::to_string(::getpid()));
  auto root = state::Chain::replay(*db, genesis, scratch);
  std::filesystem::remove_all(scratch);
  std::cout << "height " << head.height << "\nstate_root " << hex_encode(root) << "\nreplay ok\n";
  return 0;
}

struct BackupCliOptions {
  std::filesystem::path out;
  bool include_keys = false;
  bool offline = false;
  std::string api;  // the node's API URL; default: from --api-addr (or --port-file)
};

// The URL of the local node's API, from its configuration.
std::string local_api_url(const node::NodeConfig& c) {
  auto [host, port] = node::split_host_port(c.api_addr);
  if (!c.port_file.empty() && std::filesystem::exists(c.port_file)) {  // the bound port
    auto text = read_file(c.port_file, 64);
    port = static_cast<uint16_t>(std::stoul(std::string(text.begin(), text.end())));
  }
  if (port == 0)
    throw Error(Code::kInvalidArgument,
                "the node's API port is not known (--api-addr has port 0): pass --api <url>");
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port);
}

int backup_cmd(const node::NodeConfig& c, const BackupCliOptions& o) {
  node::BackupOptions bo;
  bo.out = std::filesystem::absolute(o.out);
  bo.include_keys = o.include_keys;
  if (o.include_keys)
    std::cerr << "guts-node: warning: the backup holds the node's private key (node.key, mode "
                 "0600): store it as a secret\n";
  std::string summary =
      o.offline ? node::backup_summary_json(node::backup_offline(c.data_dir, c.genesis_file, bo))
                : node::request_backup(o.api.empty() ? local_api_url(c) : o.api,
                                       std::filesystem::absolute(c.data_dir), bo);
  auto j = nlohmann::json::parse(summary);
  std::cout << "backup " << j["dir"].get<std::string>() << "\nheight " << j["height"]
            << "\nstate_root " << j["state_root"].get<std::string>() << "\nfiles " << j["files"]
            << "\nbytes " << j["bytes"] << "\nrepositories " << j["repositories"] << "\n";
  return 0;
}

int restore_cmd(const node::NodeConfig& c, const node::RestoreOptions& given, bool verify_only) {
  if (verify_only) {
    auto m = node::verify_backup(given.from);
    std::cout << "backup " << given.from.string() << "\nheight " << m.height << "\nstate_root "
              << m.state_root << "\nfiles " << m.files.size() << "\nverify ok\n";
    return 0;
  }
  node::RestoreOptions o = given;
  o.data_dir = c.data_dir;
  auto m = node::restore_backup(o);
  std::cout << "restored " << std::filesystem::absolute(c.data_dir).string() << "\nheight "
            << m.height << "\nstate_root " << m.state_root << "\n";
  if (!m.includes_keys && o.key_file.empty())
    std::cerr << "guts-node: the backup holds no node key: put the node's node.key into the data "
                 "directory before the first start (a node started without one makes a new "
                 "identity)\n";
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
  std::vector<std::string> p2p_addrs;     // --validator-addr: validator i's p2p host:port
  std::string governance;                 // the governing organization's login ("": none)
  std::vector<std::string> owners;        // its owners: usernames of --account
  uint64_t epoch_length = 0;
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
  if (!o.p2p_addrs.empty() && o.p2p_addrs.size() != static_cast<size_t>(o.validators))
    throw Error(Code::kInvalidArgument,
                "--validator-addr is given " + std::to_string(o.p2p_addrs.size()) + " times for " +
                    std::to_string(o.validators) + " validators: give it once per validator");
  for (const auto& a : o.p2p_addrs) node::split_host_port(a);
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
  if (o.governance.empty() != o.owners.empty() || o.governance.empty() != (o.epoch_length == 0))
    throw Error(Code::kInvalidArgument,
                "--governance, --owner and --epoch-length go together (a changeable validator "
                "set: docs/governance.md \"Validator set changes\")");
  if (!o.governance.empty()) {
    // The same checks as a genesis file's (state/genesis.cpp), through its JSON form (which
    // needs a validator: ours are only added below, so a stand-in is checked with it).
    auto j = nlohmann::json::parse(g.to_json());
    j["validators"] = nlohmann::json::array(
        {{{"did", crypto::did_from_key(crypto::SigningKey::generate().public_key())}}});
    j["governance"] = {
        {"organization", o.governance}, {"owners", o.owners}, {"epoch_length", o.epoch_length}};
    g.governance = state::Genesis::from_json(j.dump()).governance;
  }
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
    g.validators.push_back({key.public_key(), o.p2p_addrs.empty()
                                                  ? o.host + ":" + std::to_string(ports[i])
                                                  : o.p2p_addrs[static_cast<size_t>(i)]});
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
  node::NodeConfig defaults;
  defaults.seams = std::move(seams);
  // Every option of the table (node/config.h) as a flag; the layering (file, environment) is
  // resolve_config's. Flags are read as text and converted there, so every layer agrees.
  std::string config_file;
  app.add_option("--config", config_file,
                 "Config file (docs/configuration.md); also GUTS_CONFIG. Precedence: defaults < "
                 "file < environment (GUTS_*) < command line");
  std::map<std::string, std::vector<std::string>> list_flags;
  std::map<std::string, std::string> scalar_flags;
  std::map<std::string, bool> bool_flags;
  std::map<std::string, CLI::Option*> flag_options;
  for (const auto& o : node::node_options()) {
    std::string desc = o.help + " [default: " + node::default_text(o) + "] (env " + o.env() + ")";
    if (o.type == node::ConfigValue::Type::kBoolean) {
      bool_flags[o.name] = false;
      flag_options[o.name] =
          app.add_flag("--" + o.name + ",!--no-" + o.name, bool_flags[o.name], desc);
    } else if (o.type == node::ConfigValue::Type::kStringArray) {
      flag_options[o.name] =
          app.add_option("--" + o.name, list_flags[o.name], desc + " (repeatable)");
    } else {
      flag_options[o.name] = app.add_option("--" + o.name, scalar_flags[o.name], desc);
    }
  }

  app.set_version_flag("--version", version::describe("guts-node"),
                       "Print the software, p2p protocol, storage and format versions and exit");
  app.fallthrough();  // global options may follow the subcommand (inherited by subcommands)
  auto* check = app.add_subcommand(
      "check", "Re-execute the stored chain from genesis and verify every state root");
  auto* config_cmd = app.add_subcommand("config", "Configuration commands");
  auto* config_check = config_cmd->add_subcommand(
      "check", "Validate the configuration and print the effective one (no secrets)");
  auto* config_reference = config_cmd->add_subcommand(
      "reference", "Print the option reference of docs/configuration.md (Markdown)");
  config_cmd->require_subcommand(1);
  InitGenesisOptions ig;
  auto* init = app.add_subcommand(
      "init-genesis", "Write a genesis for a local network of N validators with fresh keys");
  init->add_option("--validators", ig.validators, "Number of validators")->capture_default_str();
  init->add_option("--out", ig.out, "Output directory (genesis.json, node<i>/node.key)")
      ->required();
  init->add_option("--host", ig.host, "Host of the validators' p2p addresses")
      ->capture_default_str();
  init->add_option("--validator-addr", ig.p2p_addrs,
                   "p2p address (host:port) of validator i, once per validator in order "
                   "(deployments: deploy/docker/init-network.sh); default: --host and free "
                   "loopback ports");
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
  init->add_option("--governance", ig.governance,
                   "The organization whose owners may change the validator set (created at "
                   "genesis)");
  init->add_option("--owner", ig.owners,
                   "An owner of the --governance organization: the username of an --account "
                   "(repeatable; the first creates it)");
  init->add_option("--epoch-length", ig.epoch_length,
                   "Blocks per epoch: the validator set may change at multiples of it");
  BackupCliOptions bk;
  auto* backup = app.add_subcommand(
      "backup",
      "Write a consistent backup of the node (running: through its API; stopped: --offline)");
  backup->add_option("--out", bk.out, "Backup directory (must not exist, or be empty)")->required();
  backup->add_flag("--include-keys", bk.include_keys,
                   "Also copy node.key (a secret) into the backup");
  backup->add_flag("--offline", bk.offline, "Back up a stopped node's data directory directly");
  backup->add_option("--api", bk.api,
                     "URL of the running node's API (default: from --api-addr or --port-file)");
  node::RestoreOptions rs;
  bool verify_only = false;
  auto* restore = app.add_subcommand(
      "restore", "Restore a backup into a new data directory (--data-dir: absent or empty)");
  restore->add_option("--from", rs.from, "Backup directory")->required();
  restore->add_option("--key", rs.key_file,
                      "The node key to install (for a backup made without --include-keys)");
  restore->add_flag("--verify-only", verify_only,
                    "Check the backup's manifest and every file's checksum; write nothing");
  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);
  if (config_reference->parsed()) {
    std::cout << node::options_reference_markdown();
    return 0;
  }

  // The effective configuration; a bad one refuses to start (exit 2) before anything is
  // written (deploy/systemd/guts-node.service does not restart on 2).
  node::EffectiveConfig effective;
  try {
    node::ConfigInputs in;
    in.env = node::option_environment();
    if (!config_file.empty())
      in.file = config_file;
    else if (in.env.count("GUTS_CONFIG"))
      in.file = in.env["GUTS_CONFIG"];
    for (const auto& o : node::node_options()) {
      if (flag_options[o.name]->count() == 0) continue;
      if (o.type == node::ConfigValue::Type::kBoolean)
        in.flags[o.name] = {bool_flags[o.name] ? "true" : "false"};
      else if (o.type == node::ConfigValue::Type::kStringArray)
        in.flags[o.name] = list_flags[o.name];
      else
        in.flags[o.name] = {scalar_flags[o.name]};
    }
    effective = node::resolve_config(std::move(defaults), in);
    if (config_check->parsed() ||
        (!check->parsed() && !init->parsed() && !backup->parsed() && !restore->parsed()))
      node::validate_node_config(effective.config);
  } catch (const std::exception& e) {
    std::cerr << "guts-node: configuration: " << e.what() << "\n";
    return 2;
  }
  if (config_check->parsed()) {
    std::cout << node::render_config(effective) << "# configuration ok\n";
    return 0;
  }
  auto& config = effective.config;
  init_logging(config.log_level, config.log_format);
  try {
    if (check->parsed()) return check_chain(config.data_dir, config.genesis_file);
    if (init->parsed()) return init_genesis(ig);
    if (backup->parsed()) return backup_cmd(config, bk);
    if (restore->parsed()) return restore_cmd(config, rs, verify_only);
    return run_node(config);
  } catch (const std::exception& e) {
    std::cerr << "guts-node: " << e.what() << "\n";
    return 1;
  }
}
