// guts network: local multi-node networks on loopback, for development and tests.
//
//   guts network new --validators N [--full-nodes M] --out DIR
//       `guts-node init-genesis` (the guts-node found next to this binary) writes DIR/genesis.json
//       and DIR/node<i>/node.key; full nodes get DIR/full<j>/node.key; DIR/network.json lists
//       every node: name, role, data dir, p2p and API address (free loopback ports), URL, did.
//   guts network up DIR       starts every node as a background guts-node (own session, output
//                             in DIR/<name>/node.log, pid in DIR/<name>/node.pid) and waits until
//                             each API answers GET /api/guts/status. All or nothing: when a node
//                             fails to come up, the nodes this run started are stopped again.
//   guts network down DIR     SIGTERM, wait, SIGKILL after a deadline; removes the pid files.
//   guts network status DIR | --nodes URL,URL,...
//                             name, role, URL, height, view, peers, lag of each node; "down" when
//                             a node does not answer (exit code 3 then).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "core/fs.h"
#include "core/net_addr.h"
#include "core/status.h"
#include "crypto/did.h"
#include "crypto/keyfile.h"
#include "git/process.h"
#include "state/genesis.h"

extern char** environ;

namespace guts::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kPollInterval = 50ms;

// ---- the network description (DIR/network.json) ----

struct NodeEntry {
  std::string name;      // node<i> (validators), full<j> (full nodes)
  std::string role;      // "validator" | "full"
  std::string data_dir;  // relative to the network directory
  std::string p2p_addr;  // 127.0.0.1:port
  std::string api_addr;  // 127.0.0.1:port
  std::string did;
  std::string url() const { return "http://" + api_addr; }
};

struct NetworkFile {
  fs::path dir;  // absolute
  std::string chain_id;
  std::string genesis = "genesis.json";  // relative to dir
  std::vector<NodeEntry> nodes;

  fs::path genesis_path() const { return dir / genesis; }
  fs::path data_dir(const NodeEntry& n) const { return (dir / n.data_dir).lexically_normal(); }
  fs::path pid_file(const NodeEntry& n) const { return data_dir(n) / "node.pid"; }
  fs::path log_file(const NodeEntry& n) const { return data_dir(n) / "node.log"; }
  const NodeEntry* bootstrap() const {
    for (const auto& n : nodes)
      if (n.role == "validator") return &n;
    return nullptr;
  }

  json to_json() const {
    json nodes_j = json::array();
    for (const auto& n : nodes)
      nodes_j.push_back({{"name", n.name},
                         {"role", n.role},
                         {"data_dir", n.data_dir},
                         {"p2p_addr", n.p2p_addr},
                         {"api_addr", n.api_addr},
                         {"url", n.url()},
                         {"did", n.did}});
    return json{{"version", 1}, {"chain_id", chain_id}, {"genesis", genesis}, {"nodes", nodes_j}};
  }

  void save() const { atomic_write_file(dir / "network.json", as_bytes(to_json().dump(2) + "\n")); }

  static NetworkFile load(const fs::path& dir) {
    auto path = dir / "network.json";
    if (!fs::exists(path))
      throw Error(Code::kNotFound, "no " + path.string() +
                                       " (create a network with 'guts network new --validators "
                                       "N --out " +
                                       dir.string() + "')");
    auto data = read_file(path, 1 << 20);
    auto j = json::parse(std::string(data.begin(), data.end()), nullptr, false);
    NetworkFile f;
    f.dir = fs::absolute(dir).lexically_normal();
    try {
      if (!j.is_object() || !j["nodes"].is_array()) throw std::runtime_error("no nodes");
      f.chain_id = j.value("chain_id", "");
      f.genesis = j.value("genesis", "genesis.json");
      for (const auto& n : j["nodes"]) {
        NodeEntry e;
        e.name = n.at("name").get<std::string>();
        e.role = n.at("role").get<std::string>();
        e.data_dir = n.at("data_dir").get<std::string>();
        e.p2p_addr = n.at("p2p_addr").get<std::string>();
        e.api_addr = n.at("api_addr").get<std::string>();
        e.did = n.value("did", "");
        f.nodes.push_back(std::move(e));
      }
    } catch (const std::exception& e) {
      throw Error(Code::kInvalidArgument, "malformed " + path.string() + ": " + e.what());
    }
    return f;
  }
};

// ---- helpers ----

// guts-node: $GUTS_NODE_BIN, else the one next to this binary, else from PATH.
std::string guts_node_binary() {
  if (const char* b = std::getenv("GUTS_NODE_BIN"); b && *b) return b;
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    auto p = fs::path(std::string(buf, static_cast<size_t>(n))).parent_path() / "guts-node";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "guts-node";
}

// Whether a listener could bind `addr` (an IPv4 host:port) right now.
bool can_listen(const std::string& addr) {
  auto hp = parse_host_port(addr);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(hp.port);
  if (::inet_pton(AF_INET, hp.host.c_str(), &a.sin_addr) != 1) return true;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // like the node's listeners
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 1) == 0;
  ::close(fd);
  return ok;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail_lines(const fs::path& p, size_t n) {
  auto text = read_text(p);
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (size_t k = 0; k < n && pos > 0; ++k) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  auto out = text.substr(pos == 0 ? 0 : pos + 1);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::optional<pid_t> read_pid_file(const fs::path& p) {
  std::ifstream in(p);
  long pid = 0;
  if (!(in >> pid) || pid <= 1) return std::nullopt;
  return static_cast<pid_t>(pid);
}

// A process that exists and is not a zombie. Reaps it first when it is our child.
bool alive(pid_t pid) {
  int st = 0;
  if (::waitpid(pid, &st, WNOHANG) == pid) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  // A zombie (exited, parent has not reaped it yet) counts as gone.
  auto stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;  // no /proc: trust kill(0)
  auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return true;
  char state = stat[paren + 2];
  return state != 'Z' && state != 'X';
}

// Whether `pid` is a guts-node serving `data_dir` (a pid file can outlive its process and the
// pid be reused: never signal a stranger).
bool is_our_node(pid_t pid, const fs::path& data_dir) {
  auto cmdline = read_text("/proc/" + std::to_string(pid) + "/cmdline");
  if (cmdline.empty()) return alive(pid);  // no /proc to check against
  std::vector<std::string> args;
  std::string cur;
  for (char c : cmdline) {
    if (c == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--data-dir" && fs::path(args[i + 1]).lexically_normal() == data_dir)
      return true;
  return false;
}

// The pid of the running node of `n`, if any; a stale pid file is removed.
std::optional<pid_t> running_pid(const NetworkFile& f, const NodeEntry& n) {
  auto pid = read_pid_file(f.pid_file(n));
  if (!pid) return std::nullopt;
  if (alive(*pid) && is_our_node(*pid, f.data_dir(n))) return pid;
  std::error_code ec;
  fs::remove(f.pid_file(n), ec);
  return std::nullopt;
}

// Starts guts-node in its own session (a Ctrl-C or hangup of the terminal does not reach it),
// stdin from /dev/null, stdout and stderr appended to `log`.
pid_t spawn_daemon(const std::vector<std::string>& argv, const fs::path& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = argv[0].find('/') == std::string::npos
               ? ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ)
               : ::posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw Error(Code::kInternal, "cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

// Whether the node's API answers GET /api/guts/status; the parsed status, if so.
std::optional<json> node_status(const std::string& url, std::chrono::milliseconds timeout) {
  try {
    HttpClient c(url);
    c.set_timeout(timeout);
    auto r = c.get("/api/guts/status");
    if (r.status != 200) return std::nullopt;
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    return j;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

struct Stopped {
  std::string name;
  pid_t pid;
  bool killed;  // needed SIGKILL
};

// SIGTERM to every node, waits for all of them until `grace`, then SIGKILL (to the node's
// process group: its git helpers too) and waits again. Throws if one survives.
std::vector<Stopped> stop_processes(const std::vector<std::pair<std::string, pid_t>>& procs,
                                    std::chrono::milliseconds grace) {
  std::vector<Stopped> out;
  for (const auto& [name, pid] : procs) {
    ::kill(pid, SIGTERM);
    out.push_back({name, pid, false});
  }
  auto all_gone = [&] {
    return std::none_of(out.begin(), out.end(), [](const Stopped& s) { return alive(s.pid); });
  };
  auto wait_until = [&](Clock::time_point end) {
    while (!all_gone()) {
      if (Clock::now() >= end) return false;
      std::this_thread::sleep_for(kPollInterval);
    }
    return true;
  };
  if (wait_until(Clock::now() + grace)) return out;
  for (auto& s : out) {
    if (!alive(s.pid)) continue;
    s.killed = true;
    ::kill(-s.pid, SIGKILL);  // the node leads its own process group (setsid)
    ::kill(s.pid, SIGKILL);
  }
  if (!wait_until(Clock::now() + 10s)) {
    std::string names;
    for (const auto& s : out)
      if (alive(s.pid)) names += " " + s.name + " (pid " + std::to_string(s.pid) + ")";
    throw Error(Code::kInternal, "still running after SIGKILL:" + names);
  }
  return out;
}

std::string pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], r[i].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i)
      line += i + 1 == r.size() ? r[i] : pad(r[i], widths[i] + 2);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

// A status field as text: numbers and strings as they are, arrays by their size, else "-".
std::string field(const std::optional<json>& s, const char* key) {
  if (!s || !s->contains(key)) return "-";
  const auto& v = (*s)[key];
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) return std::to_string(v.size());
  return "-";
}

json field_json(const std::optional<json>& s, const char* key) {
  if (!s || !s->contains(key)) return nullptr;
  return (*s)[key];
}

// ---- commands ----

struct NewOptions {
  int validators = 4;
  int full_nodes = 0;
  fs::path out;
  std::string chain_id;
  std::optional<uint64_t> leader_timeout_ms, certification_timeout_ms, timeout_retry_ms;
};

void network_new(const NewOptions& o, const Options& global) {
  if (o.full_nodes < 0 || o.full_nodes > 100)
    throw Error(Code::kInvalidArgument, "--full-nodes must be 0..100");
  if (fs::exists(o.out / "network.json"))
    throw Error(Code::kConflict, (o.out / "network.json").string() + " already exists");
  // The validators, their keys and the genesis: guts-node's own writer.
  git::ProcessOptions po;
  po.argv = {guts_node_binary(),           "init-genesis", "--validators",
             std::to_string(o.validators), "--out",        o.out.string()};
  if (!o.chain_id.empty()) po.argv.insert(po.argv.end(), {"--chain-id", o.chain_id});
  auto opt = [&](const char* flag, const std::optional<uint64_t>& v) {
    if (v) po.argv.insert(po.argv.end(), {flag, std::to_string(*v)});
  };
  opt("--leader-timeout-ms", o.leader_timeout_ms);
  opt("--certification-timeout-ms", o.certification_timeout_ms);
  opt("--timeout-retry-ms", o.timeout_retry_ms);
  po.capture_stdin = false;
  po.timeout = 60s;
  auto p = git::Process::spawn(po);
  std::string out, err;
  auto st = p.pump(git::source_from({}), git::sink_to(out), git::sink_to(err));
  if (!st.success())
    throw Error(Code::kInvalidArgument,
                "guts-node init-genesis failed (" + st.describe() + "): " + err + out);

  NetworkFile f;
  f.dir = fs::absolute(o.out).lexically_normal();
  auto genesis = state::Genesis::load(f.genesis_path());
  f.chain_id = genesis.chain_id;
  std::set<uint16_t> taken;
  for (const auto& v : genesis.validators) taken.insert(parse_host_port(v.p2p_address).port);
  size_t n = genesis.validators.size();
  size_t m = static_cast<size_t>(o.full_nodes);
  // API ports for everyone, p2p ports for the full nodes.
  auto ports = pick_free_ports(n + 2 * m, taken);
  size_t next = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto& v = genesis.validators[i];
    f.nodes.push_back({"node" + std::to_string(i), "validator", "node" + std::to_string(i),
                       v.p2p_address, "127.0.0.1:" + std::to_string(ports[next++]),
                       crypto::did_from_key(v.key)});
  }
  for (size_t j = 0; j < m; ++j) {
    std::string name = "full" + std::to_string(j);
    auto dir = f.dir / name;
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
    // The node would create its key on first start; creating it now puts its did in the file.
    auto key = crypto::create_key_file(dir / "node.key");
    std::string p2p = "127.0.0.1:" + std::to_string(ports[next++]);
    std::string api = "127.0.0.1:" + std::to_string(ports[next++]);
    f.nodes.push_back({name, "full", name, p2p, api, crypto::did_from_key(key.public_key())});
  }
  f.save();

  if (global.json) {
    std::cout << f.to_json().dump(2) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows{{"NAME", "ROLE", "API", "P2P", "DID"}};
  for (const auto& e : f.nodes) rows.push_back({e.name, e.role, e.url(), e.p2p_addr, e.did});
  std::cout << "chain " << f.chain_id << "\nnetwork " << (f.dir / "network.json").string() << "\n\n"
            << table(rows) << "\nstart it with: guts network up " << o.out.string() << "\n";
}

struct UpOptions {
  fs::path dir;
  int timeout_s = 60;
  std::string log_level = "info";
};

void network_up(const UpOptions& o, const Options& global) {
  auto f = NetworkFile::load(o.dir);
  auto boot = f.bootstrap();
  const auto bin = guts_node_binary();

  struct Started {
    const NodeEntry* node;
    pid_t pid;
    bool ours;  // started by this run (else it was already running)
  };
  std::vector<Started> nodes;
  for (const auto& n : f.nodes)
    if (auto pid = running_pid(f, n)) nodes.push_back({&n, *pid, false});

  // Ports of the nodes to start must be free now (new only picked ports that were free then).
  std::string busy;
  for (const auto& n : f.nodes) {
    if (std::any_of(nodes.begin(), nodes.end(), [&](const Started& s) { return s.node == &n; }))
      continue;
    for (const auto& addr : {n.api_addr, n.p2p_addr})
      if (!can_listen(addr)) busy += "\n  " + n.name + ": " + addr;
  }
  if (!busy.empty())
    throw Error(Code::kConflict,
                "addresses already in use (another program or an older network?):" + busy);

  std::vector<std::pair<std::string, pid_t>> ours;
  auto fail = [&](const std::string& msg) {
    try {
      stop_processes(ours, 10s);
    } catch (const std::exception& e) {
      std::cerr << "guts: " << e.what() << "\n";
    }
    for (const auto& s : nodes) {
      std::error_code ec;
      if (s.ours) fs::remove(f.pid_file(*s.node), ec);
    }
    throw Error(Code::kUnavailable, msg);
  };

  for (const auto& n : f.nodes) {
    if (std::any_of(nodes.begin(), nodes.end(), [&](const Started& s) { return s.node == &n; }))
      continue;
    auto data = f.data_dir(n);
    std::vector<std::string> argv{
        bin,          "--data-dir", data.string(), "--genesis-file", f.genesis_path().string(),
        "--p2p-addr", n.p2p_addr,   "--api-addr",  n.api_addr,       "--log-level",
        o.log_level};
    if (n.role == "validator") {
      argv.push_back("--validator");
    } else {
      argv.push_back("--no-validator");
      if (boot) argv.insert(argv.end(), {"--bootstrap", boot->did + "@" + boot->p2p_addr});
    }
    fs::create_directories(data);
    pid_t pid = -1;
    try {
      pid = spawn_daemon(argv, f.log_file(n));
    } catch (const std::exception& e) {
      fail(e.what());
    }
    nodes.push_back({&n, pid, true});
    ours.emplace_back(n.name, pid);
    atomic_write_file(f.pid_file(n), as_bytes(std::to_string(pid) + "\n"));
  }

  // Wait until every API answers; a node that exits meanwhile fails the whole run.
  auto deadline = Clock::now() + std::chrono::seconds(o.timeout_s);
  std::vector<bool> ready(nodes.size(), false);
  while (true) {
    bool all = true;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (ready[i]) continue;
      const auto& s = nodes[i];
      if (!alive(s.pid))
        fail(s.node->name + " exited before its API answered; the end of " +
             f.log_file(*s.node).string() + ":\n" + tail_lines(f.log_file(*s.node), 15));
      ready[i] = node_status(s.node->url(), 2s).has_value();
      all = all && ready[i];
    }
    if (all) break;
    if (Clock::now() >= deadline) {
      std::string names;
      for (size_t i = 0; i < nodes.size(); ++i)
        if (!ready[i]) names += " " + nodes[i].node->name;
      fail("timed out after " + std::to_string(o.timeout_s) + " s waiting for the API of" + names +
           " (logs: " + f.dir.string() + "/<name>/node.log)");
    }
    std::this_thread::sleep_for(kPollInterval);
  }

  // In network order.
  std::sort(nodes.begin(), nodes.end(),
            [](const Started& a, const Started& b) { return a.node < b.node; });
  if (global.json) {
    json j = json::array();
    for (const auto& s : nodes)
      j.push_back({{"name", s.node->name},
                   {"role", s.node->role},
                   {"url", s.node->url()},
                   {"pid", s.pid},
                   {"started", s.ours}});
    std::cout << json{{"nodes", j}}.dump(2) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows{{"NAME", "ROLE", "URL", "PID", "STATE"}};
  for (const auto& s : nodes)
    rows.push_back({s.node->name, s.node->role, s.node->url(), std::to_string(s.pid),
                    s.ours ? "started" : "already running"});
  std::cout << table(rows);
}

void network_down(const fs::path& dir, int timeout_s, const Options& global) {
  auto f = NetworkFile::load(dir);
  std::vector<std::pair<std::string, pid_t>> procs;
  for (const auto& n : f.nodes)
    if (auto pid = running_pid(f, n)) procs.emplace_back(n.name, *pid);
  auto stopped = stop_processes(procs, std::chrono::seconds(timeout_s));
  for (const auto& n : f.nodes) {
    std::error_code ec;
    fs::remove(f.pid_file(n), ec);
  }
  if (global.json) {
    json j = json::array();
    for (const auto& s : stopped)
      j.push_back({{"name", s.name}, {"pid", s.pid}, {"killed", s.killed}});
    std::cout << json{{"stopped", j}}.dump(2) << "\n";
    return;
  }
  if (stopped.empty()) std::cout << "no node of " << f.dir.string() << " was running\n";
  for (const auto& s : stopped)
    std::cout << "stopped " << s.name << " (pid " << s.pid << ")"
              << (s.killed ? " with SIGKILL after " + std::to_string(timeout_s) + " s" : "")
              << "\n";
}

void network_status(const fs::path& dir, const std::string& urls, const Options& global) {
  struct Row {
    std::string name, role, url, did;
  };
  std::vector<Row> rows;
  if (!urls.empty()) {
    std::stringstream ss(urls);
    std::string u;
    while (std::getline(ss, u, ',')) {
      while (!u.empty() && u.back() == '/') u.pop_back();
      if (u.empty()) continue;
      if (u.find("://") == std::string::npos) u = "http://" + u;
      rows.push_back({std::to_string(rows.size()), "", u, ""});
    }
  } else {
    auto f = NetworkFile::load(dir);
    for (const auto& n : f.nodes) rows.push_back({n.name, n.role, n.url(), n.did});
  }
  if (rows.empty()) throw Error(Code::kInvalidArgument, "no nodes");

  std::vector<std::optional<json>> st;
  for (const auto& r : rows) st.push_back(node_status(r.url, 3s));
  size_t down = 0;
  json j = json::array();
  std::vector<std::vector<std::string>> t{
      {"NAME", "ROLE", "URL", "HEIGHT", "VIEW", "PEERS", "LAG"}};
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& s = st[i];
    // The node's own word on its role; else the network file's.
    std::string role = field(s, "role") != "-" ? field(s, "role")
                       : rows[i].role.empty()  ? "-"
                                               : rows[i].role;
    if (!s) ++down;
    std::string did = s && s->contains("node_did") ? field(s, "node_did") : rows[i].did;
    j.push_back({{"name", rows[i].name},
                 {"role", role},
                 {"url", rows[i].url},
                 {"state", s ? "up" : "down"},
                 {"did", did.empty() ? json(nullptr) : json(did)},
                 {"height", field_json(s, "height")},
                 {"view", field_json(s, "view")},
                 {"peers", field_json(s, "peers")},
                 {"network_height", field_json(s, "network_height")},
                 {"lag", field_json(s, "lag")}});
    if (s)
      t.push_back({rows[i].name, role, rows[i].url, field(s, "height"), field(s, "view"),
                   field(s, "peers"), field(s, "lag")});
    else
      t.push_back({rows[i].name, role, rows[i].url, "down", "-", "-", "-"});
  }
  if (global.json)
    std::cout << json{{"nodes", j}}.dump(2) << "\n";
  else
    std::cout << table(t);
  if (down > 0)
    throw Error(Code::kUnavailable,
                std::to_string(down) + " of " + std::to_string(rows.size()) + " node(s) down");
}

}  // namespace

void add_network_commands(CLI::App& app, ContextFn ctx) {
  auto* network = app.add_subcommand("network", "Run a local multi-node network on loopback");
  network->require_subcommand(1);

  auto no = std::make_shared<NewOptions>();
  auto* create = network->add_subcommand(
      "new", "Create a local network: genesis, node keys, data dirs, DIR/network.json");
  create->add_option("--validators", no->validators, "Number of validators")->capture_default_str();
  create->add_option("--full-nodes", no->full_nodes, "Number of full (non-validator) nodes")
      ->capture_default_str();
  create->add_option("--out", no->out, "Directory of the network")->required();
  create->add_option("--chain-id", no->chain_id, "Chain id (default: guts-devnet-<random>)");
  create->add_option("--leader-timeout-ms", no->leader_timeout_ms, "Consensus leader timeout");
  create->add_option("--certification-timeout-ms", no->certification_timeout_ms,
                     "Consensus certification timeout");
  create->add_option("--timeout-retry-ms", no->timeout_retry_ms, "Nullify retry interval");
  create->callback([ctx, no] { network_new(*no, ctx().options()); });

  auto uo = std::make_shared<UpOptions>();
  auto* up = network->add_subcommand(
      "up", "Start every node of the network in the background and wait for their APIs");
  up->add_option("dir", uo->dir, "Directory of the network")->required();
  up->add_option("--timeout", uo->timeout_s, "Seconds to wait for every API")
      ->capture_default_str();
  up->add_option("--log-level", uo->log_level, "guts-node log level")->capture_default_str();
  up->callback([ctx, uo] { network_up(*uo, ctx().options()); });

  auto down_dir = std::make_shared<fs::path>();
  auto down_timeout = std::make_shared<int>(30);
  auto* down = network->add_subcommand(
      "down", "Stop the network's nodes (SIGTERM, then SIGKILL after --timeout seconds)");
  down->add_option("dir", *down_dir, "Directory of the network")->required();
  down->add_option("--timeout", *down_timeout, "Seconds to wait before SIGKILL")
      ->capture_default_str();
  down->callback(
      [ctx, down_dir, down_timeout] { network_down(*down_dir, *down_timeout, ctx().options()); });

  auto status_dir = std::make_shared<fs::path>();
  auto status_urls = std::make_shared<std::string>();
  auto* status = network->add_subcommand(
      "status", "Height, view, peers and lag of every node (of DIR, or of --nodes)");
  auto* d = status->add_option("dir", *status_dir, "Directory of the network");
  auto* u = status->add_option("--nodes", *status_urls, "Node URLs, comma-separated");
  d->excludes(u);
  status->callback([ctx, status_dir, status_urls] {
    if (status_dir->empty() && status_urls->empty())
      throw Error(Code::kInvalidArgument, "give the network's DIR or --nodes URL,URL,...");
    network_status(*status_dir, *status_urls, ctx().options());
  });
}

}  // namespace guts::cli
