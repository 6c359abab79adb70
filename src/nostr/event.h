// Nostr events (NIP-01): the signed JSON objects every Nostr message carries.
//
//   {"id": <sha256 of the serialization below, 64 lowercase hex>,
//    "pubkey": <x-only secp256k1 key, 64 lowercase hex>, "created_at": <unix seconds>,
//    "kind": <0..65535>, "tags": [["e", "..."], ...], "content": "...",
//    "sig": <BIP-340 signature of the 32 id bytes, 128 lowercase hex>}
//
// The id is the SHA-256 of the compact JSON text [0,pubkey,created_at,kind,tags,content] written
// exactly as JavaScript's JSON.stringify writes it (NIP-01 "Serialization"): only '"', '\\' and
// control characters are escaped, everything else is raw UTF-8. A single differing byte gives a
// different id, so the writer here is checked against nostr-tools' on golden vectors
// (tests/nostr/testdata/events.json).
//
// Parsing (event_from_json) checks shape and bounds only; verify_event is the one place that
// checks the id and the signature. Everything here is pure: no I/O, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/schnorr.h"

namespace guts::nostr {

// Bounds on untrusted events: a relay may send anything, so every parser refuses more than this
// before building anything. 128 KiB holds the NIP-34 advice of patches "under 60kb" twice.
inline constexpr size_t kMaxEventBytes = 128 * 1024;  // serialized event JSON
inline constexpr size_t kMaxTags = 2000;
inline constexpr size_t kMaxTagValues = 32;  // strings in one tag, its name included
// Timestamps JavaScript represents exactly and a calendar can show: up to 9999-12-31T23:59:59Z.
inline constexpr int64_t kMaxCreatedAt = 253402300799;
inline constexpr uint32_t kMaxKind = 65535;  // NIP-01: "integer between 0 and 65535"
// Nesting of the JSON texts this module parses (a relay message holding an event is 4 deep);
// deeper input is refused before it is built.
inline constexpr int kMaxJsonDepth = 8;

struct Event {
  std::string id;      // 64 lowercase hex = sha256 of serialize_for_id
  std::string pubkey;  // 64 lowercase hex, x-only secp256k1 key
  int64_t created_at = 0;
  uint32_t kind = 0;
  std::vector<std::vector<std::string>> tags;
  std::string content;
  std::string sig;  // 128 lowercase hex, BIP-340 over the id bytes
  bool operator==(const Event&) const = default;
};

// The compact JSON text [0,pubkey,created_at,kind,tags,content] whose SHA-256 is the id, byte
// for byte what nostr-tools' serializeEvent (JSON.stringify) writes. Throws
// guts::Error(kMalformed) when the content or a tag is not valid UTF-8 (it has no JSON text).
std::string serialize_for_id(const Event& e);
// 64 lowercase hex of sha256(serialize_for_id(e)). Throws like serialize_for_id.
std::string compute_id(const Event& e);

// Fills pubkey (the key's), id and sig (BIP-340 over the id bytes). Throws like
// serialize_for_id.
Event sign_event(Event e, const crypto::SchnorrKey& key);

// nullopt when the event is authentic: hex fields well formed, pubkey a curve point, id the hash
// of the content and sig a valid signature of the id by pubkey. Otherwise the first reason found,
// for logs and error messages: "id is not 64 lowercase hex", "pubkey is not 64 lowercase hex",
// "sig is not 128 lowercase hex", "pubkey is not a secp256k1 x-only key", "content or a tag is
// not valid UTF-8", "id does not match the content", "bad signature".
std::optional<std::string> verify_event(const Event& e);

// {"id","pubkey","created_at","kind","tags","content","sig"}.
nlohmann::json to_json(const Event& e);
// Compact JSON text of to_json. Throws guts::Error(kMalformed) for text that is not UTF-8.
std::string to_text(const Event& e);

// The event of a JSON object, checked for shape and bounds only (does NOT verify): hex fields
// of the right length in lowercase, created_at an integer in [0, kMaxCreatedAt], kind an integer
// in [0, kMaxKind], tags an array of at most kMaxTags arrays of at most kMaxTagValues strings,
// content a string, all strings valid UTF-8, and the strings together at most kMaxEventBytes.
// Members the id does not cover (anything beyond the seven) are ignored: they carry nothing
// authenticated. An empty tag ([]) is accepted, as nostr-tools does. Throws
// guts::Error(kMalformed) naming the problem.
Event event_from_json(const nlohmann::json& j);
// event_from_json of a JSON text of at most kMaxEventBytes.
Event parse_event_text(std::string_view text);

// tags[i][1] of the first tag named `name` that has a value.
std::optional<std::string> tag_value(const Event& e, std::string_view name);
// Every tag named `name`, in order.
std::vector<std::vector<std::string>> tags_named(const Event& e, std::string_view name);

// Whether `s` is exactly `chars` lowercase hex digits (the only hex NIP-01 allows).
bool is_lower_hex(std::string_view s, size_t chars);
// 64 lowercase hex of an x-only key, and back (throws guts::Error(kMalformed) for anything but
// 64 lowercase hex; the key is not checked to be on the curve).
std::string hex_of(const crypto::XOnlyPublicKey& pk);
crypto::XOnlyPublicKey xonly_from_hex(std::string_view hex);

// The JSON value of an untrusted text of at most `max_bytes` bytes and at most kMaxJsonDepth
// levels. Throws guts::Error(kMalformed) naming `what` ("event", "relay message") otherwise.
nlohmann::json parse_json_text(std::string_view text, size_t max_bytes, std::string_view what);

}  // namespace guts::nostr
