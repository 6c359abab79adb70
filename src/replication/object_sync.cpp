// Replication of git objects between nodes (docs/git.md "Replication").
#include "replication/object_sync.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "api/git_routes.h"
#include "codec/codec.h"
#include "crypto/did.h"
#include "git/pack_transfer.h"
#include "git/refs.h"
#include "git/repo_store.h"
#include "p2p/transport.h"
#include "replication/rules.h"

namespace guts::replication {

namespace fs = std::filesystem;

// One fetch: a repository and the tips it must hold, shared by every ensure() asking for them.
struct ObjectSync::Job {
  uint64_t repo_id = 0;
  std::vector<std::string> tips;
  std::vector<crypto::PublicKey> hints;
  struct Waiter {
    Clock::time_point deadline;
    Done done;
  };
  std::vector<Waiter> waiters;  // guarded by cmu_
  std::atomic<bool> cancelled{false};
  Clock::time_point not_before{};  // next round over the candidates (guarded by cmu_)
};

// One Want in flight: chunks handed from the I/O thread to the fetching thread.
struct ObjectSync::Inflight {
  crypto::PublicKey peer;
  Mutex mu;
  std::condition_variable cv;
  std::deque<Bytes> chunks;
  ChunkStream stream;
  bool not_found = false;
  std::string reason;
  bool overflow = false;
  bool violation = false;
  Inflight(const crypto::PublicKey& p, const ObjectSyncOptions& o)
      : peer(p), stream(o.max_pack_bytes, o.max_buffered_bytes) {}
  Clock::time_point last_activity = Clock::now();
};

namespace {

std::string did(const crypto::PublicKey& k) {
  return crypto::did_from_key(k);
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
                 opts_.max_queued_requests + std::max<size_t>(1, opts_.server_threads)) {
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
  {
    MutexLock l(cmu_);
    for (auto& [id, f] : inflight_) {
      MutexLock fl(f->mu);
      f->cv.notify_all();
    }
  }
  ccv_.notify_all();
  tcv_.notify_all();
  for (auto& t : servers_) t.join();
  for (auto& t : clients_) t.join();
  if (timer_.joinable()) timer_.join();
  if (checker_.joinable()) checker_.join();
  servers_.clear();
  clients_.clear();
  // Whoever still waits hears that the objects did not arrive.
  std::vector<Done> fail;
  {
    MutexLock l(cmu_);
    for (auto& [key, job] : jobs_)
      for (auto& w : job->waiters) fail.push_back(std::move(w.done));
    jobs_.clear();
    cqueue_.clear();
    checks_.clear();
  }
  for (auto& d : fail) d(false);
}

ObjectSync::Stats ObjectSync::stats() const {
  MutexLock l(stats_mu_);
  return stats_;
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
    on_chunk(peer, std::move(*c));
  } else if (auto* nf = std::get_if<wire::NotFound>(&m)) {
    on_not_found(peer, *nf);
  } else if (auto* inv = std::get_if<wire::Inventory>(&m)) {
    MutexLock l(imu_);
    theirs_[peer] = std::move(*inv);
  }
}

void ObjectSync::on_peer(const crypto::PublicKey& peer, bool up) {
  if (stopping_) return;
  if (!up) {
    MutexLock l(imu_);
    theirs_.erase(peer);
    return;
  }
  Bytes inv;
  {
    MutexLock l(imu_);
    inv = wire::encode(mine_);
  }
  transport().send(peer, p2p::channel::kGit, inv);
}

void ObjectSync::on_chunk(const crypto::PublicKey& peer, wire::PackChunk chunk) {
  std::shared_ptr<Inflight> f;
  {
    MutexLock l(cmu_);
    auto it = inflight_.find(chunk.request_id);
    if (it == inflight_.end() || it->second->peer != peer)
      return;  // late answer to a closed request
    f = it->second;
  }
  std::string violation;
  {
    MutexLock l(f->mu);
    switch (f->stream.on_chunk(chunk.seq, chunk.last, chunk.data.size())) {
      case ChunkStream::Verdict::kViolation:
        violation = "pack chunk out of order";
        f->violation = true;
        break;
      case ChunkStream::Verdict::kOverflow:
        f->last_activity = Clock::now();
        f->overflow = true;  // an honest peer with a large pack is not punished
        break;
      case ChunkStream::Verdict::kAccepted:
        f->last_activity = Clock::now();
        if (!chunk.data.empty()) f->chunks.push_back(std::move(chunk.data));
        break;
    }
    f->cv.notify_all();
  }
  if (!violation.empty()) block_peer(peer, violation);
}

void ObjectSync::on_not_found(const crypto::PublicKey& peer, const wire::NotFound& nf) {
  std::shared_ptr<Inflight> f;
  {
    MutexLock l(cmu_);
    auto it = inflight_.find(nf.request_id);
    if (it == inflight_.end() || it->second->peer != peer) return;
    f = it->second;
  }
  MutexLock l(f->mu);
  f->not_found = true;
  f->reason = nf.reason;
  f->last_activity = Clock::now();
  f->cv.notify_all();
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
  Bytes msg;
  {
    MutexLock l(imu_);
    wire::Inventory inv{hosts_all, std::move(repos)};
    if (inv == mine_) return;
    mine_ = std::move(inv);
    msg = wire::encode(mine_);
  }
  if (!stopping_ && port_.listening()) transport().broadcast(p2p::channel::kGit, msg);
}

std::vector<crypto::PublicKey> ObjectSync::hosting_peers(uint64_t repo_id) const {
  std::vector<crypto::PublicKey> out;
  MutexLock l(imu_);
  for (const auto& [peer, inv] : theirs_)
    if (inv.hosts_all || std::binary_search(inv.repos.begin(), inv.repos.end(), repo_id))
      out.push_back(peer);
  return out;
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
  std::sort(tips.begin(), tips.end());
  tips.erase(std::unique(tips.begin(), tips.end()), tips.end());
  for (const auto& t : tips)
    if (!git::is_valid_oid(t)) {
      spdlog::warn("replication: ensure({}) with a malformed oid", repo_id);
      return done(false);
    }
  if (tips.empty()) return done(true);
  if (tips.size() > wire::kMaxWants) {
    spdlog::warn("replication: ensure({}) with {} tips, over the protocol's bound", repo_id,
                 tips.size());
    return done(false);
  }
  // Whether the objects are already here is git's to say: run_round asks it first, on a
  // fetching thread, never on the caller's (the ledger's) thread.
  {
    MutexLock l(cmu_);
    auto& job = jobs_[{repo_id, tips}];
    bool fresh = !job;
    if (fresh) {
      job = std::make_shared<Job>();
      job->repo_id = repo_id;
      job->tips = tips;
    }
    for (const auto& h : hints)
      if (std::find(job->hints.begin(), job->hints.end(), h) == job->hints.end())
        job->hints.push_back(h);
    job->waiters.push_back({deadline, std::move(done)});
    if (fresh) checks_.push_back(job);
  }
  ccv_.notify_all();
  tcv_.notify_all();
}

void ObjectSync::check_loop() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      MutexLock l(cmu_);
      while (!stopping_ && checks_.empty()) l.wait(ccv_);
      if (stopping_) return;
      job = std::move(checks_.front());
      checks_.pop_front();
      if (job->cancelled) continue;  // its callers already heard
    }
    // Already here (in the repository or a push quarantine)? Then no fetch, no thread of the
    // fetching pool taken: the common case of a block whose pushes reached this node.
    bool present = false;
    auto key = api::git_repo_key(job->repo_id);
    try {
      present = store_.exists(key) && git::has_closure(store_.path_for(key), job->tips, true);
    } catch (const std::exception& e) {
      spdlog::debug("replication: checking repository {}: {}", job->repo_id, e.what());
    }
    if (present) {
      finish(job, true);
      continue;
    }
    {
      MutexLock l(cmu_);
      cqueue_.push_back(job);
    }
    ccv_.notify_all();
  }
}

ObjectSync::Clock::time_point ObjectSync::job_deadline(const Job& job) const {
  MutexLock l(cmu_);
  Clock::time_point d{};
  for (const auto& w : job.waiters) d = std::max(d, w.deadline);
  return d;
}

void ObjectSync::timer_loop() {
  MutexLock l(cmu_);
  while (!stopping_) {
    auto now = Clock::now();
    auto next = Clock::time_point::max();
    std::vector<Done> expired;
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      auto& ws = it->second->waiters;
      for (auto w = ws.begin(); w != ws.end();) {
        if (w->deadline <= now) {
          expired.push_back(std::move(w->done));
          w = ws.erase(w);
        } else {
          next = std::min(next, w->deadline);
          ++w;
        }
      }
      if (ws.empty()) {
        it->second->cancelled = true;  // its thread stops at the next check
        it = jobs_.erase(it);
      } else {
        ++it;
      }
    }
    if (!expired.empty()) {
      l.unlock();
      for (auto& d : expired) d(false);
      l.lock();
      continue;
    }
    if (next == Clock::time_point::max())
      l.wait(tcv_);
    else
      l.wait_until(tcv_, next);
  }
}

void ObjectSync::client_loop() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      // The first job whose next round is due; a job waiting to retry holds no thread.
      MutexLock l(cmu_);
      while (!job) {
        if (stopping_) return;
        auto now = Clock::now();
        auto next = Clock::time_point::max();
        for (auto it = cqueue_.begin(); it != cqueue_.end();) {
          if ((*it)->cancelled) {
            it = cqueue_.erase(it);  // its callers already heard
          } else if ((*it)->not_before <= now) {
            job = std::move(*it);
            cqueue_.erase(it);
            break;
          } else {
            next = std::min(next, (*it)->not_before);
            ++it;
          }
        }
        if (job) break;
        if (next == Clock::time_point::max())
          l.wait(ccv_);
        else
          l.wait_until(ccv_, next);
      }
    }
    bool again = false;
    try {
      again = run_round(job);
    } catch (const std::exception& e) {
      spdlog::error("replication: repository {}: {}", job->repo_id, e.what());
      finish(job, false);
    }
    if (again) {
      // Nobody could serve it yet (peers not connected, push not yet forwarded, …): ask again.
      {
        MutexLock l(cmu_);
        job->not_before = Clock::now() + opts_.retry_backoff;
        cqueue_.push_back(job);
      }
      ccv_.notify_all();
    }
  }
}

void ObjectSync::finish(const std::shared_ptr<Job>& job, bool ok) {
  std::vector<Done> dones;
  {
    MutexLock l(cmu_);
    auto it = jobs_.find({job->repo_id, job->tips});
    if (it != jobs_.end() && it->second == job) jobs_.erase(it);
    for (auto& w : job->waiters) dones.push_back(std::move(w.done));
    job->waiters.clear();
    job->cancelled = true;
  }
  tcv_.notify_all();
  for (auto& d : dones) d(ok);
}

std::vector<crypto::PublicKey> ObjectSync::candidates(const Job& job) const {
  std::vector<crypto::PublicKey> hints;
  {
    MutexLock l(cmu_);
    hints = job.hints;
  }
  return candidate_order(self_, hints, port_.validator_keys(), hosting_peers(job.repo_id));
}

bool ObjectSync::run_round(const std::shared_ptr<Job>& job) {
  auto key = api::git_repo_key(job->repo_id);
  if (stopping_ || job->cancelled || Clock::now() >= job_deadline(*job)) {
    finish(job, false);
    return false;
  }
  // A block being verified may update a repository whose creation this node has not applied
  // yet: the objects need a home before the projection creates it (idempotently).
  if (store_.create(key))
    spdlog::info("replication: created repository {} to receive objects", job->repo_id);
  if (git::has_closure(store_.path_for(key), job->tips, true)) {
    finish(job, true);
    return false;
  }
  for (const auto& peer : candidates(*job)) {
    if (stopping_ || job->cancelled || Clock::now() >= job_deadline(*job)) break;
    if (transport().is_blocked(peer) || !transport().connected(peer)) continue;
    if (attempt(job, peer)) {
      finish(job, true);
      return false;
    }
  }
  return true;
}

bool ObjectSync::attempt(const std::shared_ptr<Job>& job, const crypto::PublicKey& peer) {
  auto key = api::git_repo_key(job->repo_id);
  auto dir = store_.path_for(key);
  wire::Want want;
  want.repo_id = job->repo_id;
  for (const auto& t : job->tips) want.wants.push_back(wire::from_hex(t));
  // Haves: our ref tips, whose closure is complete; the server leaves out what they reach.
  std::set<std::string> haves;
  for (const auto& r : git::list_refs(dir)) {
    if (haves.size() >= wire::kMaxHaves) break;
    haves.insert(r.oid);
  }
  for (const auto& h : haves) want.haves.push_back(wire::from_hex(h));

  auto f = std::make_shared<Inflight>(peer, opts_);
  {
    MutexLock l(cmu_);
    want.request_id = next_request_++;
    inflight_[want.request_id] = f;
  }
  struct Unregister {
    ObjectSync* self;
    uint64_t id;
    ~Unregister() {
      MutexLock l(self->cmu_);
      self->inflight_.erase(id);
    }
  } unregister{this, want.request_id};
  {
    MutexLock l(stats_mu_);
    ++stats_.attempts;
  }
  f->last_activity = Clock::now();
  if (!transport().send(peer, p2p::channel::kGit, wire::encode(want))) return false;

  // A candidate that has not started answering within half of the time left (at least
  // 300 ms) gives way to the next: one silent peer must not eat a verify's whole deadline.
  const auto first_answer = first_answer_by(Clock::now(), job_deadline(*job));
  // index-pack pulls the chunks as they arrive; memory stays at what it has not read yet.
  Bytes cur;
  size_t pos = 0;
  git::Source source = [&](uint8_t* buf, size_t cap) -> size_t {
    const auto deadline = job_deadline(*job);  // takes cmu_: never while holding f->mu
    MutexLock l(f->mu);
    for (;;) {
      if (pos < cur.size()) {
        size_t n = std::min(cap, cur.size() - pos);
        std::copy_n(cur.data() + pos, n, buf);
        pos += n;
        return n;
      }
      if (!f->chunks.empty()) {
        cur = std::move(f->chunks.front());
        f->chunks.pop_front();
        f->stream.consumed(cur.size());
        pos = 0;
        continue;
      }
      if (f->stream.eof()) return 0;
      if (stopping_) throw Error(Code::kUnavailable, "shutting down");
      if (job->cancelled) throw Error(Code::kUnavailable, "nobody waits any more");
      if (f->violation) throw Error(Code::kUnavailable, "protocol violation");
      if (f->not_found) throw Error(Code::kNotFound, f->reason);
      if (f->overflow) throw Error(Code::kTooLarge, "pack too large");
      auto until = attempt_wait_until(f->last_activity, deadline, opts_.attempt_idle_timeout,
                                      f->stream.total() > 0, first_answer);
      if (Clock::now() >= until) throw Error(Code::kUnavailable, "timed out");
      l.wait_until(f->cv, std::min(until, Clock::now() + std::chrono::milliseconds(200)));
    }
  };
  try {
    git::IngestOptions io;
    // Our own bound (overflow above) triggers first: index-pack's would blame an honest peer.
    io.max_pack_bytes = opts_.max_pack_bytes + wire::kMaxChunkBytes;
    git::ingest_pack(dir, source, job->tips, io);
  } catch (const Error& e) {
    if (e.code() == Code::kInvalidArgument) {
      {
        MutexLock l(stats_mu_);
        ++stats_.packs_rejected;
      }
      block_peer(peer, "repository " + std::to_string(job->repo_id) + ": bad pack: " + e.what());
    } else if (e.code() == Code::kInternal) {
      spdlog::error("replication: repository {} from {}: {}", job->repo_id, did(peer), e.what());
    } else {
      spdlog::debug("replication: repository {} from {}: {}", job->repo_id, did(peer), e.what());
    }
    return false;
  }
  spdlog::info("replication: repository {}: fetched {} tip(s) from {} ({} bytes)", job->repo_id,
               job->tips.size(), did(peer), f->stream.total());
  MutexLock l(stats_mu_);
  ++stats_.packs_fetched;
  return true;
}

}  // namespace guts::replication
