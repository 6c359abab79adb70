// guts-node's option table and the layering of defaults, config file, environment and command
// line (node/config.h). docs/configuration.md's reference table is generated from here
// (options_reference_markdown(); a test checks the document matches).
#include "node/config.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "api/tls_context.h"
#include "core/status.h"
#include "crypto/did.h"
#include "p2p/address_book.h"
#include "replication/seed_policy.h"

extern char** environ;

namespace guts::node {

namespace {

using Type = ConfigValue::Type;

void check_host_port(const ConfigValue& v) {
  if (v.type == Type::kString) {
    split_host_port(v.string);
    return;
  }
  for (const auto& s : v.strings) split_host_port(s);
}

void check_log_level(const ConfigValue& v) {
  // spdlog's names, and the "warn" and "err" it also accepts.
  static const std::set<std::string> levels = {"trace", "debug", "info",     "warn", "warning",
                                               "error", "err",   "critical", "off"};
  if (!levels.contains(v.string))
    throw Error(Code::kInvalidArgument, "'" + v.string +
                                            "' is not a log level (trace, debug, info, warn, "
                                            "error, critical, off)");
}

void check_log_format(const ConfigValue& v) {
  if (v.string != "text" && v.string != "json")
    throw Error(Code::kInvalidArgument, "'" + v.string + "' is not a log format (text, json)");
}

void check_dids(const ConfigValue& v) {
  for (const auto& s : v.strings)
    if (!crypto::parse_did(s)) throw Error(Code::kInvalidArgument, "'" + s + "' is not a did:key");
}

void check_url(const ConfigValue& v) {
  if (v.string.empty()) return;
  if (v.string.rfind("http://", 0) != 0 && v.string.rfind("https://", 0) != 0)
    throw Error(Code::kInvalidArgument, "'" + v.string + "' must start with http:// or https://");
}

void check_bootstrap(const ConfigValue& v) {
  for (const auto& s : v.strings) p2p::parse_bootstrap(s);
}

void check_seed(const ConfigValue& v) {
  replication::parse_seed_policy(v.strings);
}

void check_not_empty(const ConfigValue& v) {
  if (v.string.empty()) throw Error(Code::kInvalidArgument, "must not be empty");
}

}  // namespace

// The options of guts-node. Adding one: a field in NodeConfig (config.h) and one line here;
// the flag, the environment variable, the config key, `config check` and the reference in
// docs/configuration.md (regenerate it: see that document) follow.
const std::vector<OptionSpec>& node_options() {
  static const std::vector<OptionSpec> table = {
      option("api-addr", &NodeConfig::api_addr,
             "API and web address (host:port); port 0 picks a free port")
          .validate(check_host_port),
      option("p2p-addr", &NodeConfig::p2p_addr, "Peer-to-peer address (host:port)")
          .validate(check_host_port),
      option("data-dir", &NodeConfig::data_dir, "Data directory (keys, database, repositories)")
          .validate(check_not_empty),
      option("genesis-file", &NodeConfig::genesis_file,
             "Genesis file: the network's definition (created on first start when not given)")
          .doc_default("<data-dir>/genesis.json"),
      option("public-url", &NodeConfig::public_url,
             "URL clients use to reach this node, written into API responses")
          .doc_default("http(s)://<api-addr>")
          .validate(check_url),
      option("bootstrap", &NodeConfig::bootstrap, "Bootstrap peers: did:key:…@host:port")
          .validate(check_bootstrap),
      option("external-addr", &NodeConfig::external_addr,
             "p2p addresses (host:port) announced to other nodes; default: p2p-addr unless it is "
             "0.0.0.0 or ::")
          .validate(check_host_port),
      option("validator", &NodeConfig::validator,
             "Run as a validator (listed in the genesis); false runs a full node that follows "
             "the network of genesis-file (flag: --no-validator)"),
      option("seed", &NodeConfig::seed,
             "Full nodes: repositories to host: all, repo:<owner>/<name>, follow:<did> "
             "(docs/operator.md)")
          .doc_default("[\"all\"]")
          .validate(check_seed),
      option("log-level", &NodeConfig::log_level,
             "trace, debug, info, warn, error, critical or off")
          .validate(check_log_level),
      option("log-format", &NodeConfig::log_format,
             "text, or json: one JSON object per line (docs/operator.md#logs)")
          .validate(check_log_format),
      option("operators", &NodeConfig::operators,
             "Identities (did:key:…) that may read this node's whole audit log "
             "(GET /api/guts/audit; docs/audit.md)")
          .validate(check_dids),
      option("port-file", &NodeConfig::port_file,
             "Write the bound API port to this file once listening (scripts and tests)"),
      option("max-block-txs", &NodeConfig::max_block_txs, "Maximum transactions per block", 1,
             100000),
      option("api-threads", &NodeConfig::api_threads, "HTTP I/O threads", 1, 256),
      option("tls-cert-file", &NodeConfig::tls_cert_file,
             "HTTPS (TLS 1.3) on the API port: PEM certificate, then its intermediates; with "
             "tls-key-file; reread on SIGHUP (docs/operator.md)"),
      option("tls-key-file", &NodeConfig::tls_key_file,
             "HTTPS: the unencrypted PEM private key of tls-cert-file; reread on SIGHUP"),
      option("metrics", &NodeConfig::metrics,
             "Serve GET /metrics (Prometheus) and count requests (docs/metrics.md; flag: "
             "--no-metrics)"),
      option("access-log", &NodeConfig::access_log,
             "Log one line per HTTP request at info level, never query strings or headers (flag: "
             "--no-access-log)"),
      option("ready-max-lag", &NodeConfig::ready_max_lag,
             "Blocks behind the network that GET /health/ready still counts as caught up", 0,
             1000000),
      option("rate-limit-authenticated", &NodeConfig::rate_limit_authenticated,
             "REST requests per hour per token (/api/v3; GitHub's X-RateLimit-*; 0: unlimited; "
             "docs/api.md#rate-limits)",
             0, 100000000),
      option("rate-limit-anonymous", &NodeConfig::rate_limit_anonymous,
             "REST requests per hour per IP address without a token (0: unlimited)", 0, 100000000),
      option("maintenance", &NodeConfig::maintenance,
             "Repository maintenance in the background (docs/maintenance.md; flag: "
             "--no-maintenance)"),
      option("maintenance-interval-ms", &NodeConfig::maintenance_interval_ms,
             "Maintenance scan interval; a repository is repacked at most this often", 100,
             86400000),
      option("maintenance-concurrency", &NodeConfig::maintenance_concurrency,
             "Maintenance git tasks at a time", 1, 16),
      option("maintenance-prune-window-hours", &NodeConfig::maintenance_prune_window_hours,
             "Unreachable loose objects younger than this are never pruned", 1, 87600),
      option("door-limit-min-reputation", &NodeConfig::door_limit_min_reputation,
             "Identities whose reputation is below this get a rate limit on transactions at this "
             "node's door (429; node-local policy; 0: off; docs/reputation.md)",
             0, 1000000),
      option("door-limit-burst", &NodeConfig::door_limit_burst,
             "Door rate limit: transactions a limited identity may send at once", 1, 1000000),
      option("door-limit-per-minute", &NodeConfig::door_limit_per_minute,
             "Door rate limit: transactions per minute a limited identity regains", 1, 1000000),
      option("door-max-wait-ms", &NodeConfig::door_max_wait_ms,
             "Refuse a client's transaction (503, Retry-After) while more wait for a block than "
             "the network finalized in this long (0: only the mempool's size bound; "
             "docs/design.md)",
             0, 600000),
      option("door-min-backlog", &NodeConfig::door_min_backlog,
             "The door never refuses for the backlog while fewer than this many transactions "
             "wait",
             1, 100000),
      option("webhook-allow-private", &NodeConfig::webhook_allow_private,
             "Allow webhook URLs on loopback, private and link-local addresses (docs/webhooks.md)"),
      option("webhook-retry-base-ms", &NodeConfig::webhook_retry_base_ms,
             "First webhook retry delay; doubles per attempt, 5 attempts", 10, 3600000),
      option("search", &NodeConfig::search,
             "Full-text search index of repositories, issues and code (docs/search.md; flag: "
             "--no-search)"),
      option("web-session-hours", &NodeConfig::web_session_hours,
             "How long a browser session lasts after sign-in (docs/web.md#sign-in-and-sessions)", 1,
             8760),
      option("release-asset-max-bytes", &NodeConfig::release_asset_max_bytes,
             "Largest release asset an upload to this node may have (413 above; at most 2 GiB; "
             "docs/releases.md)",
             1, int64_t{2} << 30),
      option("ssh-port", &NodeConfig::ssh_port,
             "Git over SSH on this port, on api-addr's host (0: off; docs/git.md#git-over-ssh)", 0,
             65535),
      option("lfs-quota-bytes", &NodeConfig::lfs_quota_bytes,
             "Git LFS storage per owner (all its repositories) this node accepts uploads up to "
             "(413 beyond; 0: unlimited; docs/lfs.md)",
             0, uint64_t{1} << 50),
      option("lfs-max-object-bytes", &NodeConfig::lfs_max_object_bytes,
             "Largest Git LFS object this node accepts", 1, uint64_t{1} << 40),
      option("blob-gc-interval-seconds", &NodeConfig::blob_gc_interval_seconds,
             "Seconds between passes of the blob garbage collector, which removes LFS objects, "
             "release assets, CI logs and artifacts no state refers to any more (0: off; "
             "docs/blobs.md#garbage-collection)",
             0, 86400 * 30),
      option("blob-gc-grace-seconds", &NodeConfig::blob_gc_grace_seconds,
             "An unreferenced blob younger than this is kept (an upload whose transaction is not "
             "final yet)",
             0, 86400 * 30),
  };
  return table;
}

const OptionSpec* find_option(std::string_view name) {
  for (const auto& o : node_options())
    if (o.name == name) return &o;
  return nullptr;
}

std::string OptionSpec::env() const {
  std::string e = "GUTS_";
  for (char c : name) e += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return e;
}

OptionSpec OptionSpec::doc_default(std::string d) && {
  default_doc = std::move(d);
  return std::move(*this);
}

OptionSpec OptionSpec::validate(std::function<void(const ConfigValue&)> fn) && {
  check = std::move(fn);
  return std::move(*this);
}

OptionSpec OptionSpec::redacted() && {
  secret = true;
  return std::move(*this);
}

OptionSpec option(std::string name, std::string NodeConfig::*field, std::string help) {
  OptionSpec o{.name = std::move(name), .help = std::move(help), .type = Type::kString};
  o.set = [field](NodeConfig& c, const ConfigValue& v) { c.*field = v.string; };
  o.get = [field](const NodeConfig& c) {
    ConfigValue v;
    v.string = c.*field;
    return v;
  };
  return o;
}

OptionSpec option(std::string name, std::filesystem::path NodeConfig::*field, std::string help) {
  OptionSpec o{.name = std::move(name), .help = std::move(help), .type = Type::kString};
  o.set = [field](NodeConfig& c, const ConfigValue& v) { c.*field = v.string; };
  o.get = [field](const NodeConfig& c) {
    ConfigValue v;
    v.string = (c.*field).string();
    return v;
  };
  return o;
}

OptionSpec option(std::string name, std::vector<std::string> NodeConfig::*field, std::string help) {
  OptionSpec o{.name = std::move(name), .help = std::move(help), .type = Type::kStringArray};
  o.set = [field](NodeConfig& c, const ConfigValue& v) { c.*field = v.strings; };
  o.get = [field](const NodeConfig& c) {
    ConfigValue v;
    v.type = Type::kStringArray;
    v.strings = c.*field;
    return v;
  };
  return o;
}

OptionSpec option(std::string name, bool NodeConfig::*field, std::string help) {
  OptionSpec o{.name = std::move(name), .help = std::move(help), .type = Type::kBoolean};
  o.set = [field](NodeConfig& c, const ConfigValue& v) { c.*field = v.boolean; };
  o.get = [field](const NodeConfig& c) {
    ConfigValue v;
    v.type = Type::kBoolean;
    v.boolean = c.*field;
    return v;
  };
  return o;
}

OptionSpec integer_option(std::string name, std::string help, int64_t min, int64_t max,
                          std::function<void(NodeConfig&, int64_t)> set,
                          std::function<int64_t(const NodeConfig&)> get) {
  OptionSpec o{.name = std::move(name),
               .help = std::move(help),
               .type = Type::kInteger,
               .min = min,
               .max = max};
  o.set = [set = std::move(set)](NodeConfig& c, const ConfigValue& v) { set(c, v.integer); };
  o.get = [get = std::move(get)](const NodeConfig& c) {
    ConfigValue v;
    v.type = Type::kInteger;
    v.integer = get(c);
    return v;
  };
  return o;
}

namespace {

// A value for `o` from a string (the environment or the command line). Lists: one flag per
// item; in the environment, comma-separated items.
ConfigValue value_from_text(const OptionSpec& o, const std::vector<std::string>& texts,
                            bool split_commas) {
  ConfigValue v;
  v.type = o.type;
  const std::string& t = texts.back();  // a repeated scalar flag: the last one wins
  switch (o.type) {
    case Type::kString:
      v.string = t;
      break;
    case Type::kStringArray:
      for (const auto& item : texts) {
        if (!split_commas) {
          v.strings.push_back(item);
          continue;
        }
        size_t start = 0;
        while (start <= item.size()) {
          size_t comma = item.find(',', start);
          if (comma == std::string::npos) comma = item.size();
          auto part = item.substr(start, comma - start);
          auto b = part.find_first_not_of(" \t");
          auto e = part.find_last_not_of(" \t");
          if (b != std::string::npos) v.strings.push_back(part.substr(b, e - b + 1));
          start = comma + 1;
        }
      }
      break;
    case Type::kBoolean:
      if (t == "true" || t == "1" || t == "yes" || t == "on")
        v.boolean = true;
      else if (t == "false" || t == "0" || t == "no" || t == "off")
        v.boolean = false;
      else
        throw Error(Code::kInvalidArgument, "expected true or false, found '" + t + "'");
      break;
    case Type::kInteger: {
      // The config file's integer syntax, so that every layer agrees.
      std::vector<ConfigEntry> parsed;
      try {
        parsed = parse_config_text("v = " + t, "value");
      } catch (const Error&) {
      }
      if (parsed.size() != 1 || parsed[0].value.type != Type::kInteger)
        throw Error(Code::kInvalidArgument, "expected an integer, found '" + t + "'");
      v.integer = parsed[0].value.integer;
      break;
    }
  }
  return v;
}

void apply(const OptionSpec& o, ConfigValue v, NodeConfig& config) {
  // A single string where a list is expected: a list of one.
  if (o.type == Type::kStringArray && v.type == Type::kString) {
    v.type = Type::kStringArray;
    v.strings = {v.string};
  }
  if (v.type != o.type)
    throw Error(Code::kInvalidArgument, "expected " + std::string(describe(o.type)) + ", found " +
                                            std::string(describe(v.type)));
  if (o.type == Type::kInteger && (v.integer < o.min || v.integer > o.max))
    throw Error(Code::kInvalidArgument, std::to_string(v.integer) + " is out of range (" +
                                            std::to_string(o.min) + ".." + std::to_string(o.max) +
                                            ")");
  if (o.check) o.check(v);
  o.set(config, v);
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string suggestion(const std::string& key) {
  std::string dashed = key;
  std::replace(dashed.begin(), dashed.end(), '_', '-');
  std::transform(dashed.begin(), dashed.end(), dashed.begin(),
                 [](char c) { return static_cast<char>(std::tolower(c)); });
  const OptionSpec* best = nullptr;
  size_t best_d = 3;
  for (const auto& o : node_options()) {
    size_t d = edit_distance(dashed, o.name);
    if (d < best_d) best = &o, best_d = d;
  }
  return best ? " (did you mean '" + best->name + "'?)" : "";
}

}  // namespace

std::string render_toml_value(const ConfigValue& v) {
  switch (v.type) {
    case Type::kString:
      return toml_quote(v.string);
    case Type::kInteger:
      return std::to_string(v.integer);
    case Type::kBoolean:
      return v.boolean ? "true" : "false";
    case Type::kStringArray: {
      std::string out = "[";
      for (size_t i = 0; i < v.strings.size(); ++i)
        out += (i ? ", " : "") + toml_quote(v.strings[i]);
      return out + "]";
    }
  }
  return "";
}

std::string default_text(const OptionSpec& o) {
  return o.default_doc.empty() ? render_toml_value(o.get(NodeConfig{})) : o.default_doc;
}

std::map<std::string, std::string> option_environment() {
  std::map<std::string, std::string> out;
  std::set<std::string> names = {"GUTS_CONFIG"};
  for (const auto& o : node_options()) names.insert(o.env());
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string k(kv.substr(0, eq));
    if (names.contains(k)) out[k] = std::string(kv.substr(eq + 1));
  }
  return out;
}

EffectiveConfig resolve_config(NodeConfig defaults, const ConfigInputs& in) {
  EffectiveConfig eff;
  eff.config = std::move(defaults);
  for (const auto& o : node_options()) eff.source[o.name] = "default";
  if (!in.file.empty()) {
    const std::string fname = in.file.string();
    for (auto& e : parse_config_file(in.file)) {
      const std::string where = fname + ":" + std::to_string(e.line);
      const OptionSpec* o = find_option(e.key);
      if (!o)
        throw Error(Code::kInvalidArgument,
                    where + ": unknown key '" + e.key + "'" + suggestion(e.key) +
                        "; the keys are the options of docs/configuration.md");
      try {
        apply(*o, std::move(e.value), eff.config);
      } catch (const Error& err) {
        throw Error(Code::kInvalidArgument, where + ": key '" + e.key + "': " + err.what());
      }
      eff.source[o->name] = where;
    }
  }
  for (const auto& o : node_options()) {
    auto it = in.env.find(o.env());
    if (it == in.env.end()) continue;
    try {
      apply(o, value_from_text(o, {it->second}, true), eff.config);
    } catch (const Error& err) {
      throw Error(Code::kInvalidArgument,
                  "environment variable " + o.env() + ": " + std::string(err.what()));
    }
    eff.source[o.name] = o.env();
  }
  for (const auto& [name, values] : in.flags) {
    const OptionSpec* o = find_option(name);
    if (!o || values.empty()) continue;
    try {
      apply(*o, value_from_text(*o, values, false), eff.config);
    } catch (const Error& err) {
      throw Error(Code::kInvalidArgument, "--" + name + ": " + std::string(err.what()));
    }
    eff.source[o->name] = "--" + name;
  }
  return eff;
}

void validate_node_config(const NodeConfig& c) {
  if (!c.validator && c.genesis_file.empty())
    throw Error(Code::kInvalidArgument,
                "a full node (--no-validator) needs the network's genesis: --genesis-file <file>");
  if (c.tls_cert_file.empty() != c.tls_key_file.empty())
    throw Error(Code::kInvalidArgument,
                std::string("HTTPS needs both tls-cert-file and tls-key-file; only ") +
                    (c.tls_cert_file.empty() ? "tls-key-file" : "tls-cert-file") + " is set");
  // Reads both files (writes nothing): a bad certificate or key refuses to start.
  if (!c.tls_cert_file.empty()) api::TlsContext::load({c.tls_cert_file, c.tls_key_file});
}

std::string render_config(const EffectiveConfig& eff) {
  return render_config(eff, node_options());
}

std::string render_config(const EffectiveConfig& eff, const std::vector<OptionSpec>& table) {
  std::string out =
      "# guts-node effective configuration (defaults < config file < environment < command "
      "line)\n";
  for (const auto& o : table) {
    auto src = eff.source.count(o.name) ? eff.source.at(o.name) : "default";
    if (o.secret) {
      out += "# " + o.name + " = <redacted>  # " + src + "\n";
      continue;
    }
    out += o.name + " = " + render_toml_value(o.get(eff.config)) + "  # " + src;
    if (src == "default" && !o.default_doc.empty()) out += " (" + o.default_doc + ")";
    out += "\n";
  }
  return out;
}

std::string options_reference_markdown() {
  std::string out =
      "| key / flag | environment | type | default | meaning |\n"
      "| --- | --- | --- | --- | --- |\n";
  for (const auto& o : node_options()) {
    std::string type;
    switch (o.type) {
      case Type::kString:
        type = "string";
        break;
      case Type::kInteger:
        type = "integer, " + std::to_string(o.min) + " to " + std::to_string(o.max);
        break;
      case Type::kBoolean:
        type = "boolean";
        break;
      case Type::kStringArray:
        type = "list of strings";
        break;
    }
    std::string def = default_text(o);
    std::string help = o.help;
    std::string::size_type p = 0;
    while ((p = help.find_first_of("|<", p)) != std::string::npos) help.insert(p, "\\"), p += 2;
    out += "| `" + o.name + "` / `--" + o.name + "` | `" + o.env() + "` | " + type + " | `" + def +
           "` | " + help + " |\n";
  }
  return out;
}

}  // namespace guts::node
