// Node configuration: one table of options (node_options()), each settable by a flag, an
// environment variable (GUTS_*) and a key of the config file (node/config_file.h). Precedence:
// defaults < config file < environment < command line. Reference: docs/configuration.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "crypto/ed25519.h"
#include "finality/relay_core.h"
#include "node/config_file.h"
#include "replication/object_sync.h"

namespace guts::state {
struct Block;
}

namespace guts::node {

// Test seams: behaviour a test double injects (tests/support/byzantine_*.h, used by the
// test-only guts-node-byzantine). Empty in every production node; nothing in src/ reads the
// environment to misbehave.
struct TestSeams {
  // Replaces the bytes of each finalization head this node sends (nullopt: the real one).
  std::function<std::optional<Bytes>(const finality::HeadSend&)> rewrite_finality_heads;
  // Produces the pack this node serves to a peer instead of the honest one.
  replication::ServeOverride serve_packs;
  // Extra consensus votes a validator broadcasts after each vote it sends (encoded votes), signed
  // with its own key in the network's namespace: an equivocating validator.
  std::function<std::vector<Bytes>(const crypto::SigningKey& key, std::string_view ns,
                                   ByteView vote)>
      extra_votes;
  // Rewrites each block this validator builds before it proposes it (a byzantine proposer
  // slipping in a transaction honest validators refuse: tests/network/governance_test.cpp).
  std::function<void(state::Block&)> forge_block;
};

struct NodeConfig {
  std::string api_addr = "127.0.0.1:8080";
  std::string p2p_addr = "127.0.0.1:9000";
  std::filesystem::path data_dir = "data";
  std::filesystem::path genesis_file;      // empty: <data>/genesis.json, created on first start
  std::string public_url;                  // empty: http(s)://<api-addr>
  std::vector<std::string> bootstrap;      // did:key:...@host:port (used by the network layer)
  std::vector<std::string> external_addr;  // p2p host:port announced to peers (default: p2p_addr)
  bool validator = true;
  // Full nodes: which repositories to host (node/seed_policy.h): "all", "repo:<owner>/<name>",
  // "follow:<did>". Empty: all. Validators host everything.
  std::vector<std::string> seed;
  std::string log_level = "info";
  std::string log_format = "text";     // text | json (core/log.h)
  std::vector<std::string> operators;  // DIDs that may read the whole audit log
  std::filesystem::path port_file;     // if set, the bound API port is written here
  size_t max_block_txs = 5000;
  int api_threads = 2;
  // HTTPS on the API port (api/tls_context.h): both or neither; reloaded on SIGHUP.
  std::filesystem::path tls_cert_file;
  std::filesystem::path tls_key_file;
  // Health and metrics (docs/metrics.md).
  bool metrics = true;         // GET /metrics and the HTTP counters
  bool access_log = true;      // one info line per request (health checks and scrapes: debug)
  uint64_t ready_max_lag = 5;  // blocks behind the network still "ready"
  // REST rate limits per hour (api/rate_limit.h; 0: unlimited).
  uint64_t rate_limit_authenticated = 5000;
  uint64_t rate_limit_anonymous = 60;
  // Repository maintenance (git/maintenance.h, docs/maintenance.md).
  bool maintenance = true;
  uint64_t maintenance_interval_ms = 600000;      // periodic scan; repack at most this often
  int maintenance_concurrency = 1;                // git tasks at a time
  uint64_t maintenance_prune_window_hours = 336;  // unreachable loose objects kept (2 weeks)
  // The mempool door's rate limit for low-reputation identities (docs/reputation.md): node-local
  // policy, not consensus. min_reputation 0 turns it off.
  uint64_t door_limit_min_reputation = 10;
  uint64_t door_limit_burst = 500;
  uint64_t door_limit_per_minute = 60;
  // The door's backlog bound (state/backlog_bound.h, docs/design.md "Back-pressure at the
  // door"): a client's transaction is refused (503, Retry-After) while more wait for a block
  // than the network finalized in the last door_max_wait_ms (at least door_min_backlog).
  uint64_t door_max_wait_ms = 2000;  // 0: no bound but the mempool's size
  uint64_t door_min_backlog = 1000;
  // Webhooks (node/webhooks.h, docs/webhooks.md).
  bool webhook_allow_private = false;      // hook URLs on loopback/private addresses
  uint64_t webhook_retry_base_ms = 10000;  // first retry delay; doubles per attempt
  // Search (search/indexer.h, docs/search.md): the node-local index at <data>/search.sqlite.
  bool search = true;
  // Web sign-in (web/session.h, docs/web.md): how long a browser session lives.
  uint64_t web_session_hours = 336;
  // Releases (docs/releases.md): the largest asset an upload to this node may have.
  uint64_t release_asset_max_bytes = uint64_t{2} << 30;
  // Git over SSH (node/ssh_server.h): the port on api-addr's host; 0: off.
  int ssh_port = 0;
  // Git LFS (docs/lfs.md): node-local admission policy of uploads.
  uint64_t lfs_quota_bytes = 10ull << 30;      // per owner, 0: unlimited
  uint64_t lfs_max_object_bytes = 5ull << 30;  // one object
  // Blob garbage collection (node/blob_gc.h, docs/blobs.md): seconds between passes (0: off) and
  // the age under which an unreferenced blob is kept.
  uint64_t blob_gc_interval_seconds = 3600;
  uint64_t blob_gc_grace_seconds = 3600;
  TestSeams seams;
};

// Splits "host:port"; throws guts::Error on malformed input.
std::pair<std::string, uint16_t> split_host_port(const std::string& addr);

// One option of guts-node: flag --<name>, config file key <name>, environment variable
// GUTS_<NAME> (upper case, '-' → '_'). Built with option() below; one line per option in
// node_options() (config.cpp).
struct OptionSpec {
  std::string name;
  std::string help;
  ConfigValue::Type type = ConfigValue::Type::kString;
  int64_t min = 0, max = 0;  // integers: the accepted range
  // The default as documented when the NodeConfig default is a placeholder ("" for a path
  // computed at start); empty: the NodeConfig default, rendered as TOML.
  std::string default_doc;
  bool secret = false;  // `config check` prints <redacted>, never the value
  // Stores a value of `type` (range already checked); throws guts::Error with the problem.
  std::function<void(NodeConfig&, const ConfigValue&)> set;
  std::function<ConfigValue(const NodeConfig&)> get;
  // Extra validation of a value (host:port, a log level, …); throws guts::Error.
  std::function<void(const ConfigValue&)> check;

  std::string env() const;  // GUTS_<NAME>
  // Builders, chained after option(…): .doc_default("…"), .validate(fn), .redacted().
  OptionSpec doc_default(std::string d) &&;
  OptionSpec validate(std::function<void(const ConfigValue&)> fn) &&;
  OptionSpec redacted() &&;
};

OptionSpec option(std::string name, std::string NodeConfig::*field, std::string help);
OptionSpec option(std::string name, std::filesystem::path NodeConfig::*field, std::string help);
OptionSpec option(std::string name, std::vector<std::string> NodeConfig::*field, std::string help);
OptionSpec option(std::string name, bool NodeConfig::*field, std::string help);
OptionSpec integer_option(std::string name, std::string help, int64_t min, int64_t max,
                          std::function<void(NodeConfig&, int64_t)> set,
                          std::function<int64_t(const NodeConfig&)> get);
// Any integer field; values outside [min, max] are refused (min, max must fit the field).
template <class T>
requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) OptionSpec
    option(std::string name, T NodeConfig::*field, std::string help, int64_t min, int64_t max) {
  return integer_option(
      std::move(name), std::move(help), min, max,
      [field](NodeConfig& c, int64_t v) { c.*field = static_cast<T>(v); },
      [field](const NodeConfig& c) { return static_cast<int64_t>(c.*field); });
}

// Every option of guts-node, in the order of --help and docs/configuration.md.
const std::vector<OptionSpec>& node_options();
const OptionSpec* find_option(std::string_view name);

// What the layers give: the config file (empty: none), the environment (GUTS_* variables and
// their values) and the command line (option name → its values in order; a boolean flag's
// value is "true" or "false").
struct ConfigInputs {
  std::filesystem::path file;
  std::map<std::string, std::string> env;
  std::map<std::string, std::vector<std::string>> flags;
};

struct EffectiveConfig {
  NodeConfig config;
  // Where each option's value comes from: "default", "<file>:<line>", "GUTS_X", "--x".
  std::map<std::string, std::string> source;
};

// The GUTS_* variables of the process environment that name an option (GUTS_CONFIG included).
std::map<std::string, std::string> option_environment();

// Applies defaults < file < environment < command line (each value checked; the options together
// are validate_node_config()'s, for the commands that run a node). Throws
// guts::Error naming the file and line and key, the variable or the flag of a bad value, or an
// unknown key of the file. Reads the file; writes nothing.
EffectiveConfig resolve_config(NodeConfig defaults, const ConfigInputs& in);

// Checks across options (a full node needs a genesis file; the TLS certificate and key are
// both given, readable and matching: it reads them, writes nothing). Throws guts::Error.
void validate_node_config(const NodeConfig& config);

// The effective configuration as a config file, each line commented with its source; secrets
// as <redacted>. `table`: node_options() (another table in tests).
std::string render_config(const EffectiveConfig& effective);
std::string render_config(const EffectiveConfig& effective, const std::vector<OptionSpec>& table);

// A value as TOML; an option's default as documented.
std::string render_toml_value(const ConfigValue& v);
std::string default_text(const OptionSpec& o);

// The option reference (Markdown table) of docs/configuration.md, between its markers.
std::string options_reference_markdown();

}  // namespace guts::node
