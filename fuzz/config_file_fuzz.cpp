// guts-node's config file parser (node/config_file.h) on arbitrary bytes: it either returns
// entries within its bounds or throws guts::Error; what it returns renders back to text that
// parses to the same values.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/status.h"
#include "node/config_file.h"

using namespace guts;
using namespace guts::node;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<ConfigEntry> entries;
  try {
    entries = parse_config_text(text, "fuzz.toml");
  } catch (const Error&) {
    return 0;
  }
  if (entries.size() > kConfigMaxEntries) std::abort();
  std::string again;
  for (const auto& e : entries) {
    if (e.key.empty() || e.key.size() > kConfigMaxKeyBytes || e.line < 1) std::abort();
    again += e.key + " = ";
    switch (e.value.type) {
      case ConfigValue::Type::kString:
        if (e.value.string.size() > kConfigMaxStringBytes) std::abort();
        again += toml_quote(e.value.string);
        break;
      case ConfigValue::Type::kInteger:
        again += std::to_string(e.value.integer);
        break;
      case ConfigValue::Type::kBoolean:
        again += e.value.boolean ? "true" : "false";
        break;
      case ConfigValue::Type::kStringArray:
        if (e.value.strings.size() > kConfigMaxArrayItems) std::abort();
        again += "[";
        for (const auto& s : e.value.strings) again += toml_quote(s) + ",";
        again += "]";
        break;
    }
    again += "\n";
  }
  if (again.size() > kConfigMaxBytes) return 0;  // quoting can grow a string past the bound
  std::vector<ConfigEntry> back;
  try {
    back = parse_config_text(again, "again.toml");
  } catch (const Error&) {
    std::abort();  // what the parser accepted, rendered, must parse
  }
  if (back.size() != entries.size()) std::abort();
  for (size_t i = 0; i < back.size(); ++i) {
    const auto& a = entries[i].value;
    const auto& b = back[i].value;
    if (back[i].key != entries[i].key || a.type != b.type || a.string != b.string ||
        a.integer != b.integer || a.boolean != b.boolean || a.strings != b.strings)
      std::abort();
  }
  return 0;
}
