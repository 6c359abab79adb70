// A WebSocket client for one Nostr relay (NIP-01 transport): ws:// or wss://, text frames in and
// out, on its own I/O thread, re-dialled forever with exponential backoff until stop(). It knows
// nothing of the messages it carries (nostr/message.h parses them). All Beast/Asio/OpenSSL code
// lives in relay_client.cpp; this header is Boost-free.
//
// Delivery is at most once per connection: a frame queued by send() goes out on the connection
// it was queued for or not at all, never on a later one. A relay forgets subscriptions when the
// connection drops, so the user re-sends its REQs (and any EVENT not yet acknowledged with OK) in
// on_connected, which runs after every successful (re)connect before anything queued is written.
//
// wss:// verifies the relay's certificate chain against the system trust store (plus
// RelayClientOptions::ca_file when set) and its name against the URL's host (DNS name or IP
// address); the host name goes out as SNI.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace guts::nostr {

struct RelayClientOptions {
  std::string url;  // ws://host[:port][/path][?query] or wss://…; IPv6 literals in brackets
  // Reconnect delays: the first is min_backoff, each further consecutive failure doubles it up to
  // max_backoff; each delay is then drawn uniformly from [delay/2, delay] (jitter, so a relay
  // restart is not met by all its clients at once). A connection that stayed up for 10 s starts
  // the sequence over.
  std::chrono::milliseconds min_backoff{250};
  std::chrono::milliseconds max_backoff{30000};
  std::chrono::milliseconds connect_timeout{10000};  // resolve + TCP + TLS + WebSocket handshake
  // A WebSocket ping goes out after this long without a frame from the relay; a connection
  // silent for two intervals is dropped and re-dialled.
  std::chrono::milliseconds ping_interval{30000};
  size_t max_message_bytes = 256 * 1024;      // a larger incoming message closes the connection
  size_t max_queued_bytes = 4 * 1024 * 1024;  // send() refuses a frame that would exceed this
  // PEM file of additional trust anchors for wss:// (a private CA; tests). Empty: the system
  // store only.
  std::string ca_file;
};

// One relay connection on its own I/O thread. It dials, and after any failure or close re-dials
// forever with exponential backoff and jitter, until stop(). Frames are text.
//
// Handlers run on the client's thread, one at a time; none starts once stop() has begun, so none
// runs after it returns. While one runs the client reads nothing (nor answers pings): keep them
// short. They may call send(), connected(), connections() and stop() (which then only requests
// the stop: a thread cannot join itself), but must not destroy the client.
class RelayClient {
 public:
  // Each received text frame (valid UTF-8: Beast fails a connection that sends anything else,
  // as RFC 6455 requires). Binary frames are ignored.
  using TextHandler = std::function<void(std::string text)>;
  // After each successful (re)connect, before any queued frame is written: re-send REQs and
  // unacknowledged EVENTs here with send().
  using ConnectedHandler = std::function<void()>;
  // After a connection that on_connected announced has ended, with why ("relay closed the
  // connection (1000)", "no frame from the relay within 60000 ms (two ping intervals)", …).
  // Failed dials are only logged.
  using DisconnectedHandler = std::function<void(std::string reason)>;

  RelayClient(RelayClientOptions options, TextHandler on_text, ConnectedHandler on_connected,
              DisconnectedHandler on_disconnected = {});
  ~RelayClient();  // stop()
  RelayClient(const RelayClient&) = delete;
  RelayClient& operator=(const RelayClient&) = delete;

  // Checks the options and spawns the I/O thread, which dials at once. Throws
  // guts::Error(kInvalidArgument) for a URL that is not a valid ws:// or wss:// URL, a ca_file
  // that cannot be loaded, or a connect_timeout, ping_interval or max_message_bytes that is not
  // positive; guts::Error(kFailedPrecondition) when called twice or after stop().
  void start();
  // Closes the connection (a WebSocket close frame, then at most a second's wait for the relay's
  // answer), abandons a dial or a backoff wait at once, and joins the thread. Idempotent.
  void stop();

  // Thread-safe. Queues a text frame for the current connection. Returns false when not
  // connected (frames are never carried over a reconnect: the user re-sends in on_connected) or
  // when the queue would exceed max_queued_bytes.
  bool send(std::string text);
  bool connected() const;
  uint64_t connections() const;  // successful handshakes so far (tests, metrics)
  const std::string& url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace guts::nostr
