// Wire encodings and pure validity rules of webhooks (state/hooks.h).
#include "state/hooks.h"

#include <algorithm>

#include "codec/codec.h"
#include "state/field_codec.h"

namespace guts::state {

using codec::DecodeError;
using codec::Reader;
using codec::Writer;
using namespace field;  // state/field_codec.h

namespace {
constexpr size_t kMaxEventName = 64;
constexpr uint8_t kHookRecordVersion = 1;

void put_events(Writer& w, const std::vector<std::string>& v) {
  put_strs(w, v);
}
std::vector<std::string> get_events(Reader& r) {
  return get_strs(r, kMaxHookEvents, kMaxEventName, "events");
}
}  // namespace

const std::vector<std::string>& hook_event_names() {
  static const std::vector<std::string> kNames = {
      "*",       "push",         "issues", "issue_comment", "pull_request",
      "release", "workflow_run", "create", "delete",        "pull_request_review",
      "ping"};
  return kNames;
}

std::optional<std::string> hook_url_error(const std::string& url) {
  if (url.empty()) return "must not be empty";
  if (url.size() > kMaxHookUrl) return "is longer than 2048 bytes";
  std::string_view u(url);
  size_t rest;
  if (u.substr(0, 7) == "http://")
    rest = 7;
  else if (u.substr(0, 8) == "https://")
    rest = 8;
  else
    return "must be an http:// or https:// URL";
  auto host_end = u.find_first_of("/?#", rest);
  auto authority = u.substr(rest, host_end == std::string_view::npos ? u.npos : host_end - rest);
  if (authority.empty()) return "has no host";
  if (authority.find('@') != std::string_view::npos) return "must not contain credentials";
  for (unsigned char c : u)
    if (c <= 0x20 || c == 0x7f) return "must not contain spaces or control characters";
  return std::nullopt;
}

std::optional<std::string> hook_events_error(const std::vector<std::string>& events) {
  if (events.size() > kMaxHookEvents) return "too many events";
  const auto& names = hook_event_names();
  for (const auto& e : events)
    if (std::find(names.begin(), names.end(), e) == names.end())
      return "'" + e + "' is not a supported event";
  return std::nullopt;
}

bool Hook::wants(const std::string& event) const {
  if (event == "ping") return true;
  return std::find(events.begin(), events.end(), event) != events.end() ||
         std::find(events.begin(), events.end(), "*") != events.end();
}

void encode_hook_body(Writer& w, const CreateHook& b) {
  w.u8(b.scope).varint(b.repo_id).fixed(b.org).str(b.url).u8(b.content_type);
  w.boolean(b.insecure_ssl).boolean(b.active);
  put_events(w, b.events);
  w.fixed(b.node).bytes(b.sealed_secret);
}
void encode_hook_body(Writer& w, const UpdateHook& b) {
  w.varint(b.hook_id);
  put_opt_str(w, b.url);
  put_opt_u8(w, b.content_type);
  put_opt_bool(w, b.insecure_ssl);
  put_opt_bool(w, b.active);
  w.boolean(b.events.has_value());
  if (b.events) put_events(w, *b.events);
  put_opt_key(w, b.node);
  w.boolean(b.sealed_secret.has_value());
  if (b.sealed_secret) w.bytes(*b.sealed_secret);
}
void encode_hook_body(Writer& w, const DeleteHook& b) {
  w.varint(b.hook_id);
}

template <>
CreateHook decode_hook_body<CreateHook>(Reader& r) {
  CreateHook b;
  b.scope = r.u8();
  b.repo_id = r.varint();
  b.org = r.fixed<32>();
  b.url = r.str(kMaxHookUrl, "url");
  b.content_type = r.u8();
  b.insecure_ssl = r.boolean();
  b.active = r.boolean();
  b.events = get_events(r);
  b.node = r.fixed<32>();
  b.sealed_secret = r.bytes(kMaxSealedSecret, "secret");
  return b;
}
template <>
UpdateHook decode_hook_body<UpdateHook>(Reader& r) {
  UpdateHook b;
  b.hook_id = r.varint();
  b.url = get_opt_str(r, kMaxHookUrl, "url");
  b.content_type = get_opt_u8(r);
  b.insecure_ssl = get_opt_bool(r);
  b.active = get_opt_bool(r);
  if (r.boolean()) b.events = get_events(r);
  b.node = get_opt_key(r);
  if (r.boolean()) b.sealed_secret = r.bytes(kMaxSealedSecret, "secret");
  return b;
}
template <>
DeleteHook decode_hook_body<DeleteHook>(Reader& r) {
  return DeleteHook{r.varint()};
}

std::string encode_hook(const Hook& h) {
  Writer w;
  w.u8(kHookRecordVersion).varint(h.id).u8(h.scope).varint(h.repo_id).fixed(h.org).str(h.url);
  w.u8(h.content_type).boolean(h.insecure_ssl).boolean(h.active);
  put_events(w, h.events);
  w.fixed(h.node).bytes(h.sealed_secret).fixed(h.creator);
  w.varint(h.created_ms).varint(h.updated_ms).varint(h.created_height);
  return guts::to_string(w.data());
}

Hook decode_hook(std::string_view data) {
  Reader r(as_bytes(data));
  if (r.u8() != kHookRecordVersion) throw DecodeError("unsupported hook record version");
  Hook h;
  h.id = r.varint();
  h.scope = r.u8();
  h.repo_id = r.varint();
  h.org = r.fixed<32>();
  h.url = r.str(kMaxHookUrl, "url");
  h.content_type = r.u8();
  h.insecure_ssl = r.boolean();
  h.active = r.boolean();
  h.events = get_events(r);
  h.node = r.fixed<32>();
  h.sealed_secret = r.bytes(kMaxSealedSecret, "secret");
  h.creator = r.fixed<32>();
  h.created_ms = r.varint();
  h.updated_ms = r.varint();
  h.created_height = r.varint();
  r.finish();
  return h;
}

}  // namespace guts::state
