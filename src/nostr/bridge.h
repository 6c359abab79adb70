// The Guts ↔ Nostr bridge (`guts-nostr`, docs/nostr.md): for each bridged repository it
// publishes NIP-34 events to every configured relay (nostr/bridge_plan.h), and imports the
// patches and issues people publish to the repository's address as pull requests and issues
// (nostr/forge.h), attributed by an origin line to their Nostr key (nostr/origin.h).
//
// Threads: one per relay (nostr/relay_client.h) hands received frames to an inbox; the loop of
// run() does everything else (polling the node, planning, signing, importing). Every event
// received is verified (id and BIP-340 signature) before anything is done with it, and each
// relay connection re-subscribes and re-sends what that relay has not acknowledged after a
// reconnect. De-duplication: events by id (a bounded memory of ids seen), imports by the origin
// lines already on the node (no event is imported twice, across restarts too).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/thread_annotations.h"
#include "crypto/schnorr.h"
#include "nostr/bridge_record.h"
#include "nostr/forge.h"
#include "nostr/nip34.h"
#include "nostr/relay_client.h"

namespace guts::nostr {

struct BridgeOptions {
  std::vector<std::string> relays;                         // ws:// or wss:// URLs
  std::vector<std::pair<std::string, std::string>> repos;  // owner, name
  std::filesystem::path state_dir;                         // record.json, git mirrors
  std::chrono::milliseconds poll_interval{30000};
  // Events not acknowledged by a relay are sent again this long after the last try.
  std::chrono::milliseconds resend_after{30000};
  // Issues and patch series one Nostr key may open per hour (spam bound; 0: none).
  size_t max_imports_per_hour = 30;
  ForgeOptions forge;        // work_dir is set to state_dir
  RelayClientOptions relay;  // url is set per relay
};

struct BridgeCounters {
  uint64_t published = 0, acknowledged = 0, refused_by_relay = 0;
  uint64_t received = 0, rejected = 0, duplicates = 0, imported_issues = 0, imported_pulls = 0,
           imported_patches = 0, import_failures = 0;
};

class Bridge {
 public:
  Bridge(BridgeOptions options, crypto::SchnorrKey key);
  ~Bridge();

  // Runs until `stop` becomes true. Throws guts::Error for what the operator must fix: an
  // unreadable record, or a repository the first round refuses (private, or writable by the
  // bridge's user: nostr/forge.h). Node and relay outages are retried.
  void run(const std::atomic<bool>& stop);

  BridgeCounters counters() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    std::string text;           // the signed event's JSON
    std::set<size_t> awaiting;  // relays that have not accepted it
    Clock::time_point sent{};   // the last time it went out
  };
  struct ImportedItem {
    bool pull = false;
    uint64_t number = 0;
    std::string author;  // hex pubkey of the Nostr author (a series takes patches only from it)
  };
  struct Waiting {
    Event event;
    Clock::time_point deadline;
  };

  void on_text(size_t relay, std::string text);
  void on_connected(size_t relay);
  void drain_inbox();
  void handle_event(const Event& e);
  // Imports a verified event; false when it must wait (its series root is not imported yet, or
  // the node is unreachable) and be tried again after the next poll.
  bool dispatch(const Event& e);
  bool within_rate(const std::string& author);
  void require_rate(const std::string& author);  // throws kRateLimited beyond the bound
  void import_issue(const ForgeRepo& repo, const InboundIssue& issue);
  bool import_patch(const ForgeRepo& repo, const InboundPatch& patch);
  void poll(bool first);
  void resend_pending();
  void publish(const std::vector<Event>& events);
  void save();
  std::string subscription_message() const;

  BridgeOptions opt_;
  crypto::SchnorrKey key_;
  std::string pubkey_;
  std::set<std::string> addresses_;  // of the bridged repositories
  Forge forge_;
  std::filesystem::path record_path_;
  BridgeRecord record_;
  std::map<std::string, ForgeRepo> snapshots_;                           // by address
  std::map<std::string, std::map<std::string, ImportedItem>> imported_;  // address → event id
  std::map<std::string, std::string> series_root_;  // imported patch id → its series root id
  std::deque<Waiting> waiting_;                     // bounded
  std::map<std::string, std::deque<Clock::time_point>> imports_by_author_;
  std::vector<std::unique_ptr<RelayClient>> relays_;

  mutable Mutex mu_;
  std::condition_variable wake_;
  std::deque<std::pair<size_t, std::string>> inbox_ GUTS_GUARDED_BY(mu_);
  std::map<std::string, Pending> pending_ GUTS_GUARDED_BY(mu_);  // by event id
  std::deque<std::string> pending_order_ GUTS_GUARDED_BY(mu_);   // ids, oldest first
  bool pending_changed_ GUTS_GUARDED_BY(mu_) = false;
  std::set<size_t> resubscribe_ GUTS_GUARDED_BY(mu_);  // relays whose REQ must be sent again
  BridgeCounters counters_ GUTS_GUARDED_BY(mu_);
  std::unordered_set<std::string> seen_;  // event ids (main loop only)
  std::deque<std::string> seen_order_;
};

}  // namespace guts::nostr
