// Replication of git objects between nodes (docs/git.md "Replication").
#include "replication/object_sync.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "api/git_routes.h"
#include "codec/codec.h"
#include "core/assert.h"
#include "crypto/did.h"
#include "git/pack_transfer.h"
#include "git/ref_name.h"
#include "git/refs.h"
#include "git/repo_store.h"
#include "p2p/transport.h"
#include "replication/rules.h"
#include "state/proposal_objects.h"

namespace guts::replication {

namespace fs = std::filesystem;
// One attempt's answer on its way to index-pack: filled by Feed and Abort actions (I/O and
// timer threads), read by the Source of the attempt's fetching thread. Guarded by mu_.
struct ObjectSync::Pipe {
  std::deque<Bytes> chunks;
  bool eof = false;
  bool aborted = false;
  std::string reason;
};

namespace {

std::string did(const crypto::PublicKey& k) {
  return crypto::did_from_key(k);
}

FetcherOptions fetcher_options(const crypto::PublicKey& self, const ObjectSyncOptions& o) {
  FetcherOptions f;
  f.self = self;
  f.max_rounds = std::max<size_t>(1, o.client_threads);
  f.max_pack_bytes = o.max_pack_bytes;
  f.max_buffered_bytes = o.max_buffered_bytes;
  f.attempt_idle_ms = static_cast<uint64_t>(o.attempt_idle_timeout.count());
  f.retry_backoff_ms = static_cast<uint64_t>(o.retry_backoff.count());
  return f;
}

}  // namespace

ObjectSync::ObjectSync(Port port, git::RepoStore& store, ObjectSyncOptions options)
    : port_(std::move(port)),
      store_(store),
      opts_(std::move(options)),
      self_(port_.transport->id()),
      // The queue's bound is checked apart (squeue_); in total at most that many queued plus
      // one running per serving thread.
      admission_(opts_.max_requests_per_peer,
                 opts_.max_queued_requests + std::max<size_t>(1, opts_.server_threads)),
      core_(fetcher_options(self_, opts_)) {
  port_.subscribe(p2p::channel::kGit, [this](const crypto::PublicKey& peer, Bytes payload) {
    on_message(peer, std::move(payload));
  });
  port_.on_peer([this](const crypto::PublicKey& peer, bool up) { on_peer(peer, up); });
  for (size_t i = 0; i < std::max<size_t>(1, opts_.server_threads); ++i)
    servers_.emplace_back([this] { server_loop(); });
  for (size_t i = 0; i < std::max<size_t>(1, opts_.client_threads); ++i)
    clients_.emplace_back([this] { client_loop(); });
  timer_ = std::thread([this] { timer_loop(); });
  checker_ = std::thread([this] { check_loop(); });
}

ObjectSync::~ObjectSync() {
  stop();
}

void ObjectSync::stop() {
  if (stopping_.exchange(true)) return;
  { MutexLock l(smu_); }
  scv_.notify_all();
  { MutexLock l(backoff_mu_); }
  backoff_cv_.notify_all();
  { MutexLock l(mu_); }
  work_cv_.notify_all();
  timer_cv_.notify_all();
  pipe_cv_.notify_all();
  for (auto& t : servers_) t.join();
  for (auto& t : clients_) t.join();
  if (timer_.joinable()) timer_.join();
  if (checker_.joinable()) checker_.join();
  servers_.clear();
  clients_.clear();
  // Whoever still waits hears that the objects did not arrive.
  Later later;
  {
    MutexLock l(mu_);
    apply(core_.shutdown(), later);
    checks_.clear();
    work_.clear();
    pipes_.clear();
  }
  run_later(later);
}

ObjectSync::Stats ObjectSync::stats() const {
  Stats s;
  {
    MutexLock l(stats_mu_);
    s = stats_;
  }
  MutexLock l(mu_);
  s.pending_jobs = core_.jobs();
  return s;
}

// ---- messages (I/O thread: decode and hand over, never block) ----

void ObjectSync::block_peer(const crypto::PublicKey& peer, const std::string& why) {
  spdlog::warn("replication: blocking peer {}: {}", did(peer), why);
  transport().block(peer);
  MutexLock l(stats_mu_);
  ++stats_.peers_blocked;
}

void ObjectSync::on_message(const crypto::PublicKey& peer, Bytes payload) {
  if (stopping_) return;
  wire::Message m;
  try {
    m = wire::decode(payload);
  } catch (const codec::DecodeError& e) {
    return block_peer(peer, std::string("malformed replication message: ") + e.what());
  }
  if (auto* w = std::get_if<wire::Want>(&m)) {
    std::string refuse;
    {
      MutexLock l(smu_);
      if (squeue_.size() >= opts_.max_queued_requests || !admission_.admit(peer)) {
        refuse = "busy";
      } else {
        squeue_.push_back({peer, std::move(*w)});
      }
    }
    if (refuse.empty()) {
      scv_.notify_one();  // only server_loop threads wait on scv_
    } else {
      transport().send(peer, p2p::channel::kGit,
                       wire::encode(wire::NotFound{w->request_id, refuse}));
      MutexLock l(stats_mu_);
      ++stats_.requests_refused;
    }
  } else if (auto* c = std::get_if<wire::PackChunk>(&m)) {
    step([&](Fetcher& f) { return f.chunk(now_ms(), peer, std::move(*c)); });
  } else if (auto* nf = std::get_if<wire::NotFound>(&m)) {
    step([&](Fetcher& f) { return f.not_found(now_ms(), peer, *nf); });
  } else if (auto* inv = std::get_if<wire::Inventory>(&m)) {
    MutexLock l(mu_);
    core_.inventory(peer, std::move(*inv));
  }
}

void ObjectSync::on_peer(const crypto::PublicKey& peer, bool up) {
  if (stopping_) return;
  if (!up) {
    step([&](Fetcher& f) { return f.peer(now_ms(), peer, false); });
    return;
  }
  transport().send(peer, p2p::channel::kGit, inventory_message(peer));
}

Bytes ObjectSync::inventory_message(const crypto::PublicKey& peer) {
  wire::Inventory inv;
  {
    MutexLock l(imu_);
    inv = mine_;
  }
  if (!inv.hosts_all && opts_.may_share)
    inv.repos = inventory_for(inv.repos, [&](uint64_t id) { return opts_.may_share(peer, id); });
  return wire::encode(inv);
}

// ---- inventory ----

void ObjectSync::set_inventory(bool hosts_all, std::vector<uint64_t> repos) {
  std::sort(repos.begin(), repos.end());
  repos.erase(std::unique(repos.begin(), repos.end()), repos.end());
  if (hosts_all) repos.clear();
  if (repos.size() > wire::kMaxInventoryRepos) {
    spdlog::warn("replication: inventory of {} repositories truncated", repos.size());
    repos.resize(wire::kMaxInventoryRepos);
  }
  {
    MutexLock l(imu_);
    wire::Inventory inv{hosts_all, std::move(repos)};
    if (inv == mine_) return;
    mine_ = std::move(inv);
  }
  if (stopping_ || !port_.listening()) return;
  // Per peer: a private repository is named only to peers that may hold it.
  for (const auto& p : transport().peers())
    transport().send(p.id, p2p::channel::kGit, inventory_message(p.id));
}

std::vector<crypto::PublicKey> ObjectSync::hosting_peers(uint64_t repo_id) const {
  MutexLock l(mu_);
  return core_.hosting_peers(repo_id);
}

// ---- serving ----

void ObjectSync::server_loop() {
  for (;;) {
    ServeTask task;
    {
      MutexLock l(smu_);
      while (!stopping_ && squeue_.empty()) l.wait(scv_);
      if (stopping_) return;
      task = std::move(squeue_.front());
      squeue_.pop_front();
    }
    try {
      serve(task);
    } catch (const std::exception& e) {
      spdlog::debug("replication: serving {}: {}", did(task.peer), e.what());
    }
    MutexLock l(smu_);
    admission_.release(task.peer);
  }
}

void ObjectSync::send_reliably(const crypto::PublicKey& peer, ByteView payload) {
  auto give_up = Clock::now() + opts_.send_stall_timeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (stopping_) throw Error(Code::kUnavailable, "shutting down");
    if (transport().send(peer, p2p::channel::kGit, payload)) return;
    if (!transport().connected(peer)) throw Error(Code::kUnavailable, "peer disconnected");
    if (Clock::now() > give_up) throw Error(Code::kUnavailable, "peer does not drain its queue");
    // The transport has no "queue drained" event: back off while its send queue is full.
    MutexLock l(backoff_mu_);
    if (!stopping_) l.wait_for(backoff_cv_, pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

void ObjectSync::serve(const ServeTask& task) {
  const auto& w = task.want;
  auto refuse = [&](const std::string& reason) {
    transport().send(task.peer, p2p::channel::kGit,
                     wire::encode(wire::NotFound{w.request_id, reason}));
    MutexLock l(stats_mu_);
    ++stats_.requests_refused;
  };
  auto key = api::git_repo_key(w.repo_id);
  if (opts_.may_share && !opts_.may_share(task.peer, w.repo_id)) {
    // Exactly the answer to a repository we do not host: no existence leak.
    {
      MutexLock l(stats_mu_);
      ++stats_.private_refusals;
    }
    spdlog::debug("replication: {} may not fetch private repository {}", did(task.peer), w.repo_id);
    return refuse("repository not hosted here");
  }
  if (!store_.exists(key)) return refuse("repository not hosted here");
  git::PackRequest req;
  for (const auto& o : w.wants) req.wants.push_back(wire::to_hex(o));
  for (const auto& o : w.haves) req.haves.push_back(wire::to_hex(o));
  req.max_bytes = opts_.max_pack_bytes;
  req.chunk_size = wire::kMaxChunkBytes;
  auto dir = store_.path_for(key);
  uint64_t seq = 0;
  auto send_chunk = [&](ByteView c, bool last) {
    wire::PackChunk chunk{w.request_id, seq++, last, Bytes(c.begin(), c.end())};
    send_reliably(task.peer, wire::encode(chunk));
  };
  try {
    if (opts_.serve_override) {  // test seam (ObjectSyncOptions::serve_override)
      Bytes pack = opts_.serve_override(dir, req);
      ByteView rest(pack);
      do {
        size_t n = std::min(rest.size(), wire::kMaxChunkBytes);
        send_chunk(rest.first(n), n == rest.size());
        rest = rest.subspan(n);
      } while (!rest.empty());
      MutexLock l(stats_mu_);
      ++stats_.requests_served;
      return;
    }
    git::write_pack(dir, req, send_chunk);
  } catch (const Error& e) {
    if (e.code() == Code::kUnavailable) throw;  // peer gone or we stop: nobody to answer
    spdlog::debug("replication: request {} of {} for repository {}: {}", w.request_id,
                  did(task.peer), w.repo_id, e.what());
    return refuse(e.what());
  }
  MutexLock l(stats_mu_);
  ++stats_.requests_served;
}

// ---- fetching ----

std::map<uint64_t, std::vector<std::string>> ObjectSync::objects_needed(const state::Block& block) {
  std::map<uint64_t, std::set<std::string>> need;
  for (const auto& tx : block.txs) {
    if (const auto* u = std::get_if<state::UpdateRefs>(&tx.body)) {
      for (const auto& c : u->changes)
        if (c.new_oid.size() == 20) need[u->repo_id].insert(hex_encode(c.new_oid));
    } else if (const auto* m = std::get_if<state::MergePullRequest>(&tx.body)) {
      if (m->merge_sha.size() == 20) need[m->repo_id].insert(hex_encode(m->merge_sha));
    } else if (const auto* p = std::get_if<state::CreateProposal>(&tx.body)) {
      for (const auto& [repo, oid] : state::proposal_object_tips(*p))  // a proposed merge
        if (oid.size() == 20) need[repo].insert(hex_encode(oid));
    }
  }
  std::map<uint64_t, std::vector<std::string>> out;
  for (auto& [repo, oids] : need) out[repo].assign(oids.begin(), oids.end());
  return out;
}

void ObjectSync::ensure_block(const state::Block& block, std::vector<crypto::PublicKey> hints,
                              Clock::time_point deadline, Done done) {
  auto need = objects_needed(block);
  if (need.empty()) return done(true);
  struct All {
    Mutex mu;
    size_t left = 0;
    bool ok = true;
    Done done;
  };
  auto all = std::make_shared<All>();
  all->left = need.size();
  all->done = std::move(done);
  for (auto& [repo, tips] : need) {
    ensure(repo, std::move(tips), hints, deadline, [all](bool ok) {
      Done d;
      bool result = false;
      {
        MutexLock l(all->mu);
        all->ok = all->ok && ok;
        if (--all->left > 0) return;
        d = std::move(all->done);
        result = all->ok;
      }
      d(result);
    });
  }
}

void ObjectSync::ensure(uint64_t repo_id, std::vector<std::string> tips,
                        std::vector<crypto::PublicKey> hints, Clock::time_point deadline,
                        Done done) {
  if (stopping_) return done(false);
  // The Fetcher answers false to both; the warnings are the driver's.
  if (std::any_of(tips.begin(), tips.end(), [](const auto& t) { return !git::is_valid_oid(t); }))
    spdlog::warn("replication: ensure({}) with a malformed oid", repo_id);
  else if (tips.size() > wire::kMaxWants)
    spdlog::warn("replication: ensure({}) with {} tips, over the protocol's bound", repo_id,
                 tips.size());
  // Far deadlines (time_point::max()) are capped so that milliseconds do not overflow.
  const auto now = Clock::now();
  deadline = std::min(deadline, now + std::chrono::hours(24 * 365 * 10));
  Later later;
  {
    MutexLock l(mu_);
    if (stopping_) {  // stop() may already have answered every waiter: nobody would run this job
      l.unlock();
      return done(false);
    }
    WaiterId id = next_waiter_++;
    waiters_.emplace(id, std::move(done));
    apply(core_.ensure(to_ms(now), id, repo_id, std::move(tips), hints, to_ms(deadline)), later);
  }
  run_later(later);  // no tips: done(true) on the caller's thread, as before
}

uint64_t ObjectSync::to_ms(Clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return ms < 0 ? 0 : static_cast<uint64_t>(ms);
}

template <typename Event>
void ObjectSync::step(Event&& event) {
  Later later;
  {
    MutexLock l(mu_);
    apply(event(core_), later);
  }
  run_later(later);
}

void ObjectSync::apply(FetcherActions a, Later& later) {
  bool work = false;
  for (auto& c : a.checks) {
    if (c.first)
      checks_.push_back(std::move(c));
    else
      work_.push_back(std::move(c));
    work = true;
  }
  for (auto& s : a.attempts) {
    pipes_[s.request] = std::make_shared<Pipe>();
    work_.push_back(std::move(s));
    work = true;
  }
  bool piped = false;
  for (auto& f : a.feeds) {
    auto it = pipes_.find(f.request);
    if (it == pipes_.end()) continue;  // its verification already ended
    if (!f.data.empty()) it->second->chunks.push_back(std::move(f.data));
    it->second->eof = it->second->eof || f.last;
    piped = true;
  }
  for (auto& ab : a.aborts) {
    auto it = pipes_.find(ab.request);
    if (it == pipes_.end()) continue;
    it->second->aborted = true;
    it->second->reason = std::move(ab.reason);
    piped = true;
  }
  for (auto& b : a.blocks) later.blocks.push_back(std::move(b));
  uint64_t failed = 0;
  for (const auto& c : a.completes) {
    auto it = waiters_.find(c.waiter);
    GUTS_ASSERT(it != waiters_.end(), "replication: completing an unknown waiter");
    later.dones.emplace_back(std::move(it->second), c.ok);
    waiters_.erase(it);
    failed += c.ok ? 0 : 1;
  }
  if (failed) {
    MutexLock l(stats_mu_);
    stats_.fetches_failed += failed;
  }
  if (work) work_cv_.notify_all();
  if (piped) pipe_cv_.notify_all();
  if (a.wake != wake_) {
    wake_ = a.wake;
    timer_cv_.notify_all();
  }
}

void ObjectSync::run_later(Later& later) {
  for (const auto& b : later.blocks) block_peer(b.peer, b.why);
  for (auto& [done, ok] : later.dones) done(ok);
}

void ObjectSync::check_loop() {
  for (;;) {
    CheckClosure c;
    {
      MutexLock l(mu_);
      while (!stopping_ && checks_.empty()) l.wait(work_cv_);
      if (stopping_) return;
      c = std::move(checks_.front());
      checks_.pop_front();
    }
    check(c);
  }
}

void ObjectSync::client_loop() {
  for (;;) {
    Work w;
    {
      MutexLock l(mu_);
      while (!stopping_ && work_.empty()) l.wait(work_cv_);
      if (stopping_) return;
      w = std::move(work_.front());
      work_.pop_front();
    }
    if (auto* c = std::get_if<CheckClosure>(&w))
      check(*c);
    else
      attempt(std::get<StartAttempt>(w));
  }
}

void ObjectSync::timer_loop() {
  MutexLock l(mu_);
  while (!stopping_) {
    if (!wake_) {
      l.wait(timer_cv_);
      continue;
    }
    const auto at = Clock::time_point(std::chrono::milliseconds(*wake_));
    if (Clock::now() < at) {
      l.wait_until(timer_cv_, at);
      continue;
    }
    Later later;
    apply(core_.tick(now_ms()), later);
    l.unlock();
    run_later(later);
    l.lock();
  }
}

// Are the tips and everything they reach here (in the repository or a push quarantine)?
void ObjectSync::check(const CheckClosure& c) {
  bool present = false;
  auto key = api::git_repo_key(c.repo_id);
  try {
    // A block being verified may update a repository whose creation this node has not applied
    // yet: before a round the objects get a home, which the projection creates idempotently.
    if (!c.first && store_.create(key))
      spdlog::info("replication: created repository {} to receive objects", c.repo_id);
    present = store_.exists(key) && git::has_closure(store_.path_for(key), c.tips, true);
  } catch (const std::exception& e) {
    spdlog::debug("replication: checking repository {}: {}", c.repo_id, e.what());
  }
  std::vector<crypto::PublicKey> validators;
  if (!c.first) validators = port_.validator_keys();  // the candidates are chosen now
  step([&](Fetcher& f) {
    if (!c.first) f.set_validators(std::move(validators));
    return f.closure_checked(now_ms(), c.job, present);
  });
}

// One Want to one peer, its pack verified by git and migrated into the repository.
void ObjectSync::attempt(const StartAttempt& a) {
  std::shared_ptr<Pipe> pipe;
  {
    MutexLock l(mu_);
    auto it = pipes_.find(a.request);
    if (it != pipes_.end() && !it->second->aborted) pipe = it->second;  // else: nobody waits
  }
  // The attempt is over: its pipe goes, the Fetcher hears how it ended.
  auto report = [&](const auto& event) {
    Later later;
    {
      MutexLock l(mu_);
      pipes_.erase(a.request);
      apply(event(core_), later);
    }
    run_later(later);
  };
  auto unsent = [&] { report([&](Fetcher& f) { return f.unsent(now_ms(), a.request); }); };
  if (!pipe || transport().is_blocked(a.peer) || !transport().connected(a.peer)) return unsent();
  auto dir = store_.path_for(api::git_repo_key(a.repo_id));
  wire::Want want;
  want.request_id = a.request;
  want.repo_id = a.repo_id;
  for (const auto& t : a.tips) want.wants.push_back(wire::from_hex(t));
  Verification result = Verification::kFailed;
  std::string detail;
  try {
    // Haves: our ref tips, whose closure is complete; the server leaves out what they reach.
    std::set<std::string> haves;
    for (const auto& r : git::list_refs(dir)) {
      if (haves.size() >= wire::kMaxHaves) break;
      haves.insert(r.oid);
    }
    for (const auto& h : haves) want.haves.push_back(wire::from_hex(h));
  } catch (const std::exception& e) {
    spdlog::error("replication: repository {}: {}", a.repo_id, e.what());
    return unsent();
  }
  {
    MutexLock l(stats_mu_);
    ++stats_.attempts;
  }
  if (!transport().send(a.peer, p2p::channel::kGit, wire::encode(want))) return unsent();

  // index-pack pulls the chunks as they arrive; memory stays at what it has not read yet. The
  // Fetcher ends a silent or broken attempt by aborting the pipe.
  Bytes cur;
  size_t pos = 0;
  uint64_t total = 0;
  git::Source source = [&](uint8_t* buf, size_t cap) -> size_t {
    if (pos >= cur.size()) {
      MutexLock l(mu_);
      for (;;) {
        if (!pipe->chunks.empty()) {
          cur = std::move(pipe->chunks.front());
          pipe->chunks.pop_front();
          core_.consumed(a.request, cur.size());
          pos = 0;
          break;
        }
        if (pipe->eof) return 0;
        if (stopping_) throw Error(Code::kUnavailable, "shutting down");
        if (pipe->aborted) throw Error(Code::kUnavailable, pipe->reason);
        l.wait(pipe_cv_);
      }
    }
    size_t n = std::min(cap, cur.size() - pos);
    std::copy_n(cur.data() + pos, n, buf);
    pos += n;
    total += n;
    return n;
  };
  try {
    git::IngestOptions io;
    // Our own bound (overflow) triggers first: index-pack's would blame an honest peer.
    io.max_pack_bytes = opts_.max_pack_bytes + wire::kMaxChunkBytes;
    git::ingest_pack(dir, source, a.tips, io);
    result = Verification::kOk;
  } catch (const Error& e) {
    detail = e.what();
    if (e.code() == Code::kInvalidArgument) {
      result = Verification::kBadPack;
      MutexLock l(stats_mu_);
      ++stats_.packs_rejected;
    } else if (e.code() == Code::kInternal) {
      spdlog::error("replication: repository {} from {}: {}", a.repo_id, did(a.peer), e.what());
    } else {
      spdlog::debug("replication: repository {} from {}: {}", a.repo_id, did(a.peer), e.what());
    }
  }
  if (result == Verification::kOk) {
    spdlog::info("replication: repository {}: fetched {} tip(s) from {} ({} bytes)", a.repo_id,
                 a.tips.size(), did(a.peer), total);
    MutexLock l(stats_mu_);
    ++stats_.packs_fetched;
  }
  if (stopping_) return;  // stop() answers the waiters
  report([&](Fetcher& f) { return f.verified(now_ms(), a.request, result, detail); });
}

}  // namespace guts::replication
