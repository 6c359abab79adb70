#include "nostr/event.h"

#include "core/bytes.h"
#include "core/status.h"
#include "core/utf8.h"
#include "crypto/hash.h"

namespace guts::nostr {
namespace {

using json = nlohmann::json;

[[noreturn]] void malformed(const std::string& message) {
  throw Error(Code::kMalformed, message);
}

bool strings_are_utf8(const Event& e) {
  if (!is_valid_utf8(e.content)) return false;
  for (const auto& tag : e.tags) {
    for (const auto& v : tag) {
      if (!is_valid_utf8(v)) return false;
    }
  }
  return true;
}

// nlohmann's dump() refuses (throws) text that is not UTF-8; say so in our own vocabulary first.
void require_utf8(const Event& e) {
  if (!strings_are_utf8(e)) malformed("event content or a tag is not valid UTF-8");
}

const json& member(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) malformed(std::string("event has no \"") + name + "\"");
  return *it;
}

std::string hex_member(const json& j, const char* name, size_t chars) {
  const json& v = member(j, name);
  if (!v.is_string() || !is_lower_hex(v.get_ref<const std::string&>(), chars)) {
    malformed(std::string("event ") + name + " is not " + std::to_string(chars) + " lowercase hex");
  }
  return v.get<std::string>();
}

// An integer member in [0, max]; JSON numbers with a fraction or exponent are refused, since
// JSON.stringify would write them differently from how they were received.
uint64_t bounded_integer(const json& j, const char* name, uint64_t max) {
  const json& v = member(j, name);
  if (!v.is_number_integer()) malformed(std::string("event ") + name + " is not an integer");
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u <= max) return u;
  } else {
    int64_t i = v.get<int64_t>();
    if (i >= 0 && static_cast<uint64_t>(i) <= max) return static_cast<uint64_t>(i);
  }
  malformed(std::string("event ") + name + " is out of range [0, " + std::to_string(max) + "]");
}

}  // namespace

bool is_lower_hex(std::string_view s, size_t chars) {
  if (s.size() != chars) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string hex_of(const crypto::XOnlyPublicKey& pk) {
  return hex_encode(pk);
}

crypto::XOnlyPublicKey xonly_from_hex(std::string_view hex) {
  if (!is_lower_hex(hex, 64)) malformed("a public key is not 64 lowercase hex");
  return *hex_decode_fixed<32>(hex);
}

std::string serialize_for_id(const Event& e) {
  require_utf8(e);
  json a = json::array();
  a.push_back(0);
  a.push_back(e.pubkey);
  a.push_back(e.created_at);
  a.push_back(e.kind);
  a.push_back(e.tags);
  a.push_back(e.content);
  // dump() with its defaults is JSON.stringify for these values (no spaces, '/' and non-ASCII
  // raw, \b \f \n \r \t short, other controls \u00xx): the golden vectors check it.
  return a.dump();
}

std::string compute_id(const Event& e) {
  return hex_encode(crypto::sha256(serialize_for_id(e)));
}

Event sign_event(Event e, const crypto::SchnorrKey& key) {
  e.pubkey = hex_of(key.public_key());
  e.id = compute_id(e);
  e.sig = hex_encode(key.sign(*hex_decode_fixed<32>(e.id)));
  return e;
}

std::optional<std::string> verify_event(const Event& e) {
  if (!is_lower_hex(e.id, 64)) return "id is not 64 lowercase hex";
  if (!is_lower_hex(e.pubkey, 64)) return "pubkey is not 64 lowercase hex";
  if (!is_lower_hex(e.sig, 128)) return "sig is not 128 lowercase hex";
  auto pk = xonly_from_hex(e.pubkey);
  if (!crypto::is_valid_xonly_public_key(pk)) return "pubkey is not a secp256k1 x-only key";
  if (!strings_are_utf8(e)) return "content or a tag is not valid UTF-8";
  if (compute_id(e) != e.id) return "id does not match the content";
  auto sig = hex_decode_fixed<64>(e.sig);
  if (!crypto::schnorr_verify(pk, *hex_decode_fixed<32>(e.id), *sig)) return "bad signature";
  return std::nullopt;
}

json to_json(const Event& e) {
  return json{{"id", e.id},     {"pubkey", e.pubkey}, {"created_at", e.created_at},
              {"kind", e.kind}, {"tags", e.tags},     {"content", e.content},
              {"sig", e.sig}};
}

std::string to_text(const Event& e) {
  require_utf8(e);
  return to_json(e).dump();
}

Event event_from_json(const json& j) {
  if (!j.is_object()) malformed("an event is not a JSON object");
  Event e;
  e.id = hex_member(j, "id", 64);
  e.pubkey = hex_member(j, "pubkey", 64);
  e.sig = hex_member(j, "sig", 128);
  e.created_at = static_cast<int64_t>(bounded_integer(j, "created_at", kMaxCreatedAt));
  e.kind = static_cast<uint32_t>(bounded_integer(j, "kind", kMaxKind));

  // The strings together are bounded, so an event built from a JSON value (not only one parsed
  // from a bounded text) stays small.
  size_t bytes = 0;
  auto add_bytes = [&bytes](size_t n) {
    bytes += n;
    if (bytes > kMaxEventBytes) {
      malformed("event content and tags exceed " + std::to_string(kMaxEventBytes) + " bytes");
    }
  };

  const json& content = member(j, "content");
  if (!content.is_string()) malformed("event content is not a string");
  if (!is_valid_utf8(content.get_ref<const std::string&>())) {
    malformed("event content is not valid UTF-8");
  }
  add_bytes(content.get_ref<const std::string&>().size());
  e.content = content.get<std::string>();

  const json& tags = member(j, "tags");
  if (!tags.is_array()) malformed("event tags is not an array");
  if (tags.size() > kMaxTags) {
    malformed("event has " + std::to_string(tags.size()) + " tags, more than " +
              std::to_string(kMaxTags));
  }
  e.tags.reserve(tags.size());
  for (const json& tag : tags) {
    if (!tag.is_array()) malformed("an event tag is not an array");
    if (tag.size() > kMaxTagValues) {
      malformed("an event tag has " + std::to_string(tag.size()) + " values, more than " +
                std::to_string(kMaxTagValues));
    }
    std::vector<std::string> values;
    values.reserve(tag.size());
    for (const json& v : tag) {
      if (!v.is_string()) malformed("an event tag value is not a string");
      const auto& s = v.get_ref<const std::string&>();
      if (!is_valid_utf8(s)) malformed("an event tag value is not valid UTF-8");
      add_bytes(s.size());
      values.push_back(s);
    }
    e.tags.push_back(std::move(values));
  }
  return e;
}

Event parse_event_text(std::string_view text) {
  return event_from_json(parse_json_text(text, kMaxEventBytes, "event"));
}

std::optional<std::string> tag_value(const Event& e, std::string_view name) {
  for (const auto& tag : e.tags) {
    if (tag.size() >= 2 && tag[0] == name) return tag[1];
  }
  return std::nullopt;
}

std::vector<std::vector<std::string>> tags_named(const Event& e, std::string_view name) {
  std::vector<std::vector<std::string>> out;
  for (const auto& tag : e.tags) {
    if (!tag.empty() && tag[0] == name) out.push_back(tag);
  }
  return out;
}

json parse_json_text(std::string_view text, size_t max_bytes, std::string_view what) {
  if (text.size() > max_bytes) {
    malformed(std::string(what) + " of " + std::to_string(text.size()) +
              " bytes is over the bound of " + std::to_string(max_bytes));
  }
  // The callback sees each value's depth as it starts, so a deeply nested text is refused
  // before it is built (nothing this module reads is deeper than kMaxJsonDepth).
  auto depth_bound = [&what](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth) {
      malformed(std::string(what) + " is nested deeper than " + std::to_string(kMaxJsonDepth) +
                " levels");
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), depth_bound);
  } catch (const json::parse_error& e) {
    // Not e.what(): it quotes the offending bytes, which may be anything.
    malformed(std::string(what) + " is not valid JSON (error at byte " + std::to_string(e.byte) +
              ")");
  } catch (const json::exception&) {
    malformed(std::string(what) + " is not valid JSON (a number out of range)");
  }
}

}  // namespace guts::nostr
