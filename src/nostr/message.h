// The NIP-01 relay protocol: the JSON arrays a client and a relay exchange over a WebSocket.
//
//   client -> relay   ["REQ", <sub>, <filter>...]   ["EVENT", <event>]   ["CLOSE", <sub>]
//   relay -> client   ["EVENT", <sub>, <event>]   ["OK", <id>, <bool>, <msg>]   ["EOSE", <sub>]
//                     ["CLOSED", <sub>, <msg>]    ["NOTICE", <msg>]
//
// Writers for the first line, a strict parser for the second (a relay is untrusted: every
// message is bounded, and one of an unknown type or the wrong shape is an error, never skipped
// silently), and the filter matcher a client uses to check that a relay answered what was asked.
// Pure: the WebSocket itself is nostr/relay_client.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "nostr/event.h"

namespace guts::nostr {

inline constexpr size_t kMaxMessageBytes = 256 * 1024;
inline constexpr size_t kMaxSubscriptionId = 64;  // NIP-01: "non-empty string of max length 64"

// A subscription filter. An empty list means "no condition" (NIP-01 lists hold one or more
// values, so an empty one is never written). All given conditions must hold.
struct Filter {
  std::vector<std::string> ids, authors;  // exact 64-hex ids and pubkeys
  std::vector<uint32_t> kinds;
  std::map<char, std::vector<std::string>> tags;  // 'a' -> "#a": values of the tags named "a"
  std::optional<int64_t> since, until;            // since <= created_at <= until
  std::optional<uint32_t> limit;                  // initial query only; not a match condition
  bool operator==(const Filter&) const = default;
};

// {"ids":[...],"authors":[...],"kinds":[...],"#a":[...],"since":N,"until":N,"limit":N}, with
// only the members that are set. Throws guts::Error(kInvalidArgument) for a tag key that is not
// a single letter a-z / A-Z.
nlohmann::json to_json(const Filter& f);
// Whether `e` passes every condition of `f` (limit excepted).
bool matches(const Filter& f, const Event& e);

// Client -> relay texts. Throw guts::Error(kInvalidArgument) for a subscription id that is
// empty, longer than kMaxSubscriptionId bytes or not UTF-8, for no filters, and for strings that
// are not UTF-8 (kMalformed from to_text for an event).
std::string req_message(std::string_view subscription, const std::vector<Filter>& filters);
std::string event_message(const Event& e);  // ["EVENT",ev]
std::string close_message(std::string_view subscription);

// Relay -> client messages.
struct RelayEvent {  // ["EVENT",sub,ev]: the event is shape-checked, NOT verified
  std::string subscription;
  Event event;
};
struct RelayOk {  // ["OK",id,accepted,message]: the answer to an EVENT the client sent
  std::string event_id;
  bool accepted = false;
  std::string message;
};
struct RelayEose {  // ["EOSE",sub]: the stored events are all sent, live ones follow
  std::string subscription;
};
struct RelayClosed {  // ["CLOSED",sub,message]: the relay ended or refused a subscription
  std::string subscription;
  std::string message;
};
struct RelayNotice {  // ["NOTICE",message]
  std::string message;
};
using RelayMessage = std::variant<RelayEvent, RelayOk, RelayEose, RelayClosed, RelayNotice>;

// The message of one relay text frame. Throws guts::Error(kMalformed) naming the problem for a
// text over kMaxMessageBytes, text that is not JSON, a type this client does not speak (AUTH,
// COUNT, ...: the message says which), the wrong number or types of elements, a subscription id
// that is empty or over kMaxSubscriptionId, an OK id that is not 64 lowercase hex, and an event
// event_from_json refuses.
RelayMessage parse_relay_message(std::string_view text);

}  // namespace guts::nostr
