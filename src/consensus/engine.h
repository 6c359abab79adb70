// The Simplex engine as a pure state machine (docs/architecture.md §1.2, simplex-spec §1.3–1.7).
//
// Inputs: replayed journal records, start, received messages (with the sender's key), timer
// ticks with the current time, application answers. Every input returns an Output the driver
// must apply IN THIS ORDER:
//   1. append every record of `journal` and sync the journal once (fsync); make the signing
//      guard durable if `signed_through` or `signing_floor` moved it (consensus/signing_guard.h);
//   2. deliver `reports` and `requests` to the application, apply `block` to the network;
//   3. send `sends` (a vote or certificate never leaves before step 1 completed);
//   4. (re)arm the single timer at `timer` if set: call on_timer(now) once now >= *timer.
// The engine knows nothing about sockets, threads or clocks; the same code runs under the
// deterministic simulator (consensus/sim) and the real runtime.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "consensus/application.h"
#include "consensus/signing_guard.h"
#include "consensus/types.h"
#include "crypto/ed25519.h"

namespace guts::consensus {

struct Config {
  std::string ns = "guts";  // e.g. "guts/<chain-id>"; votes sign ns + "_NOTARIZE" etc.
  Epoch epoch = 0;
  std::vector<crypto::PublicKey> participants;  // index = signer index
  crypto::SigningKey key;                       // must be one of participants
  Digest genesis{};                             // payload of view 0 (implicitly finalized)

  Time leader_timeout = 1000;         // paper: 2Δ
  Time certification_timeout = 2000;  // paper: 3Δ
  Time timeout_retry = 10000;         // re-broadcast nullify + entry certificate
  Time skip_timeout = 11000;  // leader silent this long while ≥ q others active → skip its view
  Time fetch_timeout = 1000;  // resolver request retry
  View view_retention = 10;   // keep views ≥ last_finalized − view_retention

  VerifyFn verify;  // signature check; libsodium's strict verify_raw when empty

  explicit Config(crypto::SigningKey k) : key(std::move(k)) {}
};

struct Outbound {
  std::optional<uint32_t> to;  // participant index; nullopt = every other participant
  Channel channel = Channel::kVote;
  Bytes payload;
};

struct ProposeRequest {
  Context context;
};
struct VerifyRequest {
  Context context;
  Digest payload{};
};
struct CertifyRequest {
  Round round;
  Digest payload{};
};
using AppRequest = std::variant<ProposeRequest, VerifyRequest, CertifyRequest>;
using Report = std::variant<Finalized, Fault>;

struct JournalRecord {
  View view = 0;  // section key
  Bytes bytes;    // an encoded Artifact
};

struct Output {
  std::vector<JournalRecord> journal;  // append all, then sync, before any send
  std::vector<Outbound> sends;
  std::vector<AppRequest> requests;
  std::vector<Report> reports;
  std::vector<crypto::PublicKey> block;     // peers to block (never ourselves)
  std::optional<Time> timer;                // earliest deadline, when it changed
  std::optional<View> prune_journal_below;  // the journal may drop sections below this view
  // The highest view of a vote signed in this step: the signing guard must reserve it (durably)
  // before any send (docs/consensus.md §9).
  std::optional<View> signed_through;
  // The signing floor, when this step lowered it (recovery after a lost journal finished).
  std::optional<View> signing_floor;
  bool empty() const {
    return journal.empty() && sends.empty() && requests.empty() && reports.empty() &&
           block.empty() && !timer && !prune_journal_below && !signed_through && !signing_floor;
  }
};

class Engine {
 public:
  explicit Engine(Config config);

  // Before start(): feed every record the journal replayed, in order. Restores own votes (and
  // so the broadcast flags), accepted certificates and certification verdicts.
  void replay(ByteView record);
  // Before start(): never sign a vote (notarize, nullify, finalize; a proposal is a notarize)
  // in a view <= floor (kSignNothing: no view at all). Used after the journal was lost
  // (GuardState::floor). While the floor is above 0 the engine watches the other validators:
  // once 2f+1 of them were heard voting notarize/nullify (votes that carry the sender's current
  // view), the floor drops to min(floor, highest view observed + 1) and Output::signing_floor
  // reports it. With n = 1 there is nobody to observe: a kSignNothing floor stays.
  void set_signing_floor(View floor);
  // Enters the first view (1, or the one the replayed certificates lead to).
  Output start(Time now);

  Output on_message(Time now, const crypto::PublicKey& from, Channel channel, ByteView payload);
  Output on_vote(Time now, const crypto::PublicKey& from, const Vote& vote);
  Output on_certificate(Time now, const crypto::PublicKey& from, const Certificate& cert);
  Output on_timer(Time now);

  Output on_proposed(Time now, const Round& round, std::optional<Digest> payload);
  Output on_verified(Time now, const Round& round, const Digest& payload, bool valid);
  Output on_certified(Time now, const Round& round, const Digest& payload, bool certified);

  View view() const { return view_; }
  View last_finalized() const { return last_finalized_; }
  uint32_t self() const { return self_; }
  uint32_t leader(View v) const;
  uint32_t n() const { return static_cast<uint32_t>(cfg_.participants.size()); }
  const Config& config() const { return cfg_; }
  bool is_blocked(uint32_t idx) const { return blocked_.count(idx) > 0; }
  View signing_floor() const { return floor_; }
  bool observing() const { return observing_; }
  // Earliest pending deadline, if any.
  std::optional<Time> next_deadline() const;

 private:
  enum class PState { kNone, kBuilding, kReceived, kVerifying, kVerified, kRejected };
  enum class CState { kReady, kOutstanding, kDone };

  struct ViewState {
    View view = 0;
    uint32_t leader = 0;
    std::optional<Proposal> proposal;  // the leader's (first leader-signed notarize, or ours)
    PState pstate = PState::kNone;
    View propose_parent = 0;
    bool equivocated = false;
    std::optional<Time> leader_deadline, certification_deadline, retry_deadline;
    bool timed_out = false;
    std::map<uint32_t, Vote> notarizes, nullifies, finalizes;
    std::optional<Certificate> notarization, nullification, finalization;
    bool bc_notarize = false, bc_nullify = false, bc_finalize = false;
    bool bc_notarization = false, bc_nullification = false, bc_finalization = false;
    std::optional<Vote> my_notarize, my_nullify, my_finalize;
    CState cstate = CState::kReady;
    std::optional<bool> certified;
  };

  // Which certificate of a view a fetch waits for. A proposal that skips view u needs u's
  // nullification and one that builds on it needs its notarization; a view can have both, and
  // holding one must not settle a fetch for the other (whole-node simulator, seed 8419).
  enum class Need : uint8_t { kAny, kNotarization, kNullification };
  struct Fetch {
    Time next = 0;
    uint32_t attempt = 0;
    View purpose = 0;  // abandoned once we leave this view
    std::optional<uint32_t> preferred;
    Need need = Need::kAny;
  };

  enum class ParentStatus { kValid, kMissing, kInvalid };

  ViewState& vs(View v);
  ViewState* find(View v);
  const ViewState* find(View v) const;
  std::optional<uint32_t> index_of(const crypto::PublicKey& pk) const;

  void block(uint32_t idx);
  void recv_vote(Time now, uint32_t from, const Vote& v);
  void recv_certificate(Time now, uint32_t from, const Certificate& c);
  void handle_vote(Time now, const Vote& v, bool own);
  void add_certificate(Time now, const Certificate& c, std::optional<uint32_t> from);
  void handle_resolver(Time now, uint32_t from, const ResolverMessage& m);
  void check_quorum(Time now, ViewState& s, Kind kind, const Vote& v);
  void check_equivocation(ViewState& s);

  ParentStatus parent_status(View v, View parent, Digest* parent_payload,
                             std::vector<View>* missing) const;
  void advance(Time now);
  void enter_view(Time now, View v);
  void timeout(Time now, ViewState& s);
  void cast(Time now, ViewState& s, Kind kind, const Proposal& p);
  bool may_sign(View v) const { return v > floor_; }
  // Recovery after a lost journal: false if the vote's signature is invalid (sender blocked).
  bool observe_vote(uint32_t from, const Vote& v);
  void observe_view(View v);
  void check_observation();
  void broadcast_vote(const Vote& v, std::optional<uint32_t> to = std::nullopt);
  void broadcast_certificate(const Certificate& c, std::optional<uint32_t> to = std::nullopt);
  void journal(const Artifact& a);
  void finalize(Time now, const Certificate& c);
  void request_fetch(Time now, View v, std::optional<uint32_t> preferred, Need need = Need::kAny);
  bool fetch_settled(View v, Need need) const;
  void run_fetches(Time now);
  void prune();
  Output finish(Time now);
  bool advances(const ViewState& s) const;

  Config cfg_;
  uint32_t self_ = 0;
  uint32_t q_ = 1;
  View view_ = 0;
  View last_finalized_ = 0;
  Digest last_finalized_payload_{};
  std::optional<Certificate> last_finalization_;
  std::map<View, ViewState> views_;
  std::map<View, Fetch> fetches_;
  std::set<uint32_t> blocked_;
  std::vector<std::optional<Time>> last_active_;
  uint64_t next_request_id_ = 1;
  bool started_ = false;
  View floor_ = 0;  // never sign in views <= floor_
  bool observing_ = false;
  std::map<uint32_t, View> heard_;  // other validators' current views, while observing
  View observed_ = 0;               // highest view seen in a verified vote or certificate
  std::optional<Time> armed_;
  Output out_;
};

}  // namespace guts::consensus
