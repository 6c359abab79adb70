#include "replication/fetcher.h"

#include <algorithm>

#include "core/assert.h"
#include "git/ref_name.h"

namespace guts::replication {

Fetcher::Fetcher(FetcherOptions options) : opts_(std::move(options)) {
  opts_.max_rounds = std::max<size_t>(1, opts_.max_rounds);
}

// ---- events ----

FetcherActions Fetcher::ensure(uint64_t now, WaiterId waiter, uint64_t repo_id,
                               std::vector<std::string> tips,
                               const std::vector<crypto::PublicKey>& hints, uint64_t deadline) {
  FetcherActions out;
  expire(now, out);
  std::sort(tips.begin(), tips.end());
  tips.erase(std::unique(tips.begin(), tips.end()), tips.end());
  bool valid = std::all_of(tips.begin(), tips.end(),
                           [](const std::string& t) { return git::is_valid_oid(t); });
  if (!valid || tips.size() > wire::kMaxWants) {
    out.completes.push_back({waiter, false});
  } else if (tips.empty()) {
    out.completes.push_back({waiter, true});
  } else {
    auto [it, fresh] = by_key_.try_emplace({repo_id, tips}, 0);
    if (fresh) {
      it->second = next_job_++;
      Job& job = jobs_[it->second];
      job.repo_id = repo_id;
      job.tips = tips;
      // Already here (in the repository or a push quarantine)? The common case of a block whose
      // pushes reached this node: no round, no slot taken.
      out.checks.push_back({it->second, repo_id, std::move(tips), true});
    }
    Job& job = jobs_.at(it->second);
    for (const auto& h : hints)
      if (std::find(job.hints.begin(), job.hints.end(), h) == job.hints.end())
        job.hints.push_back(h);
    job.waiters.push_back({waiter, deadline});
  }
  return finish(now, std::move(out));
}

FetcherActions Fetcher::closure_checked(uint64_t now, JobId id, bool present) {
  FetcherActions out;
  expire(now, out);
  auto it = jobs_.find(id);
  if (it != jobs_.end()) {
    Job& job = it->second;
    if (job.phase == Phase::kFirstCheck) {
      if (job.cancelled) {
        forget(id);
      } else if (present) {
        complete(id, true, out);
      } else {
        job.phase = Phase::kQueued;
        job.not_before = now;
        queue_.push_back(id);
      }
    } else if (job.phase == Phase::kRoundCheck) {
      if (job.cancelled) {
        forget(id);
      } else if (present) {
        complete(id, true, out);
      } else {
        job.candidates =
            candidate_order(opts_.self, job.hints, validators_, hosting_peers(job.repo_id));
        job.next = 0;
        next_candidate(now, id, job, out);
      }
    }
  }
  return finish(now, std::move(out));
}

FetcherActions Fetcher::unsent(uint64_t now, RequestId request) {
  FetcherActions out;
  expire(now, out);
  JobId id = 0;
  if (Job* job = attempt_job(request, &id)) {
    requests_.erase(request);
    if (job->cancelled)
      forget(id);
    else
      next_candidate(now, id, *job, out);
  }
  return finish(now, std::move(out));
}

FetcherActions Fetcher::chunk(uint64_t now, const crypto::PublicKey& peer, wire::PackChunk c) {
  FetcherActions out;
  expire(now, out);
  Job* job = attempt_job(c.request_id);
  // A late answer to a closed request, or another peer's: ignored.
  if (job && job->attempt->peer == peer && !job->attempt->aborted) {
    Attempt& a = *job->attempt;
    switch (a.stream.on_chunk(c.seq, c.last, c.data.size())) {
      case ChunkStream::Verdict::kViolation:
        out.blocks.push_back({peer, "pack chunk out of order"});
        abort(*job, "protocol violation", out);
        break;
      case ChunkStream::Verdict::kOverflow:
        a.last_activity = now;
        abort(*job, "pack too large", out);  // an honest peer with a large pack is not punished
        break;
      case ChunkStream::Verdict::kAccepted:
        a.last_activity = now;
        out.feeds.push_back({c.request_id, std::move(c.data), c.last});
        break;
    }
  }
  return finish(now, std::move(out));
}

FetcherActions Fetcher::not_found(uint64_t now, const crypto::PublicKey& peer,
                                  const wire::NotFound& nf) {
  FetcherActions out;
  expire(now, out);
  Job* job = attempt_job(nf.request_id);
  if (job && job->attempt->peer == peer && !job->attempt->aborted) {
    job->attempt->last_activity = now;
    abort(*job, "not found: " + nf.reason, out);
  }
  return finish(now, std::move(out));
}

void Fetcher::consumed(RequestId request, size_t bytes) {
  if (Job* job = attempt_job(request)) job->attempt->stream.consumed(bytes);
}

FetcherActions Fetcher::verified(uint64_t now, RequestId request, Verification result,
                                 const std::string& detail) {
  FetcherActions out;
  expire(now, out);
  JobId id = 0;
  if (Job* job = attempt_job(request, &id)) {
    requests_.erase(request);
    auto peer = job->attempt->peer;
    if (job->cancelled) {
      forget(id);
    } else if (result == Verification::kOk) {
      complete(id, true, out);
    } else {
      if (result == Verification::kBadPack)
        out.blocks.push_back(
            {peer, "repository " + std::to_string(job->repo_id) + ": bad pack: " + detail});
      next_candidate(now, id, *job, out);
    }
  }
  return finish(now, std::move(out));
}

FetcherActions Fetcher::peer(uint64_t now, const crypto::PublicKey& p, bool up) {
  FetcherActions out;
  expire(now, out);
  if (!up) {
    theirs_.erase(p);
    // Its answer will not arrive: the next candidate (once the verification stopped). A stream
    // already complete is left to finish verifying.
    for (auto& [id, job] : jobs_)
      if (job.attempt && job.attempt->peer == p && !job.attempt->aborted &&
          !job.attempt->stream.eof())
        abort(job, "peer disconnected", out);
  }
  return finish(now, std::move(out));
}

void Fetcher::inventory(const crypto::PublicKey& peer, wire::Inventory inv) {
  theirs_[peer] = std::move(inv);
}

void Fetcher::set_validators(std::vector<crypto::PublicKey> validators) {
  validators_ = std::move(validators);
}

FetcherActions Fetcher::tick(uint64_t now) {
  FetcherActions out;
  expire(now, out);
  return finish(now, std::move(out));
}

FetcherActions Fetcher::shutdown() {
  FetcherActions out;
  for (auto& [id, job] : jobs_)
    if (!job.cancelled)
      for (const auto& w : job.waiters) out.completes.push_back({w.id, false});
  jobs_.clear();
  by_key_.clear();
  requests_.clear();
  queue_.clear();
  active_ = 0;
  return out;
}

std::vector<crypto::PublicKey> Fetcher::hosting_peers(uint64_t repo_id) const {
  std::vector<crypto::PublicKey> out;
  for (const auto& [peer, inv] : theirs_)
    if (inv.hosts_all || std::binary_search(inv.repos.begin(), inv.repos.end(), repo_id))
      out.push_back(peer);
  return out;
}

// ---- internals ----

uint64_t Fetcher::deadline(const Job& job) const {
  uint64_t d = 0;
  for (const auto& w : job.waiters) d = std::max(d, w.deadline);
  return d;
}

// Waiters whose deadline passed hear false; a job nobody waits for any more is cancelled.
void Fetcher::expire(uint64_t now, FetcherActions& out) {
  std::vector<JobId> orphans;
  for (auto& [id, job] : jobs_) {
    if (job.cancelled) continue;
    auto& ws = job.waiters;
    for (auto w = ws.begin(); w != ws.end();) {
      if (w->deadline <= now) {
        out.completes.push_back({w->id, false});
        w = ws.erase(w);
      } else {
        ++w;
      }
    }
    if (ws.empty()) orphans.push_back(id);
  }
  for (JobId id : orphans) cancel(id, jobs_.at(id), out);
}

void Fetcher::cancel(JobId id, Job& job, FetcherActions& out) {
  job.cancelled = true;
  auto key = by_key_.find({job.repo_id, job.tips});
  if (key != by_key_.end() && key->second == id) by_key_.erase(key);
  switch (job.phase) {
    case Phase::kQueued:
      forget(id);  // nothing outstanding at the driver
      break;
    case Phase::kAttempting:
      if (!job.attempt->aborted) abort(job, "nobody waits any more", out);
      break;
    case Phase::kFirstCheck:
    case Phase::kRoundCheck:
      break;  // forgotten when the check reports back
  }
}

void Fetcher::complete(JobId id, bool ok, FetcherActions& out) {
  for (const auto& w : jobs_.at(id).waiters) out.completes.push_back({w.id, ok});
  forget(id);
}

void Fetcher::forget(JobId id) {
  auto it = jobs_.find(id);
  GUTS_ASSERT(it != jobs_.end(), "forgetting an unknown replication job");
  Job& job = it->second;
  if (job.phase == Phase::kRoundCheck || job.phase == Phase::kAttempting) {
    GUTS_ASSERT(active_ > 0, "replication round accounting");
    --active_;
  }
  if (job.phase == Phase::kQueued) queue_.erase(std::find(queue_.begin(), queue_.end(), id));
  if (job.attempt) requests_.erase(job.attempt->request);
  auto key = by_key_.find({job.repo_id, job.tips});
  if (key != by_key_.end() && key->second == id) by_key_.erase(key);
  jobs_.erase(it);
}

void Fetcher::next_candidate(uint64_t now, JobId id, Job& job, FetcherActions& out) {
  job.attempt.reset();
  if (job.next >= job.candidates.size()) return end_round(now, id, job);
  RequestId request = next_request_++;
  const auto& peer = job.candidates[job.next++];
  job.phase = Phase::kAttempting;
  job.attempt.emplace(Attempt{request, peer,
                              ChunkStream(opts_.max_pack_bytes, opts_.max_buffered_bytes), now,
                              first_answer_by(now, deadline(job)), false});
  requests_[request] = id;
  out.attempts.push_back({id, request, peer, job.repo_id, job.tips});
}

// Nobody could serve it yet (peers not connected, push not yet forwarded, …): ask them all
// again after a pause, holding no round slot meanwhile.
void Fetcher::end_round(uint64_t now, JobId id, Job& job) {
  GUTS_ASSERT(active_ > 0, "replication round accounting");
  --active_;
  job.phase = Phase::kQueued;
  job.not_before = now + opts_.retry_backoff_ms;
  queue_.push_back(id);
}

// Queued jobs whose pause is over start a round, in queue order, while slots are free.
void Fetcher::start_due(uint64_t now, FetcherActions& out) {
  for (auto it = queue_.begin(); it != queue_.end() && active_ < opts_.max_rounds;) {
    Job& job = jobs_.at(*it);
    if (job.not_before > now) {
      ++it;
      continue;
    }
    job.phase = Phase::kRoundCheck;
    ++active_;
    out.checks.push_back({*it, job.repo_id, job.tips, false});
    it = queue_.erase(it);
  }
}

Fetcher::Job* Fetcher::attempt_job(RequestId request, JobId* id) {
  auto r = requests_.find(request);
  if (r == requests_.end()) return nullptr;
  Job& job = jobs_.at(r->second);
  GUTS_ASSERT(job.attempt && job.attempt->request == request, "replication request index");
  if (id) *id = r->second;
  return &job;
}

void Fetcher::abort(Job& job, const std::string& reason, FetcherActions& out) {
  job.attempt->aborted = true;
  out.aborts.push_back({job.attempt->request, reason});
}

// Every event ends here: silent candidates give way, due jobs start, the next wake-up.
FetcherActions Fetcher::finish(uint64_t now, FetcherActions out) {
  std::optional<uint64_t> wake;
  auto at = [&](uint64_t t) { wake = wake ? std::min(*wake, t) : t; };
  for (auto& [id, job] : jobs_) {
    if (!job.cancelled)
      for (const auto& w : job.waiters) at(w.deadline);
    if (job.phase != Phase::kAttempting || job.cancelled) continue;
    Attempt& a = *job.attempt;
    // Once the whole pack is here, verifying it may take its time: no idle bound.
    if (a.aborted || a.stream.eof()) continue;
    auto until = attempt_wait_until(a.last_activity, deadline(job), opts_.attempt_idle_ms,
                                    a.stream.total() > 0, a.first_answer);
    if (now >= until)
      abort(job, "timed out", out);
    else
      at(until);
  }
  start_due(now, out);
  if (active_ < opts_.max_rounds)
    for (JobId id : queue_) at(jobs_.at(id).not_before);
  out.wake = wake;
  return out;
}

}  // namespace guts::replication
