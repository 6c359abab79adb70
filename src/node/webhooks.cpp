// Webhook delivery (node/webhooks.h; docs/webhooks.md).
#include "node/webhooks.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "api/webhook_payloads.h"
#include "codec/codec.h"
#include "core/thread_name.h"
#include "core/time.h"
#include "crypto/hash.h"
#include "state/chain.h"
#include "state/hooks.h"
#include "state/view.h"

namespace guts::node {

using json = nlohmann::ordered_json;

namespace {

constexpr std::string_view kCursor = "webhook/cursor";
constexpr std::string_view kSeq = "webhook/seq";
constexpr std::string_view kDeliveryPrefix = "webhook/d/";
constexpr std::string_view kQueuePrefix = "webhook/q/";
constexpr size_t kMaxStoredBody = 2048;
constexpr size_t kMaxPayload = 25 << 20;  // GitHub caps payloads at 25 MB
constexpr uint64_t kBlocksPerStep = 64;
constexpr uint8_t kDeliveryVersion = 1;

std::string d_key(uint64_t id) {
  return std::string(kDeliveryPrefix) + storage::be64(id);
}
std::string q_key(uint64_t id) {
  return std::string(kQueuePrefix) + storage::be64(id);
}

std::string new_guid() {
  auto b = crypto::random_array<16>();
  b[6] = (b[6] & 0x0f) | 0x40;  // UUID version 4
  b[8] = (b[8] & 0x3f) | 0x80;
  std::string h = hex_encode(ByteView(b.data(), b.size()));
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

}  // namespace

uint64_t webhook_backoff_ms(uint32_t attempts_done, uint64_t base_ms) {
  if (attempts_done == 0) return 0;
  uint64_t d = base_ms;
  for (uint32_t i = 1; i < attempts_done && d < kWebhookMaxBackoffMs; ++i) d *= 2;
  return std::min(d, kWebhookMaxBackoffMs);
}

void record_attempt(Delivery& d, DeliveryAttempt a, uint64_t retry_base_ms, uint32_t max_attempts) {
  const bool ok = a.status_code >= 200 && a.status_code < 300;
  const uint64_t at = a.time_ms;
  d.attempts.push_back(std::move(a));
  if (ok) {
    d.state = kDeliveryOk;
  } else if (d.attempts.size() >= max_attempts) {
    d.state = kDeliveryFailed;
  } else {
    d.state = kDeliveryPending;
    d.next_ms = at + webhook_backoff_ms(static_cast<uint32_t>(d.attempts.size()), retry_base_ms);
  }
}

std::string encode_delivery(const Delivery& d) {
  codec::Writer w;
  w.u8(kDeliveryVersion).varint(d.id).str(d.guid).varint(d.hook_id).str(d.event).str(d.action);
  w.varint(d.repo_id).str(d.payload).varint(d.created_ms).boolean(d.redelivery).u8(d.state);
  w.varint(d.next_ms).varint(d.attempts.size());
  for (const auto& a : d.attempts)
    w.varint(a.time_ms)
        .varint(static_cast<uint64_t>(std::max(a.status_code, 0)))
        .varint(a.duration_ms)
        .str(a.error)
        .str(a.response_body);
  auto b = w.take();
  return {b.begin(), b.end()};
}

Delivery decode_delivery(std::string_view data) {
  codec::Reader r(as_bytes(data));
  if (r.u8() != kDeliveryVersion) throw codec::DecodeError("unsupported delivery version");
  Delivery d;
  d.id = r.varint();
  d.guid = r.str(64, "guid");
  d.hook_id = r.varint();
  d.event = r.str(64, "event");
  d.action = r.str(64, "action");
  d.repo_id = r.varint();
  d.payload = r.str(kMaxPayload, "payload");
  d.created_ms = r.varint();
  d.redelivery = r.boolean();
  d.state = r.u8();
  d.next_ms = r.varint();
  size_t n = r.count(64, "attempts");
  for (size_t i = 0; i < n; ++i) {
    DeliveryAttempt a;
    a.time_ms = r.varint();
    a.status_code = static_cast<int>(r.varint_max(999, "status"));
    a.duration_ms = r.varint();
    a.error = r.str(4096, "error");
    a.response_body = r.str(kMaxStoredBody, "response");
    d.attempts.push_back(std::move(a));
  }
  r.finish();
  return d;
}

json delivery_json(const Delivery& d, const std::string& hook_url, bool full,
                   const std::vector<std::pair<std::string, std::string>>& headers) {
  const DeliveryAttempt* last = d.attempts.empty() ? nullptr : &d.attempts.back();
  std::string status = "Pending";
  if (last) {
    if (last->status_code >= 200 && last->status_code < 300)
      status = "OK";
    else if (last->status_code > 0)
      status = "Invalid HTTP Response: " + std::to_string(last->status_code);
    else
      status = last->error.empty() ? "Failed" : last->error;
  }
  json j{{"id", d.id},
         {"guid", d.guid},
         {"delivered_at", iso8601(last ? last->time_ms : d.created_ms)},
         {"redelivery", d.redelivery},
         {"duration", last ? static_cast<double>(last->duration_ms) / 1000.0 : 0.0},
         {"status", status},
         {"status_code", last ? last->status_code : 0},
         {"event", d.event},
         {"action", d.action.empty() ? json(nullptr) : json(d.action)},
         {"installation_id", nullptr},
         {"repository_id", d.repo_id ? json(d.repo_id) : json(nullptr)},
         {"throttled_at", nullptr},
         {"url", hook_url},
         // Guts: the delivery's queue state and attempts so far.
         {"state", d.state == kDeliveryOk       ? "delivered"
                   : d.state == kDeliveryFailed ? "failed"
                                                : "pending"},
         {"attempts", d.attempts.size()}};
  if (full) {
    json h = json::object();
    for (const auto& [k, v] : headers) h[k] = v;
    j["request"] = {{"headers", h}, {"payload", json::parse(d.payload, nullptr, false)}};
    j["response"] = {{"headers", json::object()},
                     {"payload", last ? json(last->response_body) : json(nullptr)}};
  }
  return j;
}

// ---- DeliveryStore ----

std::optional<uint64_t> DeliveryStore::cursor() const {
  auto v = db_.get(cf_, kCursor);
  if (!v) return std::nullopt;
  return storage::read_be64(*v);
}

void DeliveryStore::prune(storage::Batch& batch, size_t adding) {
  // Finished deliveries beyond the log size go, oldest first; queued ones always stay.
  std::vector<uint64_t> finished;
  size_t total = 0;
  db_.scan_prefix(cf_, kDeliveryPrefix, [&](std::string_view k, std::string_view v) {
    ++total;
    try {
      if (decode_delivery(v).state != kDeliveryPending)
        finished.push_back(storage::read_be64(k.substr(kDeliveryPrefix.size())));
    } catch (const std::exception&) {
      finished.push_back(storage::read_be64(k.substr(kDeliveryPrefix.size())));
    }
    return true;
  });
  if (total + adding <= kWebhookLogSize) return;
  size_t drop = std::min(finished.size(), total + adding - kWebhookLogSize);
  for (size_t i = 0; i < drop; ++i) batch.del(cf_, d_key(finished[i]));
}

std::vector<Delivery> DeliveryStore::add(std::vector<Delivery> ds, std::optional<uint64_t> cursor) {
  MutexLock lock(mu_);
  auto seq_v = db_.get(cf_, kSeq);
  uint64_t seq = seq_v ? storage::read_be64(*seq_v) : 1;
  storage::Batch batch;
  if (!ds.empty()) prune(batch, ds.size());
  for (auto& d : ds) {
    d.id = seq++;
    batch.put(cf_, d_key(d.id), encode_delivery(d));
    if (d.state == kDeliveryPending) batch.put(cf_, q_key(d.id), "");
  }
  batch.put(cf_, kSeq, storage::be64(seq));
  if (cursor) batch.put(cf_, kCursor, storage::be64(*cursor));
  db_.write(batch, true);
  return ds;
}

void DeliveryStore::update(const Delivery& d) {
  storage::Batch batch;
  batch.put(cf_, d_key(d.id), encode_delivery(d));
  if (d.state == kDeliveryPending)
    batch.put(cf_, q_key(d.id), "");
  else
    batch.del(cf_, q_key(d.id));
  db_.write(batch, true);
}

std::optional<Delivery> DeliveryStore::get(uint64_t id) const {
  auto v = db_.get(cf_, d_key(id));
  if (!v) return std::nullopt;
  return decode_delivery(*v);
}

std::vector<Delivery> DeliveryStore::of_hook(uint64_t hook_id, size_t limit) const {
  std::vector<Delivery> out;
  db_.scan_prefix(cf_, kDeliveryPrefix, [&](std::string_view, std::string_view v) {
    auto d = decode_delivery(v);
    if (d.hook_id == hook_id) out.push_back(std::move(d));
    return true;
  });
  std::reverse(out.begin(), out.end());
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::vector<uint64_t> DeliveryStore::queued() const {
  std::vector<uint64_t> ids;
  db_.scan_prefix(cf_, kQueuePrefix, [&](std::string_view k, std::string_view) {
    ids.push_back(storage::read_be64(k.substr(kQueuePrefix.size())));
    return true;
  });
  return ids;
}

size_t DeliveryStore::size() const {
  size_t n = 0;
  db_.scan_prefix(cf_, kDeliveryPrefix, [&](std::string_view, std::string_view) {
    ++n;
    return true;
  });
  return n;
}

// ---- sending ----

namespace {

bool private_address(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    uint32_t a = ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr);
    auto in = [&](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
    return in(0x00000000, 8) || in(0x0a000000, 8) || in(0x7f000000, 8) || in(0xa9fe0000, 16) ||
           in(0xac100000, 12) || in(0xc0a80000, 16) || in(0x64400000, 10) || in(0xe0000000, 4) ||
           in(0xf0000000, 4);
  }
  if (sa->sa_family == AF_INET6) {
    const auto* b = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr.s6_addr;
    static const uint8_t kZero[16] = {};
    bool unspecified_or_loopback = std::memcmp(b, kZero, 15) == 0 && (b[15] == 0 || b[15] == 1);
    bool v4mapped = std::memcmp(b, kZero, 10) == 0 && b[10] == 0xff && b[11] == 0xff;
    return unspecified_or_loopback || v4mapped || (b[0] & 0xfe) == 0xfc ||
           (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || b[0] == 0xff;
  }
  return true;
}

size_t on_body(char* p, size_t size, size_t n, void* ud) {
  auto* s = static_cast<std::string*>(ud);
  size_t len = size * n;
  if (s->size() < kMaxStoredBody) s->append(p, std::min(len, kMaxStoredBody - s->size()));
  return len;
}

}  // namespace

SendResult curl_send(const SendRequest& req) {
  SendResult out;
  CURLU* u = curl_url();
  std::string host, port, scheme;
  if (curl_url_set(u, CURLUPART_URL, req.url.c_str(), 0) == CURLUE_OK) {
    char* part = nullptr;
    if (curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK) host = part, curl_free(part);
    if (curl_url_get(u, CURLUPART_PORT, &part, CURLU_DEFAULT_PORT) == CURLUE_OK)
      port = part, curl_free(part);
    if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) == CURLUE_OK) scheme = part, curl_free(part);
  }
  curl_url_cleanup(u);
  if (host.empty() || port.empty() || (scheme != "http" && scheme != "https")) {
    out.error = "invalid URL";
    return out;
  }
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[') bare = bare.substr(1, bare.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(bare.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
    out.error = "cannot resolve " + bare;
    return out;
  }
  char text[INET6_ADDRSTRLEN] = {};
  bool refused = false;
  for (addrinfo* ai = res; ai; ai = ai->ai_next)
    if (!req.allow_private && private_address(ai->ai_addr)) refused = true;
  const void* raw =
      res->ai_family == AF_INET
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(res->ai_addr)->sin_addr)
          : static_cast<const void*>(
                &reinterpret_cast<const sockaddr_in6*>(res->ai_addr)->sin6_addr);
  inet_ntop(res->ai_family, raw, text, sizeof text);
  bool v6 = res->ai_family == AF_INET6;
  freeaddrinfo(res);
  if (refused) {
    out.error = bare + " resolves to a loopback or private address (not allowed on this node)";
    return out;
  }
  // Pin the address checked above (no second resolution: no DNS rebinding).
  std::string pin = bare + ":" + port + ":" + (v6 ? "[" + std::string(text) + "]" : text);
  CURL* c = curl_easy_init();
  if (!c) {
    out.error = "curl_easy_init failed";
    return out;
  }
  curl_slist* resolve = curl_slist_append(nullptr, pin.c_str());
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers)
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  headers = curl_slist_append(headers, "Expect:");
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(req.timeout.count(), 5000)));
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out.body);
  if (req.insecure_ssl) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    out.status = static_cast<int>(code);
  } else {
    out.error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_slist_free_all(resolve);
  curl_easy_cleanup(c);
  return out;
}

// ---- WebhookEngine ----

WebhookEngine::WebhookEngine(storage::Db& db, state::Chain& chain, crypto::SigningKey key,
                             WebhookSources sources, WebhookOptions options)
    : db_(db),
      chain_(chain),
      key_(std::move(key)),
      sources_(std::move(sources)),
      options_(std::move(options)),
      store_(db, chain.schema().local) {
  if (!options_.now_ms) options_.now_ms = [] { return unix_millis(); };
  if (!options_.sender) options_.sender = curl_send;
}

WebhookEngine::~WebhookEngine() {
  stop();
}

void WebhookEngine::start() {
  thread_ = std::thread([this] { run(); });
}

void WebhookEngine::stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WebhookEngine::notify() {
  {
    MutexLock lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void WebhookEngine::run() {
  set_thread_name("guts-webhooks");
  for (;;) {
    uint64_t next = 0;
    try {
      next = step();
    } catch (const std::exception& e) {
      spdlog::error("webhooks: {}", e.what());
      next = options_.now_ms() + 1000;
    }
    MutexLock lock(mu_);
    if (stopping_) return;
    if (!wake_) {
      // Wake for a new block, stop(), or the next due retry (at most a minute later: the
      // clock may jump).
      uint64_t now = options_.now_ms();
      uint64_t wait = next == 0 ? 60000 : (next > now ? std::min<uint64_t>(next - now, 60000) : 0);
      if (wait > 0) lock.wait_for(cv_, std::chrono::milliseconds(wait));
    }
    wake_ = false;
    if (stopping_) return;
  }
}

Delivery WebhookEngine::make(const state::Hook& hook, const std::string& event,
                             const std::string& action, uint64_t repo_id,
                             const json& payload) const {
  Delivery d;
  d.guid = new_guid();
  d.hook_id = hook.id;
  d.event = event;
  d.action = action;
  d.repo_id = repo_id;
  json p = payload;
  d.payload = p.dump(-1, ' ', false, json::error_handler_t::replace);
  d.created_ms = options_.now_ms();
  d.next_ms = d.created_ms;
  return d;
}

void WebhookEngine::queue_blocks() {
  const uint64_t head = chain_.head().height;
  auto cursor = store_.cursor();
  if (!cursor) {  // first start: events from now on, not the whole history
    store_.add({}, head);
    return;
  }
  const auto& s = chain_.schema();
  const auto& me = key_.public_key();
  for (uint64_t h = *cursor + 1; h <= head && h <= *cursor + kBlocksPerStep; ++h) {
    auto block = chain_.block_at(h);
    if (!block) break;
    std::vector<Delivery> ds;
    auto view = chain_.view();
    storage::Db& db = db_;
    state::DbReader kv(db);
    // Pings for hooks this node delivers, created in this block.
    for (const auto& tx : block->txs) {
      if (!std::holds_alternative<state::CreateHook>(tx.body)) continue;
      auto id = view.receipt(tx.id());
      auto hook = id ? state::hooks::get(s, kv, *id) : std::nullopt;
      if (hook && hook->node == me && sources_.ping)
        ds.push_back(make(*hook, "ping", "", hook->repo_id, sources_.ping(*hook)));
    }
    // Payloads (git walks for pushes) are built only when this node delivers some hook.
    bool delivers_any = false;
    kv.scan_prefix(s.hooks, "h", [&](std::string_view, std::string_view v) {
      try {
        auto hook = state::decode_hook(v);
        delivers_any = hook.node == me && hook.active;
      } catch (const std::exception&) {
      }
      return !delivers_any;
    });
    if (delivers_any && sources_.events) {
      for (const auto& ev : sources_.events(*block)) {
        auto hooks = state::hooks::of_repo(s, kv, ev.repo_id);
        if (view.org(ev.repo_owner)) {
          auto org_hooks = state::hooks::of_org(s, kv, ev.repo_owner);
          hooks.insert(hooks.end(), org_hooks.begin(), org_hooks.end());
        }
        for (const auto& hook : hooks) {
          if (hook.node != me || !hook.active || !hook.wants(ev.name) || hook.created_height >= h)
            continue;
          ds.push_back(make(hook, ev.name, ev.action, ev.repo_id, ev.payload));
        }
      }
    }
    store_.add(std::move(ds), h);  // with the cursor: each block's events are queued once
  }
}

std::vector<std::pair<std::string, std::string>> WebhookEngine::headers_of(
    const state::Hook& hook, const Delivery& d, const std::string& body) const {
  std::vector<std::pair<std::string, std::string>> h{
      {"User-Agent", "GitHub-Hookshot/guts"},
      {"Content-Type", hook.content_type == state::kHookForm ? "application/x-www-form-urlencoded"
                                                             : "application/json"},
      {"X-GitHub-Event", d.event},
      {"X-GitHub-Delivery", d.guid},
      {"X-GitHub-Hook-ID", std::to_string(hook.id)},
      {"X-GitHub-Hook-Installation-Target-Type",
       hook.scope == state::kHookOrg ? "organization" : "repository"},
      {"X-GitHub-Hook-Installation-Target-ID",
       std::to_string(hook.scope == state::kHookOrg ? 0 : hook.repo_id)}};
  if (!hook.sealed_secret.empty()) {
    if (auto secret = api::open_hook_secret(key_, hook.sealed_secret))
      h.emplace_back("X-Hub-Signature-256", api::hook_signature_256(*secret, body));
  }
  return h;
}

void WebhookEngine::attempt(Delivery d) {
  auto hook = state::hooks::get(chain_.schema(), state::DbReader(db_), d.hook_id);
  DeliveryAttempt a;
  a.time_ms = options_.now_ms();
  if (!hook || hook->node != key_.public_key()) {
    // Deleted, or handed to another node: nothing more to send from here.
    a.error = hook ? "the hook is now delivered by another node" : "the hook was deleted";
    d.attempts.push_back(a);
    d.state = kDeliveryFailed;
    store_.update(d);
    ++failed_;
    return;
  }
  SendRequest req;
  req.url = hook->url;
  req.body = hook->content_type == state::kHookForm ? api::form_body(d.payload) : d.payload;
  req.headers = headers_of(*hook, d, req.body);
  req.insecure_ssl = hook->insecure_ssl;
  req.allow_private = options_.allow_private;
  req.timeout = options_.timeout;
  auto started = std::chrono::steady_clock::now();
  SendResult r = options_.sender(req);
  a.duration_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::steady_clock::now() - started)
                                            .count());
  a.status_code = r.status;
  a.error = r.error;
  a.response_body = r.body.substr(0, kMaxStoredBody);
  record_attempt(d, std::move(a), options_.retry_base_ms, options_.max_attempts);
  store_.update(d);
  if (d.state == kDeliveryOk) {
    ++sent_;
  } else {
    ++failed_;
    spdlog::info("webhook delivery {} of hook {} to {}: {} ({})", d.guid, d.hook_id, hook->url,
                 r.status ? std::to_string(r.status) : r.error,
                 d.state == kDeliveryFailed ? "giving up" : "will retry");
  }
}

uint64_t WebhookEngine::step() {
  MutexLock lock(step_mu_);
  queue_blocks();
  uint64_t next = 0;
  for (uint64_t id : store_.queued()) {
    {
      MutexLock l(mu_);
      if (stopping_) return 0;
    }
    auto d = store_.get(id);
    if (!d || d->state != kDeliveryPending) continue;
    if (d->next_ms > options_.now_ms()) {
      next = next == 0 ? d->next_ms : std::min(next, d->next_ms);
      continue;
    }
    attempt(std::move(*d));
    auto after = store_.get(id);
    if (after && after->state == kDeliveryPending)
      next = next == 0 ? after->next_ms : std::min(next, after->next_ms);
  }
  // More finalized blocks than one step handles: come back at once.
  auto cursor = store_.cursor();
  if (cursor && *cursor < chain_.head().height) return options_.now_ms();
  return next;
}

std::optional<Delivery> WebhookEngine::delivery(uint64_t hook_id, uint64_t id) const {
  auto d = store_.get(id);
  if (!d || d->hook_id != hook_id) return std::nullopt;
  return d;
}

Result<uint64_t> WebhookEngine::redeliver(uint64_t hook_id, uint64_t delivery_id) {
  auto d = delivery(hook_id, delivery_id);
  if (!d) return Status(Code::kNotFound, "no delivery " + std::to_string(delivery_id));
  Delivery copy;
  copy.guid = d->guid;
  copy.hook_id = d->hook_id;
  copy.event = d->event;
  copy.action = d->action;
  copy.repo_id = d->repo_id;
  copy.payload = d->payload;
  copy.redelivery = true;
  copy.created_ms = copy.next_ms = options_.now_ms();
  auto added = store_.add({std::move(copy)}, std::nullopt);
  notify();
  return added.front().id;
}

Result<uint64_t> WebhookEngine::ping(const state::Hook& hook) {
  if (hook.node != key_.public_key())
    return Status(Code::kFailedPrecondition, "this node does not deliver the hook");
  auto added =
      store_.add({make(hook, "ping", "", hook.repo_id, sources_.ping(hook))}, std::nullopt);
  notify();
  return added.front().id;
}

json WebhookEngine::delivery_json_of(const Delivery& d, bool full) const {
  auto hook = state::hooks::get(chain_.schema(), state::DbReader(db_), d.hook_id);
  std::vector<std::pair<std::string, std::string>> headers;
  if (full && hook) {
    headers = headers_of(*hook, d, d.payload);
    for (auto& [k, v] : headers)
      if (k == "X-Hub-Signature-256") v = "sha256=********";  // not a signing oracle
  }
  return delivery_json(d, hook ? hook->url : "", full, headers);
}

}  // namespace guts::node
