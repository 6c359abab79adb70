#include "nostr/message.h"

#include <algorithm>

#include "core/status.h"
#include "core/utf8.h"

namespace guts::nostr {
namespace {

using json = nlohmann::json;

[[noreturn]] void malformed(const std::string& message) {
  throw Error(Code::kMalformed, message);
}

bool is_tag_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool valid_subscription(std::string_view s) {
  return !s.empty() && s.size() <= kMaxSubscriptionId && is_valid_utf8(s);
}

void require_subscription(std::string_view s) {
  if (!valid_subscription(s)) {
    throw Error(Code::kInvalidArgument, "a subscription id must be 1 to " +
                                            std::to_string(kMaxSubscriptionId) + " bytes of UTF-8");
  }
}

template <typename T>
bool contains(const std::vector<T>& list, const T& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// Element `i` of a relay message of type `type`, which must be a string.
std::string string_at(const json& a, size_t i, const std::string& type, const char* what) {
  if (!a[i].is_string()) malformed(type + " " + what + " is not a string");
  return a[i].get<std::string>();
}

std::string subscription_at(const json& a, size_t i, const std::string& type) {
  std::string sub = string_at(a, i, type, "subscription id");
  if (!valid_subscription(sub)) {
    malformed(type + " subscription id is empty or longer than " +
              std::to_string(kMaxSubscriptionId) + " bytes");
  }
  return sub;
}

void require_arity(const json& a, size_t n, const std::string& type) {
  if (a.size() != n) {
    malformed(type + " message has " + std::to_string(a.size()) + " elements, not " +
              std::to_string(n));
  }
}

}  // namespace

json to_json(const Filter& f) {
  json j = json::object();
  if (!f.ids.empty()) j["ids"] = f.ids;
  if (!f.authors.empty()) j["authors"] = f.authors;
  if (!f.kinds.empty()) j["kinds"] = f.kinds;
  for (const auto& [letter, values] : f.tags) {
    if (!is_tag_letter(letter)) {
      throw Error(Code::kInvalidArgument, "a filter tag key must be a single letter a-z or A-Z");
    }
    if (!values.empty()) j[std::string("#") + letter] = values;
  }
  if (f.since) j["since"] = *f.since;
  if (f.until) j["until"] = *f.until;
  if (f.limit) j["limit"] = *f.limit;
  return j;
}

bool matches(const Filter& f, const Event& e) {
  if (!f.ids.empty() && !contains(f.ids, e.id)) return false;
  if (!f.authors.empty() && !contains(f.authors, e.pubkey)) return false;
  if (!f.kinds.empty() && !contains(f.kinds, e.kind)) return false;
  if (f.since && e.created_at < *f.since) return false;
  if (f.until && e.created_at > *f.until) return false;
  for (const auto& condition : f.tags) {  // (not a structured binding: clang 14 cannot capture it)
    const char letter = condition.first;
    const std::vector<std::string>& values = condition.second;
    if (values.empty()) continue;
    // NIP-01: only the first value of a tag is indexed.
    bool found = std::any_of(e.tags.begin(), e.tags.end(), [&](const auto& tag) {
      return tag.size() >= 2 && tag[0].size() == 1 && tag[0][0] == letter &&
             contains(values, tag[1]);
    });
    if (!found) return false;
  }
  return true;
}

std::string req_message(std::string_view subscription, const std::vector<Filter>& filters) {
  require_subscription(subscription);
  if (filters.empty()) throw Error(Code::kInvalidArgument, "a REQ needs at least one filter");
  json a = json::array({"REQ", std::string(subscription)});
  for (const auto& f : filters) a.push_back(to_json(f));
  try {
    return a.dump();
  } catch (const json::exception&) {  // dump() refuses strings that are not UTF-8
    throw Error(Code::kInvalidArgument, "a filter value is not valid UTF-8");
  }
}

std::string event_message(const Event& e) {
  return "[\"EVENT\"," + to_text(e) + "]";
}

std::string close_message(std::string_view subscription) {
  require_subscription(subscription);
  return json::array({"CLOSE", std::string(subscription)}).dump();
}

RelayMessage parse_relay_message(std::string_view text) {
  json a = parse_json_text(text, kMaxMessageBytes, "relay message");
  if (!a.is_array()) malformed("relay message is not a JSON array");
  if (a.empty()) malformed("relay message is an empty array");
  if (!a[0].is_string()) malformed("relay message type is not a string");
  const std::string type = a[0].get<std::string>();

  if (type == "EVENT") {
    require_arity(a, 3, type);
    RelayEvent m;
    m.subscription = subscription_at(a, 1, type);
    try {
      m.event = event_from_json(a[2]);
    } catch (const Error& e) {
      malformed("EVENT: " + std::string(e.what()));
    }
    return m;
  }
  if (type == "OK") {
    require_arity(a, 4, type);
    RelayOk m;
    m.event_id = string_at(a, 1, type, "event id");
    if (!is_lower_hex(m.event_id, 64)) malformed("OK event id is not 64 lowercase hex");
    if (!a[2].is_boolean()) malformed("OK accepted flag is not a boolean");
    m.accepted = a[2].get<bool>();
    m.message = string_at(a, 3, type, "message");
    return m;
  }
  if (type == "EOSE") {
    require_arity(a, 2, type);
    return RelayEose{subscription_at(a, 1, type)};
  }
  if (type == "CLOSED") {
    require_arity(a, 3, type);
    RelayClosed m;
    m.subscription = subscription_at(a, 1, type);
    m.message = string_at(a, 2, type, "message");
    return m;
  }
  if (type == "NOTICE") {
    require_arity(a, 2, type);
    return RelayNotice{string_at(a, 1, type, "message")};
  }
  malformed("relay message type \"" + printable_excerpt(type, 32) + "\" is not supported");
}

}  // namespace guts::nostr
