// Webhook delivery (docs/webhooks.md): the node-local half of webhooks.
//
// Hooks are replicated state (state/hooks.h), each naming ONE delivering node. This node's
// WebhookEngine follows FINALIZED blocks (a cursor of the last processed height), derives the
// events of each block (api/webhook_payloads.h) for the hooks it delivers, and queues one
// delivery per (event, hook), persisted together with the cursor in one atomic batch: after a
// restart the queue resumes and nothing already queued is queued again. Deliveries go out on
// the engine's own thread (never on request or consensus threads) through libcurl, signed with
// X-Hub-Signature-256; failures are retried with exponential backoff up to kMaxAttempts, and
// a delivery can be redelivered on request. Toward the receiver this is at-least-once (a crash
// between a send and its record sends it again) with a stable X-GitHub-Delivery GUID, so
// receivers can deduplicate.
//
// Layout in the `local` family (node-local, never replicated):
//   "webhook/cursor"          -> be64(last processed height)
//   "webhook/seq"             -> be64(next delivery id)
//   "webhook/d/" be64(id)     -> encode_delivery(Delivery)
//   "webhook/q/" be64(id)     -> ""   (deliveries still to attempt)
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/thread_annotations.h"
#include "crypto/ed25519.h"
#include "state/block.h"
#include "state/hooks.h"
#include "storage/db.h"

namespace guts::state {
class Chain;
}

namespace guts::node {

inline constexpr uint32_t kWebhookMaxAttempts = 5;
inline constexpr uint64_t kWebhookMaxBackoffMs = 3600 * 1000;
inline constexpr size_t kWebhookLogSize = 2000;  // finished deliveries kept (oldest dropped)

// Delay before attempt `attempts_done + 1`: base, 2·base, 4·base, … capped at one hour.
uint64_t webhook_backoff_ms(uint32_t attempts_done, uint64_t base_ms);

enum DeliveryState : uint8_t { kDeliveryPending = 0, kDeliveryOk = 1, kDeliveryFailed = 2 };

struct DeliveryAttempt {
  uint64_t time_ms = 0;
  int status_code = 0;  // 0: no HTTP response
  uint64_t duration_ms = 0;
  std::string error;          // transport error, when no response
  std::string response_body;  // first 2 KiB
};

struct Delivery {
  uint64_t id = 0;
  std::string guid;  // X-GitHub-Delivery, stable across retries and redeliveries
  uint64_t hook_id = 0;
  std::string event;
  std::string action;
  uint64_t repo_id = 0;
  std::string payload;  // the JSON text
  uint64_t created_ms = 0;
  bool redelivery = false;
  uint8_t state = kDeliveryPending;
  uint64_t next_ms = 0;
  std::vector<DeliveryAttempt> attempts;
};
std::string encode_delivery(const Delivery& d);
Delivery decode_delivery(std::string_view data);  // throws codec::DecodeError

// Records an attempt's outcome: 2xx delivers; otherwise retried after webhook_backoff_ms until
// max_attempts, then failed.
void record_attempt(Delivery& d, DeliveryAttempt a, uint64_t retry_base_ms,
                    uint32_t max_attempts = kWebhookMaxAttempts);

// GitHub's delivery shapes: the list item, and GET .../deliveries/{id} (with request/response).
nlohmann::ordered_json delivery_json(
    const Delivery& d, const std::string& hook_url, bool full,
    const std::vector<std::pair<std::string, std::string>>& headers = {});

// Node-local persistence of deliveries (thread-safe: each call is one read or atomic batch).
class DeliveryStore {
 public:
  DeliveryStore(storage::Db& db, storage::Cf local) : db_(db), cf_(local) {}
  std::optional<uint64_t> cursor() const;
  // Assigns ids, writes the deliveries (queued) and the cursor in one fsynced batch.
  std::vector<Delivery> add(std::vector<Delivery> ds, std::optional<uint64_t> cursor);
  void update(const Delivery& d);  // keeps the queue index in step with d.state
  std::optional<Delivery> get(uint64_t id) const;
  std::vector<Delivery> of_hook(uint64_t hook_id, size_t limit) const;  // newest first
  std::vector<uint64_t> queued() const;
  size_t size() const;

 private:
  void prune(storage::Batch& batch, size_t adding);
  storage::Db& db_;
  storage::Cf cf_;
  Mutex mu_;  // one writer of the sequence at a time
};

struct SendRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool insecure_ssl = false;
  bool allow_private = false;  // loopback/private/link-local targets (operator option)
  std::chrono::milliseconds timeout{10000};
};
struct SendResult {
  int status = 0;
  std::string error;
  std::string body;
};
using Sender = std::function<SendResult(const SendRequest&)>;
// libcurl, no redirects; the host is resolved once and pinned, and refused when it resolves to
// a loopback, private, link-local or unspecified address unless allow_private (no SSRF).
SendResult curl_send(const SendRequest& req);

struct WebhookOptions {
  bool allow_private = false;
  uint64_t retry_base_ms = 10000;
  uint32_t max_attempts = kWebhookMaxAttempts;
  std::chrono::milliseconds timeout{10000};
  Sender sender = curl_send;
  std::function<uint64_t()> now_ms;  // default: unix_millis
};

// The events of a block (api::webhook_events) and a hook's ping payload: injected, so this
// module does not build JSON shapes itself.
struct WebhookEvent {
  std::string name, action;
  uint64_t repo_id = 0;
  crypto::PublicKey repo_owner{};
  nlohmann::ordered_json payload;
};
struct WebhookSources {
  std::function<std::vector<WebhookEvent>(const state::Block&)> events;
  std::function<nlohmann::ordered_json(const state::Hook&)> ping;
  std::function<std::string(const state::Hook&)> hook_url;  // for delivery JSON
};

class WebhookEngine {
 public:
  WebhookEngine(storage::Db& db, state::Chain& chain, crypto::SigningKey key,
                WebhookSources sources, WebhookOptions options);
  ~WebhookEngine();
  void start();
  void stop();
  void notify();  // a block was committed (commit listener: only wakes the worker)

  // One pass, on the caller's thread: queue the events of new finalized blocks, then attempt
  // what is due. Returns the time (unix ms) of the next due attempt, or 0 when none.
  uint64_t step();

  // API (any thread).
  std::vector<Delivery> deliveries(uint64_t hook_id, size_t limit) const {
    return store_.of_hook(hook_id, limit);
  }
  std::optional<Delivery> delivery(uint64_t hook_id, uint64_t id) const;
  // A new delivery of the same event (same GUID, redelivery true), sent at once.
  Result<uint64_t> redeliver(uint64_t hook_id, uint64_t delivery_id);
  Result<uint64_t> ping(const state::Hook& hook);
  const crypto::PublicKey& node_key() const { return key_.public_key(); }
  nlohmann::ordered_json delivery_json_of(const Delivery& d, bool full) const;

  uint64_t sent() const { return sent_; }
  uint64_t failed() const { return failed_; }

 private:
  Delivery make(const state::Hook& hook, const std::string& event, const std::string& action,
                uint64_t repo_id, const nlohmann::ordered_json& payload) const;
  void queue_blocks();
  void attempt(Delivery d);
  std::vector<std::pair<std::string, std::string>> headers_of(const state::Hook& hook,
                                                              const Delivery& d,
                                                              const std::string& body) const;
  void run();

  storage::Db& db_;
  state::Chain& chain_;
  crypto::SigningKey key_;
  WebhookSources sources_;
  WebhookOptions options_;
  mutable DeliveryStore store_;
  Mutex step_mu_;  // one step() at a time
  Mutex mu_;
  std::condition_variable cv_;
  bool wake_ GUTS_GUARDED_BY(mu_) = false;
  bool stopping_ GUTS_GUARDED_BY(mu_) = false;
  std::thread thread_;
  std::atomic<uint64_t> sent_{0}, failed_{0};
};

}  // namespace guts::node
