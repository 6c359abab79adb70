#include "node/node.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <sys/stat.h>

#include "api/auth.h"
#include "api/collab_routes.h"
#include "api/git_routes.h"
#include "api/peers_routes.h"
#include "api/http_server.h"
#include "api/routes.h"
#include "api/services.h"
#include "api/tokens.h"
#include "core/fs.h"
#include "core/status.h"
#include "core/time.h"
#include "crypto/did.h"
#include "crypto/keyfile.h"
#include "git/repo_store.h"
#include "node/git_projection.h"
#include "node/ledger_app.h"
#include "node/network.h"
#include "state/chain.h"
#include "state/mempool.h"
#include "storage/db.h"

namespace guts::node {

std::pair<std::string, uint16_t> split_host_port(const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw Error(Code::kInvalidArgument, "address '" + addr + "' must be host:port");
  auto port = addr.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    throw Error(Code::kInvalidArgument, "address '" + addr + "' has an invalid port");
  auto host = addr.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, static_cast<uint16_t>(std::stoul(port))};
}

namespace {

// /api/guts/peers and /metrics read the p2p layer (none when the node runs without p2p).
api::PeersSource peers_source(p2p::Discovery* d) {
  api::PeersSource src;
  if (!d) return src;
  src.peers = [d] {
    std::vector<api::PeerRow> rows;
    for (const auto& p : d->peers())
      rows.push_back({p.did, p.address, p.outbound, p.latency_ms, p.bytes_in, p.bytes_out, p.user_agent});
    return rows;
  };
  src.metrics_text = [d] { return p2p::render_prometheus(d->metrics()); };
  return src;
}

}  // namespace

struct Node::Impl {
  NodeConfig config;
  std::unique_ptr<storage::Db> db;
  std::unique_ptr<state::Chain> chain;
  std::unique_ptr<git::RepoStore> repos;
  std::unique_ptr<api::PendingPushes> pending_pushes;
  std::unique_ptr<GitProjection> git_projection;
  std::unique_ptr<state::Mempool> mempool;
  std::unique_ptr<Network> network;
  std::unique_ptr<ValidatorConsensus> consensus;
  std::unique_ptr<api::TokenStore> tokens;
  std::unique_ptr<api::Services> services;
  std::unique_ptr<api::HttpServer> server;
};

Node::Node(NodeConfig config) : impl_(std::make_unique<Impl>()) { impl_->config = std::move(config); }

Node::~Node() { stop(); }

void Node::start() {
  auto& c = impl_->config;
  std::filesystem::create_directories(c.data_dir);
  ::chmod(c.data_dir.c_str(), 0700);
  auto key = crypto::load_or_create_key_file(c.data_dir / "node.key");
  spdlog::info("node identity {}", crypto::did_from_key(key.public_key()));

  auto genesis_path = c.genesis_file.empty() ? c.data_dir / "genesis.json" : c.genesis_file;
  state::Genesis genesis;
  if (std::filesystem::exists(genesis_path)) {
    genesis = state::Genesis::load(genesis_path);
  } else if (c.genesis_file.empty()) {
    genesis = state::Genesis::single_validator(key.public_key(), unix_millis());
    genesis.save(genesis_path);
    spdlog::info("created a one-validator network '{}' in {}", genesis.chain_id, genesis_path.string());
  } else {
    throw Error(Code::kNotFound, "genesis file " + genesis_path.string() + " does not exist");
  }
  bool in_set = std::any_of(genesis.validators.begin(), genesis.validators.end(),
                            [&](const state::Validator& v) { return v.key == key.public_key(); });
  if (!in_set || !c.validator)
    throw Error(Code::kInvalidArgument,
                "this node (" + crypto::did_from_key(key.public_key()) +
                    ") must run as a validator listed in the genesis (full nodes are not supported yet)");

  impl_->db = storage::Db::open(c.data_dir / "db", state::Schema::families());
  impl_->chain = std::make_unique<state::Chain>(*impl_->db, genesis);
  auto head = impl_->chain->head();
  spdlog::info("chain '{}' at height {} (state root {})", genesis.chain_id, head.height,
               hex_encode(head.state_root));
  // The git projection follows every committed block; first it converges the bare
  // repositories with state (recovery after a crash between commit and ref move).
  impl_->repos = std::make_unique<git::RepoStore>(c.data_dir);
  impl_->pending_pushes = std::make_unique<api::PendingPushes>();
  impl_->git_projection =
      std::make_unique<GitProjection>(*impl_->chain, *impl_->repos, *impl_->pending_pushes);
  impl_->git_projection->reconcile_all();
  impl_->git_projection->attach();
  impl_->mempool = std::make_unique<state::Mempool>(*impl_->chain);
  // Every node runs Simplex (a one-validator network by default): p2p first, so consensus can
  // subscribe to its channels before the transport starts.
  NetworkOptions net(key);
  net.listen_addr = c.p2p_addr;
  net.network_id = genesis.chain_id;
  net.validators = genesis.validators;
  net.optional_listen = genesis.validators.size() == 1;
  net.bootstrap = c.bootstrap;
  net.external_addrs = c.external_addr;
  net.p2p_dir = c.data_dir / "p2p";
  impl_->network = std::make_unique<Network>(std::move(net));
  impl_->consensus = std::make_unique<ValidatorConsensus>(*impl_->chain, *impl_->mempool, key,
                                                          *impl_->network, c.data_dir, c.max_block_txs);
  impl_->network->start();
  impl_->consensus->start();

  auto [host, port] = split_host_port(c.api_addr);
  impl_->tokens = std::make_unique<api::TokenStore>(*impl_->db, impl_->chain->schema().local);
  api::ServerOptions opts;
  opts.address = host;
  opts.port = port;
  opts.threads = c.api_threads;
  auto router = std::make_shared<api::Router>();
  // The public URL is fixed before binding; with port 0 it is completed after start().
  impl_->services = std::make_unique<api::Services>(*impl_->chain, *impl_->mempool, key,
                                                    *impl_->tokens, c.public_url);
  api::add_guts_routes(*router, *impl_->services);
  api::add_v3_routes(*router, *impl_->services);
  api::add_git_routes(*router, *impl_->services, *impl_->repos, *impl_->pending_pushes);
  api::add_browse_routes(*router, *impl_->services, *impl_->repos);
  api::add_collaboration_routes(*router, *impl_->services, *impl_->repos);
  api::add_peers_routes(*router, peers_source(impl_->network->discovery()));
  impl_->server = std::make_unique<api::HttpServer>(opts, router, api::make_auth_middlewares(*impl_->services));
  impl_->server->start();
  uint16_t bound = impl_->server->port();
  if (c.public_url.empty())
    impl_->services->set_public_url("http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                                    ":" + std::to_string(bound));
  spdlog::info("API listening on {}", impl_->services->public_url());
  if (!c.port_file.empty()) atomic_write_file(c.port_file, as_bytes(std::to_string(bound) + "\n"));
}

uint16_t Node::api_port() const { return impl_->server ? impl_->server->port() : 0; }

void Node::stop() {
  if (impl_->pending_pushes) impl_->pending_pushes->shutdown();  // pushes stop waiting
  if (impl_->server) impl_->server->stop();
  if (impl_->mempool) impl_->mempool->shutdown();
  if (impl_->network) impl_->network->stop();
  if (impl_->consensus) impl_->consensus->stop();
  impl_->server.reset();
  impl_->services.reset();
  impl_->consensus.reset();
  impl_->network.reset();
  impl_->mempool.reset();
  impl_->tokens.reset();
  impl_->pending_pushes.reset();  // after the mempool: outcome callbacks refer to it
  impl_->chain.reset();
  impl_->git_projection.reset();
  impl_->repos.reset();
  impl_->db.reset();
}

}  // namespace guts::node
