// The real-network driver of the Simplex engine (docs/consensus.md §8): one thread owns the
// sans-I/O consensus::Engine and feeds it network messages (from p2p::Transport), timer expiries
// (steady clock) and application answers; it applies every Output in the engine's order:
//
//   1. append the journal records of the step (plus the application's records, e.g. the block a
//      vote is about) and sync the journal ONCE (FileJournalStore, fdatasync);
//   2. reports and requests to the application, blocks to the transport, journal pruning;
//   3. sends;
//   4. the timer: the engine's earliest deadline.
//
// Events that queue up while a step runs are handled together in the next step, so a burst of
// votes costs one journal sync. A certify request the application can answer at once
// (certify_now) is answered inside the same step, before the sync, so the certification
// verdict, our finalize vote and the notarization share one sync.
//
// On start the journal is replayed into the engine (records tagged kAppRecordTag go to the
// application instead) and the latest journaled finalization is re-reported to the application,
// which may not have applied it before a crash.
//
// The signing guard (consensus/signing_guard.h, <journal_dir>/signing.guard) is read on start:
// a validator whose journal was lost (a wiped data directory that kept node.key) starts with a
// signing floor and signs nothing it may have signed before. Each step that signs beyond the
// guard's reservation rewrites it (fsync) after the journal sync and before the sends.
//
// Epochs (docs/consensus.md "Epochs"): a network whose validator set changes runs one engine per
// epoch. switch_epoch() replaces the engine at a boundary — the next epoch's engine with its own
// journal directory (views start again at 1), or none when this node does not validate that
// epoch (passive: consensus messages are dropped). Votes and certificates of another epoch never
// reach the engine: they are dropped without blocking the sender (an honest validator switches a
// moment before or after us), and one of a LATER epoch is reported (on_future_epoch) so the node
// can fetch the finalization that ends ours.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "consensus/application.h"
#include "consensus/engine.h"
#include "consensus/journal.h"
#include "p2p/channels.h"

namespace guts::p2p {
class Transport;
}

namespace guts::runtime {

// First byte of journal records written by the application (consensus artifacts use 0–6).
inline constexpr uint8_t kAppRecordTag = 0xB0;

// p2p channel ids carrying the three consensus channels.
struct ChannelMap {
  uint64_t votes = p2p::channel::kVotes;
  uint64_t certificates = p2p::channel::kCertificates;
  uint64_t resolver = p2p::channel::kResolver;
};

// What the driver needs from the application beyond consensus::Application. All methods are
// called on the driver thread and must not block (hand work to another thread).
class DrivenApplication : public consensus::Application {
 public:
  // A record the application journaled (first byte kAppRecordTag), replayed before start.
  virtual void restore(ByteView record) {}
  // An immediate certification verdict, if the application has one (answered inside the step).
  virtual std::optional<bool> certify_now(const consensus::Round& round, const Digest& payload) {
    return std::nullopt;
  }
  // Journal sections holding views >= this one must be kept (e.g. blocks not yet applied).
  virtual consensus::View retain_from() const { return ~consensus::View{0}; }
};

class SimplexDriver {
 public:
  struct Options {
    consensus::Config engine;
    std::filesystem::path journal_dir;  // <data>/consensus
    ChannelMap channels;
    consensus::View reserve_ahead = consensus::kDefaultReserveAhead;  // views per guard fsync
    // Test seam (byzantine test doubles only; empty in production): extra messages broadcast
    // after each broadcast on a consensus channel (p2p channel id, the payload sent).
    std::function<std::vector<Bytes>(uint64_t p2p_channel, ByteView payload)> extra_broadcasts;
    // Start without an engine: this node does not validate the first epoch (`engine` then only
    // names the epoch).
    bool passive = false;
    // A vote or certificate of a later epoch arrived from `peer` (driver thread; must not block).
    std::function<void(const crypto::PublicKey& peer, consensus::Epoch epoch)> on_future_epoch;
    explicit Options(consensus::Config e) : engine(std::move(e)) {}
  };

  struct Stats {
    consensus::View view = 0;
    consensus::View last_finalized = 0;
    uint64_t steps = 0;
    uint64_t syncs = 0;
    uint64_t guard_syncs = 0;
    consensus::View signing_floor = 0;  // > 0 after a lost journal (docs/consensus.md §9)
  };

  SimplexDriver(Options options, p2p::Transport& transport, DrivenApplication& app);
  ~SimplexDriver();  // stop()s
  SimplexDriver(const SimplexDriver&) = delete;
  SimplexDriver& operator=(const SimplexDriver&) = delete;

  // Replays the journal, starts the engine and the driver thread. Throws guts::Error on I/O
  // failure.
  void start();
  void stop();

  // ---- inputs; thread-safe ----
  // A message received on one of the consensus channels (p2p channel id).
  void deliver(const crypto::PublicKey& from, uint64_t p2p_channel, Bytes payload);
  // Application answers. A non-empty `record` (first byte kAppRecordTag) is journaled in the
  // round's section and synced before the vote the answer produces leaves the node.
  void proposed(const consensus::Round& round, std::optional<Digest> payload, Bytes record = {});
  void verified(const consensus::Round& round, const Digest& payload, bool valid,
                Bytes record = {});
  void certified(const consensus::Round& round, const Digest& payload, bool ok);
  // An epoch boundary: run `next` (epoch `epoch`, journal in `journal_dir`) from now on, or no
  // engine when this node does not validate it. Takes effect on the driver thread, after the
  // events queued before it. An epoch not after the current one is ignored.
  void switch_epoch(consensus::Epoch epoch, std::optional<consensus::Config> next,
                    std::filesystem::path journal_dir);

  // The engine's current view (relaxed; for the application's staleness checks).
  consensus::View view() const { return view_.load(std::memory_order_relaxed); }
  // The engine's epoch and view (relaxed).
  consensus::Round round() const {
    return {epoch_number_.load(std::memory_order_relaxed), view_.load(std::memory_order_relaxed)};
  }
  // Whether an engine runs (this node validates the current epoch).
  bool active() const { return active_.load(std::memory_order_relaxed); }
  Stats stats() const;

 private:
  struct Message {
    crypto::PublicKey from;
    consensus::Channel channel;
    Bytes payload;
  };
  struct Proposed {
    consensus::Round round;
    std::optional<Digest> payload;
    Bytes record;
  };
  struct Verified {
    consensus::Round round;
    Digest payload;
    bool valid;
    Bytes record;
  };
  struct Certified {
    consensus::Round round;
    Digest payload;
    bool ok;
  };
  struct SwitchEpoch {
    std::optional<consensus::Config> next;
    consensus::Epoch epoch = 0;
    std::filesystem::path journal_dir;
  };
  using Event = std::variant<Message, Proposed, Verified, Certified, SwitchEpoch>;

  void push(Event e);
  void run();
  void step(std::vector<Event>& events);
  // Opens the journal of the current engine, replays it and starts the engine: its outputs.
  std::vector<consensus::Output> open_engine();
  // Whether a message may reach the engine (its epoch, its sender).
  bool admit(const Message& m);
  // Answers certify requests the application can answer at once, chaining the engine's outputs.
  void settle(consensus::Time now, std::vector<consensus::Output>& outs);
  void apply(std::vector<consensus::Output>& outs);
  consensus::Time now() const;

  std::unique_ptr<consensus::Engine> engine_;  // null: passive (not a validator of the epoch)
  std::vector<crypto::PublicKey> participants_;
  uint32_t self_ = 0;
  std::filesystem::path journal_dir_;
  ChannelMap channels_;
  const std::function<std::vector<Bytes>(uint64_t, ByteView)> extra_broadcasts_;  // test seam
  const std::function<void(const crypto::PublicKey&, consensus::Epoch)> on_future_epoch_;
  p2p::Transport& transport_;
  DrivenApplication& app_;
  std::unique_ptr<consensus::FileJournalStore> store_;
  std::unique_ptr<consensus::Journal> journal_;
  consensus::View reserve_ahead_;
  consensus::GuardState guard_;                                 // as on disk
  std::vector<std::pair<consensus::View, Bytes>> app_records_;  // of the current step
  std::optional<consensus::Time> deadline_;
  std::chrono::steady_clock::time_point clock_start_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> queue_;
  bool stop_ = false;
  bool started_ = false;
  std::thread thread_;
  std::atomic<consensus::View> view_{0};
  std::atomic<consensus::Epoch> epoch_number_{0};
  std::atomic<bool> active_{false};
  std::atomic<consensus::View> finalized_{0};
  std::atomic<uint64_t> steps_{0}, syncs_{0}, guard_syncs_{0};
  std::atomic<consensus::View> floor_{0};
};

}  // namespace guts::runtime
