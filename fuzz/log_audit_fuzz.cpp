// The JSON log escaper and audit records from arbitrary bytes: an escaped message is always
// one valid JSON string of valid UTF-8; an audit record either fails with DecodeError or
// round-trips.
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "core/log.h"
#include "core/utf8.h"
#include "state/audit.h"

using namespace guts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string quoted = "\"";
  append_json_escaped(quoted, text);
  quoted += "\"";
  if (quoted.find('\n') != std::string::npos || !is_valid_utf8(quoted)) std::abort();
  auto parsed = nlohmann::json::parse(quoted, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_string()) std::abort();
  if (is_valid_utf8(text) && parsed.get<std::string>() != text) std::abort();
  try {
    auto r = state::decode_audit_record(ByteView(data, size));
    if (!(state::decode_audit_record(r.encode()) == r)) std::abort();
  } catch (const codec::DecodeError&) {
  }
  return 0;
}
