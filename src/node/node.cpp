#include "node/node.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "api/actions_routes.h"
#include "api/admin_routes.h"
#include "api/auth.h"
#include "api/ci_trigger.h"
#include "api/collab_routes.h"
#include "api/events_routes.h"
#include "api/evidence_routes.h"
#include "api/git_routes.h"
#include "api/github.h"
#include "api/hooks_routes.h"
#include "api/http_server.h"
#include "api/lfs_routes.h"
#include "api/metrics_routes.h"
#include "api/notifications_routes.h"
#include "api/peers_routes.h"
#include "api/release_routes.h"
#include "api/routes.h"
#include "api/runner_routes.h"
#include "api/search_routes.h"
#include "api/services.h"
#include "api/tls_context.h"
#include "api/tokens.h"
#include "api/webhook_payloads.h"
#include "consensus/signing_guard.h"
#include "core/fs.h"
#include "core/status.h"
#include "core/time.h"
#include "crypto/did.h"
#include "crypto/keyfile.h"
#include "finality/relay.h"
#include "git/git_facts.h"
#include "git/maintenance.h"
#include "git/repo_store.h"
#include "node/backup.h"
#include "node/blob_gc.h"
#include "node/evidence.h"
#include "node/git_projection.h"
#include "node/network.h"
#include "node/node_consensus.h"
#include "node/node_metrics.h"
#include "node/ssh_server.h"
#include "node/webhooks.h"
#include "replication/blob_sync.h"
#include "replication/object_sync.h"
#include "replication/seed_policy.h"
#include "search/index.h"
#include "search/indexer.h"
#include "state/blob_refs.h"
#include "state/chain.h"
#include "state/live_blobs.h"
#include "state/mempool.h"
#include "state/migrations.h"
#include "state/repo_seeds_state.h"
#include "state/smt.h"
#include "storage/blob_store.h"
#include "storage/db.h"
#include "web/web.h"

namespace guts::node {

using replication::ObjectSync;
using replication::SeedPolicy;

std::pair<std::string, uint16_t> split_host_port(const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw Error(Code::kInvalidArgument, "address '" + addr + "' must be host:port");
  auto port = addr.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535)
    throw Error(Code::kInvalidArgument, "address '" + addr + "' has an invalid port");
  auto host = addr.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {host, static_cast<uint16_t>(std::stoul(port))};
}

namespace {

// The finality relay's network: node::Network on the finality channel.
class FinalityNet : public finality::Net {
 public:
  explicit FinalityNet(Network& network) : network_(network) {}
  void send(const crypto::PublicKey& peer, ByteView payload) override {
    network_.transport().send(peer, p2p::channel::kFinality, payload);
  }
  void broadcast(ByteView payload) override {
    network_.transport().broadcast(p2p::channel::kFinality, payload);
  }
  void block(const crypto::PublicKey& peer) override { network_.transport().block(peer); }

 private:
  Network& network_;
};

// /api/guts/peers reads the p2p layer (none when the node runs without p2p).
api::PeersSource peers_source(p2p::Discovery* d) {
  api::PeersSource src;
  if (!d) return src;
  src.peers = [d] {
    std::vector<api::PeerRow> rows;
    for (const auto& p : d->peers())
      rows.push_back(
          {p.did, p.address, p.outbound, p.latency_ms, p.bytes_in, p.bytes_out, p.user_agent});
    return rows;
  };
  return src;
}

}  // namespace

struct Node::Impl {
  NodeConfig config;
  std::unique_ptr<storage::Db> db;
  storage::OpenReport storage;  // what opening the database found and migrated
  std::unique_ptr<state::Chain> chain;
  std::unique_ptr<git::RepoStore> repos;
  std::unique_ptr<git::RepoGitFacts> git_facts;  // branch protection's git facts (chain checks)
  std::unique_ptr<storage::BlobStore> blobs;     // LFS objects, release assets (docs/blobs.md)
  std::unique_ptr<api::PendingPushes> pending_pushes;
  std::unique_ptr<GitProjection> git_projection;
  std::unique_ptr<state::Mempool> mempool;
  std::unique_ptr<Network> network;
  std::unique_ptr<ObjectSync> object_sync;           // git objects between nodes (docs/git.md)
  std::unique_ptr<replication::BlobSync> blob_sync;  // blobs between nodes (docs/blobs.md)
  std::unique_ptr<EvidenceLog> evidence;             // validators: byzantine-validator evidence
  std::unique_ptr<FinalityNet> finality_net;
  std::unique_ptr<finality::FinalityRelay> finality;
  std::unique_ptr<NodeConsensus> consensus;
  std::unique_ptr<api::TokenStore> tokens;
  std::unique_ptr<api::Services> services;
  std::unique_ptr<api::HttpServer> server;
  std::unique_ptr<git::Maintenance> maintenance;  // docs/maintenance.md
  std::unique_ptr<WebhookEngine> webhooks;        // docs/webhooks.md
  std::unique_ptr<search::Index> search_index;    // docs/search.md
  std::unique_ptr<search::Indexer> search_indexer;
  std::unique_ptr<SshServer> ssh;  // git over SSH (node/ssh_server.h)
  // Backups (node/backup.h): one at a time, on their own thread. backup_thread is touched only
  // by the request that set backup_running (and by stop(), once the server has stopped).
  std::filesystem::path genesis_path;
  state::Genesis genesis;
  std::string did;
  std::atomic<bool> backup_running{false};
  std::atomic<bool> backup_cancel{false};
  std::thread backup_thread;
  std::shared_ptr<metrics::Registry> metrics = std::make_shared<metrics::Registry>();
  std::shared_ptr<api::LiveHub> live;                 // live events (docs/events.md)
  std::unique_ptr<api::Notifications> notifications;  // node-local inbox (docs/web.md)
  std::unique_ptr<api::CiTrigger> ci_trigger;         // CI runs of pushes, pull requests, schedules
  std::unique_ptr<BlobCollector> blob_gc;
  // Commit listeners of the parts made after blocks may flow (the API's: runner routes, CI
  // triggers). Chain::add_commit_listener is only safe before blocks flow, so one listener
  // registered early calls these; they are bound later and cleared before their owners go.
  std::mutex late_mu;
  std::vector<std::function<void(const state::Block&)>>
      late_listeners;  // guarded by late_mu             // unreferenced blobs (docs/blobs.md)
};

Node::Node(NodeConfig config) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
}

Node::~Node() {
  stop();
}

void Node::start() {
  auto& c = impl_->config;
  // HTTPS: a missing, malformed or mismatched certificate or key refuses to start before
  // anything is written (the message names the file).
  const bool tls = !c.tls_cert_file.empty() || !c.tls_key_file.empty();
  if (tls) {
    c.tls_cert_file = std::filesystem::absolute(c.tls_cert_file);
    c.tls_key_file = std::filesystem::absolute(c.tls_key_file);
    auto loaded = api::TlsContext::load({c.tls_cert_file, c.tls_key_file});
    spdlog::info("TLS certificate: {}", loaded->summary());
    if (loaded->expired())
      spdlog::warn("the TLS certificate in {} has expired: clients will refuse it",
                   c.tls_cert_file.string());
  }
  // Everything below (git subprocesses in particular) sees absolute paths.
  c.data_dir = std::filesystem::absolute(c.data_dir);
  std::filesystem::create_directories(c.data_dir);
  ::chmod(c.data_dir.c_str(), 0700);
  // The database first: one written by a newer storage version is refused before anything in
  // the data directory changes; an older one is migrated (state/migrations.h).
  impl_->db = state::open_state_db(c.data_dir / "db", &impl_->storage);
  spdlog::info("database {}: {}", (c.data_dir / "db").string(), storage::describe(impl_->storage));
  const bool new_key = !std::filesystem::exists(c.data_dir / "node.key");  // signing guard
  auto key = crypto::load_or_create_key_file(c.data_dir / "node.key");
  spdlog::info("node identity {}", crypto::did_from_key(key.public_key()));

  auto genesis_path = c.genesis_file.empty() ? c.data_dir / "genesis.json" : c.genesis_file;
  state::Genesis genesis;
  if (std::filesystem::exists(genesis_path)) {
    genesis = state::Genesis::load(genesis_path);
  } else if (c.genesis_file.empty() && c.validator) {
    genesis = state::Genesis::single_validator(key.public_key(), unix_millis());
    genesis.save(genesis_path);
    if (!new_key) consensus::init_fresh_guard(c.data_dir / "consensus");  // a new chain
    spdlog::info("created a one-validator network '{}' in {}", genesis.chain_id,
                 genesis_path.string());
  } else if (!c.validator && c.genesis_file.empty()) {
    throw Error(Code::kInvalidArgument,
                "a full node (--no-validator) needs the network's genesis: --genesis-file <file>");
  } else {
    throw Error(Code::kNotFound, "genesis file " + genesis_path.string() + " does not exist");
  }
  // A key that never signed: no view to guard (docs/consensus.md §9).
  if (new_key) consensus::init_fresh_guard(c.data_dir / "consensus");
  bool in_set = std::any_of(genesis.validators.begin(), genesis.validators.end(),
                            [&](const state::Validator& v) { return v.key == key.public_key(); });
  const bool validator = c.validator;
  // A network whose validator set changes (state/validator_set.h) accepts a validator outside
  // the genesis set: it follows until an epoch names it, and votes from then on.
  if (validator && !in_set && !genesis.governance)
    throw Error(Code::kInvalidArgument,
                "this node (" + crypto::did_from_key(key.public_key()) +
                    ") is not a validator of the genesis; run it with --no-validator to follow "
                    "the network as a full node");
  if (validator && !in_set)
    spdlog::info("this node is not in the genesis validator set: it votes once an epoch names it");
  if (!validator && in_set)
    spdlog::warn("this node's key is a validator's, but it runs as a full node: it will not vote");
  spdlog::info("role: {}", validator ? "validator" : "full node");

  impl_->genesis_path = genesis_path;
  impl_->genesis = genesis;
  impl_->did = crypto::did_from_key(key.public_key());
  impl_->chain = std::make_unique<state::Chain>(*impl_->db, genesis);
  auto head = impl_->chain->head();
  spdlog::info("chain '{}' at height {} (state root {})", genesis.chain_id, head.height,
               hex_encode(head.state_root));
  // The git projection follows every committed block; first it converges the bare
  // repositories with state (recovery after a crash between commit and ref move).
  impl_->repos = std::make_unique<git::RepoStore>(c.data_dir);
  impl_->blobs = std::make_unique<storage::BlobStore>(std::filesystem::path(c.data_dir) / "blobs");
  impl_->pending_pushes = std::make_unique<api::PendingPushes>();
  impl_->git_facts = std::make_unique<git::RepoGitFacts>(*impl_->repos, &api::git_repo_key);
  impl_->chain->set_git_facts(impl_->git_facts.get());  // docs/governance.md "Git facts"
  // Validators host every repository (they vote on the objects of every push); full nodes
  // what their seeding policy says.
  SeedPolicy seed = validator ? SeedPolicy{} : parse_seed_policy(c.seed);
  if (validator && !c.seed.empty())
    spdlog::warn("--seed is ignored: validators host every repository");
  if (!validator) spdlog::info("seeding policy: {}", seed.describe());
  if (!validator) seed.node = key.public_key();  // private repositories: only as their seed
  impl_->git_projection = std::make_unique<GitProjection>(*impl_->chain, *impl_->repos,
                                                          *impl_->pending_pushes, std::move(seed));
  impl_->git_projection->set_clean_stop_file(c.data_dir / "git-projection.clean");
  impl_->git_projection->reconcile_all();
  impl_->git_projection->attach();
  impl_->mempool = std::make_unique<state::Mempool>(*impl_->chain);
  impl_->mempool->set_door_limit(
      {c.door_limit_min_reputation, c.door_limit_burst, c.door_limit_per_minute});
  impl_->mempool->set_backlog_bound(
      {std::chrono::milliseconds(c.door_max_wait_ms), static_cast<size_t>(c.door_min_backlog)});
  // Every node runs Simplex (a one-validator network by default): p2p first, so consensus can
  // subscribe to its channels before the transport starts.
  NetworkOptions net(key);
  net.listen_addr = c.p2p_addr;
  net.network_id = genesis.chain_id;
  net.validators = genesis.validators;
  net.optional_listen = validator && genesis.validators.size() == 1;
  net.bootstrap = c.bootstrap;
  net.external_addrs = c.external_addr;
  net.p2p_dir = c.data_dir / "p2p";
  impl_->network = std::make_unique<Network>(std::move(net));
  // Replication of git objects: subscribes to the git channel before the network starts; the
  // projection fetches what the state's refs need and announces what this node hosts.
  replication::ObjectSyncOptions so;
  so.serve_override = c.seams.serve_packs;
  // Private repositories are served and named only to validators and their seeds.
  so.may_share = [chain = impl_->chain.get(), net = impl_->network.get()](
                     const crypto::PublicKey& peer, uint64_t repo_id) {
    auto view = chain->view();
    auto repo = view.repo(repo_id);
    replication::RepoAudience a;
    a.known = repo.has_value();
    a.is_private = repo && repo->is_private;
    a.peer_is_validator = net->is_validator(peer);
    a.peer_is_seed =
        a.is_private && !a.peer_is_validator && state::is_repo_seed(view, repo_id, peer);
    return replication::may_share(a);
  };
  impl_->object_sync = std::make_unique<ObjectSync>(*impl_->network, *impl_->repos, so);
  impl_->git_projection->set_object_sync(impl_->object_sync.get());
  // Blobs (docs/blobs.md, docs/lfs.md): <data>/blobs, replicated over p2p channel 8 like git
  // objects: validators fetch a block's blobs before voting (co.availability below), full nodes
  // those of the repositories they host once a block is applied.
  {
    replication::BlobSyncOptions bo;
    bo.may_share = so.may_share;
    bo.hosting = [s = impl_->object_sync.get()](uint64_t repo) { return s->hosting_peers(repo); };
    bo.max_blob_bytes = c.lfs_max_object_bytes;
    impl_->blob_sync =
        std::make_unique<replication::BlobSync>(*impl_->network, *impl_->blobs, std::move(bo));
    if (!validator) {
      impl_->chain->add_commit_listener(
          [bs = impl_->blob_sync.get(), p = impl_->git_projection.get()](const state::Block& b) {
            auto refs = state::blob_refs(b);
            std::erase_if(refs, [&](const state::BlobRef& r) { return !p->hosts(r.repo_id); });
            if (refs.empty()) return;
            bs->ensure(std::move(refs), {b.header.proposer},
                       std::chrono::steady_clock::now() + std::chrono::minutes(10), [](bool ok) {
                         if (!ok)
                           spdlog::warn("blobs of an applied block could not be fetched yet");
                       });
          });
    }
  }
  // Finality heads: validators announce them, full nodes verify them and apply what they prove.
  impl_->finality_net = std::make_unique<FinalityNet>(*impl_->network);
  finality::RelayOptions fo;
  fo.rewrite_outgoing = c.seams.rewrite_finality_heads;
  fo.hand_over_dir = c.data_dir / "finality";
  impl_->finality = std::make_unique<finality::FinalityRelay>(genesis, *impl_->finality_net,
                                                              validator && in_set, std::move(fo));
  NodeConsensusOptions co;
  co.validator = validator;
  // Epochs (docs/consensus.md "Epochs"): the network's validator list and the relay follow the
  // schedule of the applied state.
  co.on_epochs = [impl = impl_.get()](const state::ValidatorSchedule& s, consensus::Epoch current,
                                      bool validating) {
    std::vector<state::Validator> vs;
    for (size_t e = current; e < s.epochs().size(); ++e)
      for (const auto& v : s.epochs()[e].validators) vs.push_back(v);
    impl->network->set_validators(std::move(vs));
    impl->finality->set_schedule(s, validating);
    if (impl->evidence) {  // faults name signers by their index in their epoch's set
      std::vector<std::vector<crypto::PublicKey>> keys;
      for (const auto& e : s.epochs()) keys.push_back(e.keys());
      impl->evidence->set_epochs(std::move(keys));
    }
  };
  co.on_behind = [f = impl_->finality.get()](const crypto::PublicKey& peer) { f->behind(peer); };
  co.max_block_txs = c.max_block_txs;
  co.extra_votes = c.seams.extra_votes;
  co.forge_block = c.seams.forge_block;
  if (validator) {
    std::vector<crypto::PublicKey> participants;
    for (const auto& v : genesis.validators) participants.push_back(v.key);
    impl_->evidence =
        std::make_unique<EvidenceLog>(*impl_->db, impl_->chain->schema().local,
                                      consensus_namespace(genesis), std::move(participants));
    co.on_fault = [e = impl_->evidence.get()](const consensus::Fault& f) {
      e->record(f, unix_millis());
    };
    co.on_finalized = [f = impl_->finality.get()](const consensus::Finalized& x) {
      f->finalized_locally(x);
    };
    // Data availability: a validator votes for a block with ref updates only once it holds
    // their objects (docs/network.md §4).
    co.availability = [s = impl_->object_sync.get(), bs = impl_->blob_sync.get()](
                          const state::Block& b, std::vector<crypto::PublicKey> hints,
                          std::chrono::steady_clock::time_point deadline,
                          std::function<void(bool)> done) {
      // Git objects and blobs (state::blob_refs) are fetched at once; done when both are here.
      auto left = std::make_shared<std::atomic<int>>(2);
      auto ok = std::make_shared<std::atomic<bool>>(true);
      auto part = [left, ok, done](bool r) {
        if (!r) *ok = false;
        if (--*left == 0) done(ok->load());
      };
      bs->ensure_block(b, hints, deadline, part);
      s->ensure_block(b, std::move(hints), deadline, part);
    };
  }
  impl_->consensus = std::make_unique<NodeConsensus>(*impl_->chain, *impl_->mempool, key,
                                                     *impl_->network, c.data_dir, std::move(co));
  // Full nodes apply what verified heads prove; a validator only hears heads it asked for (the
  // hand-over of an epoch its engine could not finish).
  impl_->finality->set_verified(
      [n = impl_->consensus.get()](const consensus::Finalized& f) { n->finalized(f); });
  impl_->network->subscribe(
      p2p::channel::kFinality,
      [f = impl_->finality.get()](const crypto::PublicKey& peer, Bytes payload) {
        f->on_message(peer, payload);
      });
  impl_->network->on_peer([f = impl_->finality.get()](const crypto::PublicKey& peer, bool up) {
    f->on_peer(peer, up);
  });
  impl_->chain->add_commit_listener([f = impl_->finality.get(), c = impl_->chain.get(),
                                     db = impl_->db.get()](const state::Block& b) {
    f->applied(b);
    // Proofs (state/smt.h, docs/verify.md): the certificate of every block it finalizes, and of
    // the last block of an epoch (the hand-over a light client follows to the next set).
    if (auto h = f->best(); h && h->block == b.id())
      state::store_finality_certificate(*db, c->schema(), b.header.height, h->certificate);
    if (auto h = f->hand_over_of(b.id()))
      state::store_finality_certificate(*db, c->schema(), b.header.height, h->certificate);
  });
  observe_commits(*impl_->metrics, *impl_->chain);  // docs/metrics.md
  // Webhooks (docs/webhooks.md): this node delivers the hooks that name it, from finalized
  // blocks, on the engine's own thread (started with the API; the payload sources use the
  // services created below).
  {
    WebhookSources ws;
    ws.events = [impl = impl_.get()](const state::Block& b) {
      std::vector<WebhookEvent> out;
      for (auto& e : api::webhook_events(*impl->services, impl->repos.get(), b))
        out.push_back({e.name, e.action, e.repo_id, e.repo_owner, std::move(e.payload)});
      return out;
    };
    ws.ping = [impl = impl_.get()](const state::Hook& h) {
      return api::ping_payload(*impl->services, h);
    };
    WebhookOptions wo;
    wo.allow_private = c.webhook_allow_private;
    wo.retry_base_ms = c.webhook_retry_base_ms;
    impl_->webhooks = std::make_unique<WebhookEngine>(*impl_->db, *impl_->chain, key, std::move(ws),
                                                      std::move(wo));
    impl_->chain->add_commit_listener(
        [wh = impl_->webhooks.get()](const state::Block&) { wh->notify(); });
  }
  // Search (docs/search.md): a node-local index of finalized state, on its own thread.
  if (c.search) {
    const auto file = c.data_dir / "search.sqlite";
    try {
      impl_->search_index = std::make_unique<search::Index>(file);
    } catch (const std::exception& e) {
      // Derived data: a damaged index is dropped and rebuilt from state.
      spdlog::warn("search index {} unusable ({}): rebuilding it", file.string(), e.what());
      for (const char* suffix : {"", "-wal", "-shm"})
        std::filesystem::remove(file.string() + suffix);
      impl_->search_index = std::make_unique<search::Index>(file);
    }
    impl_->search_indexer = std::make_unique<search::Indexer>(
        *impl_->search_index, *impl_->chain, [repos = impl_->repos.get()](uint64_t id) {
          return repos->path_for(api::git_repo_key(id));
        });
    impl_->chain->add_commit_listener(
        [ix = impl_->search_indexer.get()](const state::Block&) { ix->notify(); });
  }
  // Notifications (docs/web.md): the node-local inbox follows the finalized blocks (before the
  // live events, so that a page refreshed on a block event shows the new count).
  impl_->notifications =
      std::make_unique<api::Notifications>(*impl_->db, impl_->chain->schema().local, *impl_->chain);
  impl_->notifications->catch_up();
  impl_->chain->add_commit_listener(
      [n = impl_->notifications.get()](const state::Block& b) { n->on_block(b); });
  // Live events (docs/events.md): derived from each finalized block, fanned out to WebSockets.
  impl_->live = std::make_shared<api::LiveHub>(api::stored_block_events(*impl_->chain),
                                               impl_->chain->head().height);
  impl_->chain->add_commit_listener(
      [hub = impl_->live, ch = impl_->chain.get()](const state::Block& b) {
        hub->publish(b.header.height, [&] { return api::live_events(b, ch->view()); });
      });
  impl_->chain->add_commit_listener([impl = impl_.get()](const state::Block& b) {
    std::lock_guard lock(impl->late_mu);
    for (const auto& f : impl->late_listeners) f(b);
  });
  impl_->network->start();
  impl_->consensus->start();
  impl_->finality->start();

  auto [host, port] = split_host_port(c.api_addr);
  impl_->tokens = std::make_unique<api::TokenStore>(*impl_->db, impl_->chain->schema().local);
  // Tokens change node-local state without a transaction: local audit records (docs/audit.md).
  impl_->tokens->set_listener(
      [chain = impl_->chain.get()](std::string_view action, const api::TokenInfo& info) {
        state::AuditRecord r;
        r.height = chain->head().height;
        r.time_ms = unix_millis();
        r.kind = std::string(action);
        r.actor = r.signer = info.owner;
        r.outcome = "ok";
        r.target.detail = "token " + info.id;  // the id: a prefix of the hash, never the token
        chain->audit().record_local(std::move(r));
      });
  api::ServerOptions opts;
  opts.address = host;
  opts.port = port;
  opts.threads = c.api_threads;
  opts.tls_cert_file = c.tls_cert_file;
  opts.tls_key_file = c.tls_key_file;
  opts.on_request_done = api::request_hook(c.metrics ? impl_->metrics : nullptr, c.access_log);
  opts.finish_response = &api::finish_rest_response;  // ETag + 304 on every /api/v3 GET
  auto router = std::make_shared<api::Router>();
  // The public URL is fixed before binding; with port 0 it is completed after start().
  impl_->services = std::make_unique<api::Services>(*impl_->chain, *impl_->mempool, key,
                                                    *impl_->tokens, c.public_url);
  // Repository maintenance on its own thread(s), started once the API serves: triggered by the
  // projection's ref moves and a periodic scan, paused while git transfers or pushes awaiting
  // consensus pile up (docs/maintenance.md).
  if (c.maintenance) {
    git::MaintenanceOptions mo;
    mo.interval = std::chrono::milliseconds(c.maintenance_interval_ms);
    mo.concurrency = c.maintenance_concurrency;
    mo.first_scan_delay = std::min(mo.interval, mo.first_scan_delay);
    auto& po = mo.policy;
    po.repack_interval = mo.interval;
    po.repack_min_gap = std::min(po.repack_min_gap, mo.interval / 10);
    po.commit_graph_interval = std::min(po.commit_graph_interval, mo.interval * 6);
    po.loose_interval = mo.interval;
    po.failure_backoff = std::min(po.failure_backoff, mo.interval);
    po.prune_window = std::chrono::hours(c.maintenance_prune_window_hours);
    mo.load = [impl = impl_.get()] {
      return static_cast<double>(impl->server->active_streams() + impl->pending_pushes->size());
    };
    impl_->maintenance = std::make_unique<git::Maintenance>(*impl_->repos, std::move(mo));
    impl_->repos->set_change_listener(
        [m = impl_->maintenance.get()](std::string_view key) { m->notify_changed(key); });
  }
  impl_->services->set_node_status([this, validator] {
    api::Services::NodeStatus st;
    st.role = impl_->consensus->validating() ? "validator" : "full";
    auto* d = impl_->consensus->driver();
    st.view = d && d->active() ? d->view() : impl_->finality->finalized_view();
    st.peers = impl_->network->listening() ? impl_->network->transport().peers().size() : 0;
    st.network_height = impl_->finality->network_height();
    st.storage_version = impl_->storage.version;
    st.storage_found = impl_->storage.found.version;
    st.storage_migrations = impl_->storage.applied;
    if (auto* m = impl_->maintenance.get()) {
      auto ms = m->stats();
      st.maintenance = ms.running ? "running" : ms.paused ? "paused" : "idle";
      st.maintenance_tasks = ms.tasks_run;
      st.maintenance_failures = ms.failures;
    }
    return st;
  });
  api::add_guts_routes(*router, *impl_->services);
  api::add_v3_routes(*router, *impl_->services);
  impl_->services->set_operators(c.operators);
  api::add_audit_routes(*router, *impl_->services);
  api::add_token_routes(*router, *impl_->services);
  api::GitHttpOptions git_opts;
  git_opts.hosts = [p = impl_->git_projection.get()](uint64_t id) { return p->hosts(id); };
  git_opts.replicating = [p = impl_->git_projection.get()](uint64_t id) {
    return p->replicating(id);
  };
  git_opts.metrics = impl_->metrics;
  api::add_git_routes(*router, *impl_->services, *impl_->repos, *impl_->pending_pushes, git_opts);
  api::add_browse_routes(*router, *impl_->services, *impl_->repos);
  api::add_lfs_routes(*router, *impl_->services, *impl_->blobs,
                      {c.lfs_quota_bytes, c.lfs_max_object_bytes, git_opts.hosts});
  api::add_collaboration_routes(*router, *impl_->services, *impl_->repos);
  api::add_graphql_routes(*router, *impl_->services);  // POST /api/graphql (gh)
  api::add_peers_routes(*router, peers_source(impl_->network->discovery()));
  api::add_events_routes(*router, *impl_->services, impl_->live);
  opts.websocket = api::events_websocket(*impl_->services, impl_->live);
  api::add_notifications_routes(*router, *impl_->services, *impl_->notifications);
  // Releases (docs/releases.md): assets in the node's BlobStore.
  api::add_release_routes(*router, *impl_->services, *impl_->blobs, {c.release_asset_max_bytes});
  // CI runners: jobs, logs (<data>/ci-logs, then blobs), secrets (docs/ci.md).
  auto runner_routes = api::add_runner_routes(*router, *impl_->services, *impl_->blobs,
                                              std::filesystem::path(c.data_dir) / "ci-logs");
  auto listen_late = [impl = impl_.get()](std::function<void(const state::Block&)> f) {
    std::lock_guard lock(impl->late_mu);
    impl->late_listeners.push_back(std::move(f));
  };
  listen_late([on_block = runner_routes.on_block](const state::Block&) { on_block(); });
  // Blobs no state refers to any more are removed (expired artifacts...; docs/blobs.md).
  {
    BlobGcOptions go;
    go.interval = std::chrono::seconds(c.blob_gc_interval_seconds);
    go.grace = std::chrono::seconds(c.blob_gc_grace_seconds);
    go.metrics = c.metrics ? impl_->metrics : nullptr;
    impl_->blob_gc = std::make_unique<BlobCollector>(
        *impl_->blobs,
        [ch = impl_->chain.get()] {
          return state::live_blobs(ch->view(), ch->head().timestamp_ms);
        },
        std::move(go));
    impl_->blob_gc->start();
  }
  // CI runs from this node's pushes, merges and pull requests, and scheduled runs (docs/ci.md).
  impl_->ci_trigger = std::make_unique<api::CiTrigger>(
      *impl_->services,
      [repos = impl_->repos.get()](uint64_t id) { return repos->path_for(api::git_repo_key(id)); });
  listen_late([t = impl_->ci_trigger.get()](const state::Block& b) { t->on_block(b); });
  // One WebSocket hook for the server: live events, then live job logs.
  opts.websocket = [events = std::move(opts.websocket),
                    logs = std::move(runner_routes.log_websocket)](
                       api::Request& req) -> std::optional<api::WsResult> {
    if (auto r = events(req)) return r;
    return logs(req);
  };
  api::EvidenceSource evidence;
  if (auto* e = impl_->evidence.get()) evidence = [e](size_t limit) { return e->to_json(limit); };
  api::add_evidence_routes(*router, std::move(evidence));
  // Webhook routes: deliveries are this node's (docs/webhooks.md).
  {
    auto* wh = impl_->webhooks.get();
    api::WebhookDeliveries wd;
    wd.allow_private = c.webhook_allow_private;
    wd.list = [wh](uint64_t hook, size_t limit) {
      auto arr = nlohmann::ordered_json::array();
      for (const auto& d : wh->deliveries(hook, limit))
        arr.push_back(wh->delivery_json_of(d, false));
      return arr;
    };
    wd.get = [wh](uint64_t hook, uint64_t id) -> std::optional<nlohmann::ordered_json> {
      auto d = wh->delivery(hook, id);
      if (!d) return std::nullopt;
      return wh->delivery_json_of(*d, true);
    };
    wd.redeliver = [wh](uint64_t hook, uint64_t id) { return wh->redeliver(hook, id); };
    wd.ping = [wh](const state::Hook& h) { return wh->ping(h); };
    api::add_hook_routes(*router, *impl_->services, std::move(wd));
  }
  api::AdminHooks admin;
  admin.backup = [impl = impl_.get()](const std::string& out, bool include_keys,
                                      api::AdminHooks::BackupDone done) {
    if (impl->backup_running.exchange(true)) {
      done({Code::kConflict, "a backup is already running"}, "");
      return;
    }
    if (impl->backup_thread.joinable()) impl->backup_thread.join();  // the last one, finished
    impl->backup_thread = std::thread([impl, out, include_keys, done = std::move(done)] {
      BackupOptions bo;
      bo.out = out;
      bo.include_keys = include_keys;
      bo.cancel = &impl->backup_cancel;
      BackupSource src{*impl->db,          *impl->repos,  impl->config.data_dir,
                       impl->genesis_path, impl->genesis, impl->did};
      Status st;
      std::string summary;
      try {
        summary = backup_summary_json(write_backup(src, bo));
      } catch (const Error& e) {
        st = e.status();
      } catch (const std::exception& e) {
        st = {Code::kInternal, e.what()};
      }
      if (!st.ok()) spdlog::error("backup to {} failed: {}", out, st.message());
      impl->backup_running = false;
      done(st, summary);
    });
  };
  api::add_admin_routes(*router, std::move(admin));
  if (impl_->search_indexer)
    api::add_search_routes(*router,
                           std::make_shared<api::SearchEnv>(api::SearchEnv{
                               *impl_->services, *impl_->search_index, *impl_->search_indexer}));
  // CI/CD in GitHub Actions' REST shapes, check runs, runner policy (docs/ci.md "REST").
  api::add_actions_routes(*router, *impl_->services, *impl_->repos);
  // Health and metrics (docs/metrics.md): ready = consensus running, caught up, connected.
  const bool needs_peers = !validator || genesis.validators.size() > 1;
  auto readiness = [this, needs_peers] {
    api::ReadinessInput in;
    in.height = impl_->chain->head().height;
    in.network_height = impl_->finality->network_height();
    in.max_lag = impl_->config.ready_max_lag;
    in.needs_peers = needs_peers;
    in.peers = impl_->network->listening() ? impl_->network->transport().peers().size() : 0;
    // Validators of the current epoch: the engine entered a view (a validator outside the set
    // follows, as a full node does).
    auto* d = impl_->consensus->driver();
    in.consensus_running = d && d->active() ? d->view() > 0 : true;
    return in;
  };
  if (c.metrics) {
    NodeMetricsSources ms;
    ms.data_dir = c.data_dir;
    ms.validator = validator;
    ms.validators = genesis.validators.size();
    ms.chain = impl_->chain.get();
    ms.mempool = impl_->mempool.get();
    ms.driver = impl_->consensus->driver();
    ms.finality = impl_->finality.get();
    ms.network = impl_->network.get();
    ms.object_sync = impl_->object_sync.get();
    ms.maintenance = impl_->maintenance.get();
    if (auto* e = impl_->evidence.get()) ms.evidence_records = [e] { return e->count(); };
    ms.webhook_deliveries = [wh = impl_->webhooks.get()] {
      return std::pair<uint64_t, uint64_t>{wh->sent(), wh->failed()};
    };
    ms.db = impl_->db.get();
    ms.pending_pushes = impl_->pending_pushes.get();
    ms.ready = [readiness] { return api::evaluate_readiness(readiness()).ready; };
    add_node_collectors(*impl_->metrics, std::move(ms));
  }
  api::add_metrics_routes(*router, {c.metrics ? impl_->metrics : nullptr, std::move(readiness)});
  // The web interface (docs/web.md): HTML pages, and HTML error pages for browsers.
  web::WebOptions web_opts{impl_->db.get(), impl_->chain->schema().local,
                           c.web_session_hours * 3600 * 1000, tls};
  auto web_env =
      web::make_web_env(*impl_->services, *impl_->repos, peers_source(impl_->network->discovery()),
                        git_opts.hosts, web_opts);
  web::set_search_index(*web_env, impl_->search_index.get());
  web::set_notifications(*web_env, impl_->notifications.get());
  web::add_web_routes(*router, web_env);
  opts.error_page = web::web_error_pages(web_env);
  // The local operator's credential for the admin routes (node/backup.h), new at every start.
  auto admin_token = create_admin_token(c.data_dir);
  api::RateLimitOptions limits;
  limits.authenticated_per_hour = c.rate_limit_authenticated;
  limits.anonymous_per_hour = c.rate_limit_anonymous;
  auto limiter = std::make_shared<api::RateLimiter>(limits);
  api::add_rate_limit_routes(*router, limiter);
  // Authentication, then the REST budget (api/rate_limit.h), then authorization.
  auto middlewares = api::make_auth_middlewares(*impl_->services, std::move(admin_token),
                                                web::browser_sessions(web_env));
  middlewares.insert(middlewares.begin() + 1, api::make_rate_limit_middleware(limiter));
  impl_->server = std::make_unique<api::HttpServer>(opts, router, std::move(middlewares));
  impl_->server->start();
  uint16_t bound = impl_->server->port();
  if (c.public_url.empty())
    impl_->services->set_public_url(
        (tls ? "https://" : "http://") +
        (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
        std::to_string(bound));
  spdlog::info("API listening on {}", impl_->services->public_url());
  if (!c.port_file.empty()) atomic_write_file(c.port_file, as_bytes(std::to_string(bound) + "\n"));
  if (impl_->maintenance) impl_->maintenance->start();
  impl_->webhooks->start();
  if (impl_->search_indexer) impl_->search_indexer->start();
  // Git over SSH (docs/git.md "Git over SSH"): off unless ssh-port is set.
  if (c.ssh_port != 0) {
    SshServerOptions so;
    so.host = host;
    so.port = static_cast<uint16_t>(c.ssh_port);
    so.host_key_file = c.data_dir / "ssh_host_ed25519_key";
    impl_->ssh = std::make_unique<SshServer>(so, *impl_->services, *impl_->repos,
                                             *impl_->pending_pushes, git_opts);
    impl_->ssh->start();
  }
}

bool Node::reload() {
  if (!impl_->server || !impl_->server->tls()) {
    spdlog::info("reload: nothing to reload (the API serves plain HTTP)");
    return false;
  }
  try {
    spdlog::info("TLS certificate reloaded: {}", impl_->server->reload_tls());
    return true;
  } catch (const std::exception& e) {
    spdlog::error("TLS reload failed, new connections keep the current certificate: {}", e.what());
    return false;
  }
}

uint16_t Node::api_port() const {
  return impl_->server ? impl_->server->port() : 0;
}

void Node::stop() {
  if (impl_->repos) impl_->repos->set_change_listener({});
  // Ends a running git task; the object stays for /api/guts/status until the server is gone.
  if (impl_->maintenance) impl_->maintenance->stop();
  if (impl_->pending_pushes) impl_->pending_pushes->shutdown();  // pushes stop waiting
  if (impl_->ssh) impl_->ssh->stop();  // SSH sessions end before what they use goes away
  if (impl_->server) impl_->server->stop();
  if (impl_->webhooks) impl_->webhooks->stop();  // before the chain and services it reads
  if (impl_->search_indexer) impl_->search_indexer->stop();
  if (impl_->blob_gc) impl_->blob_gc->stop();
  // A backup in progress ends (its partial files removed) before the database and
  // repositories it reads go away.
  impl_->backup_cancel = true;
  if (impl_->backup_thread.joinable()) impl_->backup_thread.join();
  if (impl_->mempool) impl_->mempool->shutdown();
  if (impl_->finality) impl_->finality->stop();
  if (impl_->git_projection) impl_->git_projection->set_object_sync(nullptr);
  if (impl_->object_sync) impl_->object_sync->stop();  // before the network it sends through
  if (impl_->blob_sync) impl_->blob_sync->stop();
  if (impl_->network) impl_->network->stop();
  if (impl_->consensus) impl_->consensus->stop();
  impl_->server.reset();
  impl_->ssh.reset();
  impl_->maintenance.reset();
  impl_->webhooks.reset();
  impl_->search_indexer.reset();
  impl_->search_index.reset();
  {
    std::lock_guard lock(impl_->late_mu);
    impl_->late_listeners.clear();  // before what they call goes
  }
  impl_->ci_trigger.reset();  // no block commits any more: its listener is idle
  impl_->blob_gc.reset();
  impl_->services.reset();
  impl_->consensus.reset();
  impl_->evidence.reset();  // after the consensus driver that reports to it
  impl_->finality.reset();
  impl_->object_sync.reset();
  impl_->blob_sync.reset();
  impl_->network.reset();
  impl_->mempool.reset();
  impl_->tokens.reset();
  // The projection's resync thread reads the chain and takes pending pushes: it goes first
  // (no block commits any more, so its commit listener is idle). No push is in flight either:
  // the next start may trust the repositories as they are now.
  if (impl_->git_projection) impl_->git_projection->record_clean_stop();
  impl_->git_projection.reset();
  impl_->pending_pushes.reset();  // after the mempool: outcome callbacks refer to it
  impl_->notifications.reset();   // its commit listener is idle too; it reads the chain
  impl_->live.reset();
  impl_->chain.reset();
  impl_->repos.reset();
  impl_->blobs.reset();
  impl_->db.reset();
}

}  // namespace guts::node
