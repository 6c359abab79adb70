// Blob replication driver (replication/blob_sync.h).
#include "replication/blob_sync.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "codec/codec.h"
#include "core/status.h"
#include "crypto/did.h"
#include "p2p/channels.h"
#include "p2p/transport.h"
#include "replication/rules.h"

namespace guts::replication {

namespace {
std::string did(const crypto::PublicKey& k) {
  return crypto::did_from_key(k);
}
}  // namespace

BlobSync::BlobSync(Port port, storage::BlobStore& store, BlobSyncOptions options)
    : port_(std::move(port)),
      store_(store),
      opts_(std::move(options)),
      self_(port_.transport->id()) {
  opts_.chunk_bytes = std::clamp<size_t>(opts_.chunk_bytes, 1, blobwire::kMaxBlobChunk);
  port_.subscribe(p2p::channel::kBlobs, [this](const crypto::PublicKey& peer, Bytes payload) {
    on_message(peer, std::move(payload));
  });
  port_.on_peer([this](const crypto::PublicKey& peer, bool up) { on_peer(peer, up); });
  server_ = std::thread([this] { server_loop(); });
  for (size_t i = 0; i < std::max<size_t>(1, opts_.client_threads); ++i)
    clients_.emplace_back([this] { client_loop(); });
}

BlobSync::~BlobSync() {
  stop();
}

void BlobSync::stop() {
  if (stopping_.exchange(true)) return;
  { MutexLock l(smu_); }
  scv_.notify_all();
  { MutexLock l(mu_); }
  cv_.notify_all();
  if (server_.joinable()) server_.join();
  for (auto& t : clients_) t.join();
  clients_.clear();
  std::deque<Job> left;
  {
    MutexLock l(mu_);
    left.swap(jobs_);
    slots_.clear();
  }
  for (auto& j : left) j.done(false);
}

BlobSync::Stats BlobSync::stats() const {
  MutexLock l(stats_mu_);
  return stats_;
}

void BlobSync::block_peer(const crypto::PublicKey& peer, const std::string& why) {
  spdlog::warn("blob replication: blocking peer {}: {}", did(peer), why);
  transport().block(peer);
  MutexLock l(stats_mu_);
  ++stats_.peers_blocked;
}

// ---- I/O thread: decode and hand over ----

void BlobSync::on_message(const crypto::PublicKey& peer, Bytes payload) {
  if (stopping_) return;
  blobwire::Message m;
  try {
    m = blobwire::decode(payload);
  } catch (const codec::DecodeError& e) {
    return block_peer(peer, std::string("malformed blob message: ") + e.what());
  }
  if (auto* g = std::get_if<blobwire::BlobGet>(&m)) {
    bool busy = false;
    {
      MutexLock l(smu_);
      if (squeue_.size() >= opts_.max_queued_requests ||
          per_peer_[peer] >= opts_.max_requests_per_peer) {
        busy = true;
      } else {
        ++per_peer_[peer];
        squeue_.push_back({peer, *g});
      }
    }
    if (busy) {
      transport().send(peer, p2p::channel::kBlobs,
                       blobwire::encode(blobwire::BlobMissing{g->request_id, "busy"}));
      MutexLock l(stats_mu_);
      ++stats_.requests_refused;
    } else {
      scv_.notify_one();
    }
    return;
  }
  uint64_t id = std::visit(
      [](const auto& v) -> uint64_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, blobwire::BlobGet>)
          return 0;
        else
          return v.request_id;
      },
      m);
  MutexLock l(mu_);
  auto it = slots_.find(id);
  if (it == slots_.end() || it->second->peer != peer || it->second->answered) return;  // late
  auto& slot = *it->second;
  slot.answered = true;
  if (auto* d = std::get_if<blobwire::BlobData>(&m))
    slot.data = std::move(*d);
  else
    slot.failed = true;
  cv_.notify_all();
}

void BlobSync::on_peer(const crypto::PublicKey& peer, bool up) {
  if (up) return;
  MutexLock l(mu_);
  for (auto& [id, slot] : slots_) {
    if (slot->peer == peer && !slot->answered) {
      slot->answered = true;
      slot->failed = true;
    }
  }
  cv_.notify_all();
}

// ---- serving ----

void BlobSync::server_loop() {
  for (;;) {
    ServeTask t;
    {
      MutexLock l(smu_);
      while (!stopping_ && squeue_.empty()) l.wait(scv_);
      if (stopping_) return;
      t = std::move(squeue_.front());
      squeue_.pop_front();
    }
    try {
      serve(t);
    } catch (const std::exception& e) {
      spdlog::debug("blob replication: serving {} failed: {}", did(t.peer), e.what());
    }
    MutexLock l(smu_);
    if (--per_peer_[t.peer] == 0) per_peer_.erase(t.peer);
  }
}

void BlobSync::serve(const ServeTask& t) {
  const auto& g = t.get;
  auto send = [&](const blobwire::Message& m) {
    auto bytes = blobwire::encode(m);
    auto give_up = Clock::now() + std::chrono::seconds(10);
    while (!stopping_ && !transport().send(t.peer, p2p::channel::kBlobs, bytes)) {
      if (!transport().connected(t.peer) || Clock::now() > give_up) return;
      MutexLock l(smu_);
      l.wait_for(scv_, std::chrono::milliseconds(5));  // send queue full: back off
    }
  };
  auto refuse = [&](std::string why) {
    send(blobwire::BlobMissing{g.request_id, std::move(why)});
    MutexLock l(stats_mu_);
    ++stats_.requests_refused;
  };
  if (opts_.may_share && !opts_.may_share(t.peer, g.repo_id)) {
    {
      MutexLock l(stats_mu_);
      ++stats_.private_refusals;
    }
    return refuse("not hosted");  // the answer to a blob we do not have: no existence leak
  }
  auto size = store_.size(g.sha256);
  if (!size) return refuse("not hosted");
  auto n = serve_length(*size, g.offset, g.length, blobwire::kMaxBlobChunk);
  if (!n) return refuse("range past the end");
  blobwire::BlobData d;
  d.request_id = g.request_id;
  d.total = *size;
  if (*n > 0) d.data = store_.read_range(g.sha256, g.offset, *n);
  if (d.data.size() != *n) return refuse("read failed");
  send(d);
  MutexLock l(stats_mu_);
  ++stats_.chunks_served;
}

// ---- fetching ----

void BlobSync::ensure(std::vector<state::BlobRef> refs, std::vector<crypto::PublicKey> hints,
                      Clock::time_point deadline, Done done) {
  refs.erase(std::remove_if(refs.begin(), refs.end(),
                            [&](const state::BlobRef& r) { return store_.contains(r.sha256); }),
             refs.end());
  if (refs.empty()) return done(true);
  if (stopping_) return done(false);
  {
    MutexLock l(mu_);
    jobs_.push_back({std::move(refs), std::move(hints), deadline, std::move(done)});
  }
  cv_.notify_all();
}

void BlobSync::ensure_block(const state::Block& block, std::vector<crypto::PublicKey> hints,
                            Clock::time_point deadline, Done done) {
  ensure(state::blob_refs(block), std::move(hints), deadline, std::move(done));
}

void BlobSync::client_loop() {
  for (;;) {
    Job job;
    {
      MutexLock l(mu_);
      while (!stopping_ && jobs_.empty()) l.wait(cv_);
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    bool ok = false;
    try {
      ok = run_job(job);
    } catch (const std::exception& e) {
      spdlog::warn("blob replication: {}", e.what());
    }
    if (!ok) {
      MutexLock l(stats_mu_);
      ++stats_.fetches_failed;
    }
    job.done(ok);
  }
}

bool BlobSync::run_job(const Job& job) {
  for (const auto& ref : job.refs) {
    if (ref.size > opts_.max_blob_bytes) return false;
    while (!store_.contains(ref.sha256)) {
      if (stopping_ || Clock::now() >= job.deadline) return false;
      if (fetch_one(ref, job.hints, job.deadline)) break;
      MutexLock l(mu_);  // every candidate failed: pause, then ask them all again
      if (!stopping_) l.wait_until(cv_, std::min(job.deadline, Clock::now() + opts_.retry_backoff));
    }
  }
  return true;
}

bool BlobSync::fetch_one(const state::BlobRef& ref, const std::vector<crypto::PublicKey>& hints,
                         Clock::time_point deadline) {
  auto validators =
      port_.validator_keys ? port_.validator_keys() : std::vector<crypto::PublicKey>{};
  auto hosting = opts_.hosting ? opts_.hosting(ref.repo_id) : std::vector<crypto::PublicKey>{};
  BlobFetch fetch(ref.size, candidate_order(self_, hints, validators, hosting), opts_.chunk_bytes);
  std::unique_ptr<storage::BlobStore::Writer> writer;
  while (auto ask = fetch.next()) {
    if (stopping_ || Clock::now() >= deadline) return false;
    if (ask->restart) writer = store_.begin(ref.size);
    auto slot = std::make_shared<Slot>();
    slot->peer = ask->peer;
    uint64_t id = 0;
    {
      MutexLock l(mu_);
      id = next_request_++;
      slots_[id] = slot;
    }
    blobwire::BlobGet get{id, ref.repo_id, ref.sha256, ask->offset, ask->length};
    bool sent = transport().send(ask->peer, p2p::channel::kBlobs, blobwire::encode(get));
    {
      MutexLock l(mu_);
      if (sent) {
        auto until = std::min(deadline, Clock::now() + opts_.idle_timeout);
        while (!slot->answered && !stopping_ && Clock::now() < until) l.wait_until(cv_, until);
      }
      slots_.erase(id);
    }
    if (!sent || !slot->answered || slot->failed) {
      fetch.on_failed();
      continue;
    }
    auto verdict = fetch.on_data(slot->data.total, slot->data.data.size());
    if (verdict == BlobFetch::Verdict::kViolation) {
      block_peer(ask->peer, "blob answer with a wrong size or range");
      fetch.on_failed();
      continue;
    }
    writer->write(slot->data.data);
    if (verdict == BlobFetch::Verdict::kComplete) {
      try {
        writer->commit(ref.sha256, ref.size);
      } catch (const Error& e) {
        if (e.code() != Code::kInvalidArgument) throw;
        auto bad = fetch.on_bad_bytes();
        {
          MutexLock l(stats_mu_);
          ++stats_.blobs_rejected;
        }
        block_peer(bad, "blob " + storage::sha256_hex(ref.sha256) + " failed verification");
        continue;
      }
      MutexLock l(stats_mu_);
      ++stats_.blobs_fetched;
      return true;
    }
  }
  return store_.contains(ref.sha256);
}

}  // namespace guts::replication
