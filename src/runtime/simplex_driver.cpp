#include "runtime/simplex_driver.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "core/status.h"
#include "core/thread_name.h"
#include "crypto/did.h"
#include "p2p/transport.h"

namespace guts::runtime {

using consensus::Output;
using consensus::Time;
using consensus::View;

namespace {
constexpr size_t kMaxEventsPerStep = 1024;
}

SimplexDriver::SimplexDriver(Options options, p2p::Transport& transport, DrivenApplication& app)
    : journal_dir_(std::move(options.journal_dir)),
      channels_(options.channels),
      extra_broadcasts_(std::move(options.extra_broadcasts)),
      on_future_epoch_(std::move(options.on_future_epoch)),
      transport_(transport),
      app_(app),
      reserve_ahead_(std::max<View>(1, options.reserve_ahead)),
      clock_start_(std::chrono::steady_clock::now()) {
  epoch_number_ = options.engine.epoch;
  if (!options.passive) {
    participants_ = options.engine.participants;
    engine_ = std::make_unique<consensus::Engine>(std::move(options.engine));
    self_ = engine_->self();
  }
}

SimplexDriver::~SimplexDriver() {
  stop();
}

Time SimplexDriver::now() const {
  // Milliseconds since the driver was created, starting at 1 (0 is "no time" nowhere, but keep
  // it monotonic and positive).
  return 1 + static_cast<Time>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - clock_start_)
                                   .count());
}

std::vector<Output> SimplexDriver::open_engine() {
  std::filesystem::create_directories(journal_dir_);
  store_ = std::make_unique<consensus::FileJournalStore>(journal_dir_);
  journal_ = std::make_unique<consensus::Journal>(*store_);
  consensus::Journal::ReplayStats rs;
  auto records = journal_->replay(&rs);
  std::optional<consensus::Certificate> floor;
  size_t app_records = 0;
  for (const auto& r : records) {
    if (!r.empty() && r[0] == kAppRecordTag) {
      app_.restore(r);
      ++app_records;
      continue;
    }
    try {
      auto a = consensus::decode_artifact(r);
      if (a.tag == consensus::ArtifactTag::kFinalization &&
          (!floor || a.certificate.view() > floor->view()))
        floor = a.certificate;
    } catch (const std::exception&) {
    }
    engine_->replay(r);
  }
  if (rs.discarded_bytes)
    spdlog::warn("consensus journal: discarded a torn tail of {} bytes in {} section(s)",
                 rs.discarded_bytes, rs.damaged_sections);
  // The signing guard: durable before the engine may sign anything.
  auto disk_guard = consensus::load_guard(journal_dir_);
  guard_ = consensus::guard_start_state(disk_guard, records);
  if (!disk_guard || *disk_guard != guard_) consensus::store_guard(journal_dir_, guard_);
  engine_->set_signing_floor(guard_.floor);
  floor_ = guard_.floor;
  if (guard_.floor == consensus::kSignNothing) {
    if (participants_.size() == 1)
      spdlog::error(
          "consensus: this validator's journal and signing guard are gone (wiped data directory) "
          "and it is the only validator: it cannot learn which views it signed before, so it "
          "will not sign. Restore {} or start a new network",
          journal_dir_.string());
    else
      spdlog::warn(
          "consensus: no journal and no signing guard (wiped data directory?): not signing until "
          "2f+1 other validators were heard, then only above the views they are in");
  } else if (guard_.floor > 0 && guard_.floor >= engine_->view()) {
    spdlog::warn("consensus: the journal was lost: not signing in views up to {}", guard_.floor);
  }
  std::vector<Output> outs;
  outs.push_back(engine_->start(now()));
  // The application may not have applied the latest finalization before a crash.
  if (floor)
    outs.back().reports.insert(outs.back().reports.begin(),
                               consensus::Finalized{floor->proposal, *floor, false});
  spdlog::info(
      "consensus: epoch {}: replayed {} journal records ({} blocks), view {}, finalized view {}",
      engine_->config().epoch, records.size() - app_records, app_records, engine_->view(),
      engine_->last_finalized());
  return outs;
}

void SimplexDriver::start() {
  if (engine_) {
    auto outs = open_engine();
    settle(now(), outs);
    apply(outs);
    deadline_ = engine_->next_deadline();
    view_ = engine_->view();
    finalized_ = engine_->last_finalized();
    active_ = true;
  } else {
    spdlog::info("consensus: not a validator of epoch {}: following finalized blocks",
                 epoch_number_.load());
  }
  {
    std::lock_guard lock(mu_);
    started_ = true;
    stop_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void SimplexDriver::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SimplexDriver::push(Event e) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    queue_.push_back(std::move(e));
  }
  cv_.notify_one();
}

void SimplexDriver::deliver(const crypto::PublicKey& from, uint64_t ch, Bytes payload) {
  consensus::Channel c;
  if (ch == channels_.votes)
    c = consensus::Channel::kVote;
  else if (ch == channels_.certificates)
    c = consensus::Channel::kCertificate;
  else if (ch == channels_.resolver)
    c = consensus::Channel::kResolver;
  else
    return;
  push(Message{from, c, std::move(payload)});
}

void SimplexDriver::proposed(const consensus::Round& round, std::optional<Digest> payload,
                             Bytes record) {
  push(Proposed{round, payload, std::move(record)});
}

void SimplexDriver::verified(const consensus::Round& round, const Digest& payload, bool valid,
                             Bytes record) {
  push(Verified{round, payload, valid, std::move(record)});
}

void SimplexDriver::certified(const consensus::Round& round, const Digest& payload, bool ok) {
  push(Certified{round, payload, ok});
}

void SimplexDriver::switch_epoch(consensus::Epoch epoch, std::optional<consensus::Config> next,
                                 std::filesystem::path journal_dir) {
  push(SwitchEpoch{std::move(next), epoch, std::move(journal_dir)});
}

bool SimplexDriver::admit(const Message& m) {
  if (!engine_) return false;
  if (m.channel != consensus::Channel::kResolver) {
    // Another epoch's vote or certificate: never the engine's business, never a fault.
    auto e = consensus::message_epoch(m.payload);
    const consensus::Epoch ours = engine_->config().epoch;
    if (e && *e != ours) {
      if (*e > ours && on_future_epoch_) on_future_epoch_(m.from, *e);
      return false;
    }
  }
  // A validator of another epoch is no participant of ours: its messages are dropped, not
  // punished (the engine blocks unknown senders).
  return std::find(participants_.begin(), participants_.end(), m.from) != participants_.end();
}

SimplexDriver::Stats SimplexDriver::stats() const {
  return Stats{view_.load(),  finalized_.load(),   steps_.load(),
               syncs_.load(), guard_syncs_.load(), floor_.load()};
}

void SimplexDriver::run() {
  set_thread_name("guts-simplex");
  std::unique_lock lock(mu_);
  while (!stop_) {
    Time t = now();
    bool due = deadline_ && *deadline_ <= t;
    if (queue_.empty() && !due) {
      if (deadline_) {
        cv_.wait_until(lock, clock_start_ + std::chrono::milliseconds(*deadline_ - 1));
      } else {
        cv_.wait(lock);
      }
      continue;
    }
    std::vector<Event> events;
    while (!queue_.empty() && events.size() < kMaxEventsPerStep) {
      events.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    try {
      step(events);
    } catch (const std::exception& e) {
      // The journal could not be written: no vote may leave un-journaled, and carrying on
      // with a journal we cannot trust risks equivocation after a restart. Crash; a restart
      // replays what was synced.
      spdlog::critical("consensus driver failed: {}", e.what());
      std::abort();
    }
    lock.lock();
  }
}

void SimplexDriver::step(std::vector<Event>& events) {
  Time t = now();
  std::vector<Output> outs;
  outs.reserve(events.size() + 1);
  auto current = [&](const consensus::Round& r) {
    return engine_ && r.epoch == engine_->config().epoch;
  };
  for (auto& ev : events) {
    if (auto* m = std::get_if<Message>(&ev)) {
      if (admit(*m)) outs.push_back(engine_->on_message(t, m->from, m->channel, m->payload));
    } else if (auto* p = std::get_if<Proposed>(&ev)) {
      if (!current(p->round)) continue;  // an answer for an epoch that is over
      if (!p->record.empty()) app_records_.emplace_back(p->round.view, std::move(p->record));
      outs.push_back(engine_->on_proposed(t, p->round, p->payload));
    } else if (auto* v = std::get_if<Verified>(&ev)) {
      if (!current(v->round)) continue;
      if (!v->record.empty()) app_records_.emplace_back(v->round.view, std::move(v->record));
      outs.push_back(engine_->on_verified(t, v->round, v->payload, v->valid));
    } else if (auto* c = std::get_if<Certified>(&ev)) {
      if (!current(c->round)) continue;
      outs.push_back(engine_->on_certified(t, c->round, c->payload, c->ok));
    } else if (auto* sw = std::get_if<SwitchEpoch>(&ev)) {
      if (sw->epoch <= epoch_number_.load()) continue;  // not after ours: stale
      // What the old engine produced leaves (journaled) before it goes.
      settle(t, outs);
      apply(outs);
      outs.clear();
      spdlog::info("consensus: epoch {} ends; epoch {} begins ({})", epoch_number_.load(),
                   sw->epoch, sw->next ? "validating" : "not a validator: following");
      engine_.reset();
      journal_.reset();
      store_.reset();
      app_records_.clear();
      deadline_.reset();
      participants_.clear();
      epoch_number_ = sw->epoch;
      active_ = false;
      if (sw->next) {
        journal_dir_ = sw->journal_dir;
        participants_ = sw->next->participants;
        engine_ = std::make_unique<consensus::Engine>(std::move(*sw->next));
        self_ = engine_->self();
        outs = open_engine();
        active_ = true;
      }
    }
  }
  if (engine_ && deadline_ && *deadline_ <= t) outs.push_back(engine_->on_timer(t));
  settle(t, outs);
  apply(outs);
  deadline_ = engine_ ? engine_->next_deadline() : std::nullopt;
  // A deadline the engine keeps in the past would spin; it is re-checked a millisecond later.
  if (deadline_ && *deadline_ <= t) deadline_ = t + 1;
  view_.store(engine_ ? engine_->view() : 0, std::memory_order_relaxed);
  finalized_.store(engine_ ? engine_->last_finalized() : 0, std::memory_order_relaxed);
  ++steps_;
}

void SimplexDriver::settle(Time t, std::vector<Output>& outs) {
  // New outputs are appended while iterating; index-based so they are settled too.
  for (size_t i = 0; i < outs.size(); ++i) {
    std::vector<std::pair<consensus::CertifyRequest, bool>> answered;
    auto& reqs = outs[i].requests;
    for (auto it = reqs.begin(); it != reqs.end();) {
      if (auto* c = std::get_if<consensus::CertifyRequest>(&*it)) {
        if (auto verdict = app_.certify_now(c->round, c->payload)) {
          answered.emplace_back(*c, *verdict);
          it = reqs.erase(it);
          continue;
        }
      }
      ++it;
    }
    // `reqs` is not used after this point: push_back may reallocate `outs`.
    for (const auto& [req, ok] : answered)
      outs.push_back(engine_->on_certified(t, req.round, req.payload, ok));
  }
}

void SimplexDriver::apply(std::vector<Output>& outs) {
  if (!engine_) return;  // passive: nothing to journal, send or report
  // 1. Journal, one sync.
  for (auto& [view, record] : app_records_) journal_->append(view, record);
  app_records_.clear();
  for (const auto& o : outs)
    for (const auto& r : o.journal) journal_->append(r.view, r.bytes);
  if (journal_->dirty()) {
    journal_->sync();
    ++syncs_;
  }
  // 1b. The signing guard covers every vote signed in this step before any of them leaves.
  std::optional<View> signed_through;
  for (const auto& o : outs) {
    if (o.signed_through) signed_through = std::max(signed_through.value_or(0), *o.signed_through);
    if (o.signing_floor)
      spdlog::info("consensus: recovery done: signing again in views above {}", *o.signing_floor);
  }
  auto guard =
      consensus::guard_after_step(guard_, signed_through, engine_->signing_floor(), reserve_ahead_);
  if (guard != guard_) {
    consensus::store_guard(journal_dir_, guard);
    guard_ = guard;
    floor_ = guard_.floor;
    ++guard_syncs_;
  }
  // 2. Reports, requests, blocks, pruning.
  for (auto& o : outs) {
    for (const auto& r : o.reports) {
      if (auto* f = std::get_if<consensus::Finalized>(&r)) {
        app_.finalized(*f);
      } else if (auto* fault = std::get_if<consensus::Fault>(&r)) {
        spdlog::warn("consensus: {} by validator {} in view {}", consensus::fault_name(fault->kind),
                     crypto::did_from_key(participants_.at(fault->signer)), fault->first.view());
        app_.fault(*fault);
      }
    }
    for (const auto& q : o.requests) {
      if (auto* p = std::get_if<consensus::ProposeRequest>(&q)) {
        app_.propose(p->context);
      } else if (auto* v = std::get_if<consensus::VerifyRequest>(&q)) {
        app_.verify(v->context, v->payload);
      } else if (auto* c = std::get_if<consensus::CertifyRequest>(&q)) {
        app_.certify(c->round, c->payload);
      }
    }
    for (const auto& pk : o.block) {
      spdlog::warn("consensus: blocking peer {}", crypto::did_from_key(pk));
      transport_.block(pk);
    }
    if (o.prune_journal_below)
      journal_->prune(std::min(*o.prune_journal_below, app_.retain_from()));
  }
  // 3. Sends.
  for (const auto& o : outs) {
    for (const auto& s : o.sends) {
      uint64_t ch = s.channel == consensus::Channel::kVote          ? channels_.votes
                    : s.channel == consensus::Channel::kCertificate ? channels_.certificates
                                                                    : channels_.resolver;
      if (s.to) {
        if (*s.to != self_ && *s.to < participants_.size())
          transport_.send(participants_[*s.to], ch, s.payload);
      } else {
        for (uint32_t i = 0; i < participants_.size(); ++i)
          if (i != self_) transport_.send(participants_[i], ch, s.payload);
        if (extra_broadcasts_)
          for (const auto& extra : extra_broadcasts_(ch, s.payload))
            for (uint32_t i = 0; i < participants_.size(); ++i)
              if (i != self_) transport_.send(participants_[i], ch, extra);
      }
    }
  }
}

}  // namespace guts::runtime
