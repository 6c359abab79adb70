// guts-node's config file: a strict subset of TOML (docs/configuration.md). Pure parsing with
// bounds, no I/O beyond reading the file: the option table (node/config.h) gives the keys their
// meaning. Untrusted input in the sense of the fuzzers (fuzz/config_file_fuzz.cpp): a malformed
// file throws guts::Error(kMalformed) naming the file and line, never crashes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace guts::node {

// Bounds of the parser: a config file is small and hand-written.
inline constexpr size_t kConfigMaxBytes = 1 << 20;
inline constexpr size_t kConfigMaxEntries = 1024;
inline constexpr size_t kConfigMaxKeyBytes = 64;
inline constexpr size_t kConfigMaxStringBytes = 4096;
inline constexpr size_t kConfigMaxArrayItems = 1024;

struct ConfigValue {
  enum class Type { kString, kInteger, kBoolean, kStringArray };
  Type type = Type::kString;
  std::string string;                // kString
  int64_t integer = 0;               // kInteger
  bool boolean = false;              // kBoolean
  std::vector<std::string> strings;  // kStringArray (an empty array is allowed)
};

// "a string", "an integer", "a boolean", "an array of strings".
std::string_view describe(ConfigValue::Type type);

struct ConfigEntry {
  std::string key;
  int line = 0;  // 1-based line of the key
  ConfigValue value;
};

// The accepted language: `key = value` lines; `#` comments; keys are bare TOML keys
// ([A-Za-z0-9_-]+); values are basic strings ("…" with \" \\ \n \t \r \uXXXX escapes), literal
// strings ('…'), decimal integers (optional sign and _ separators, 64-bit), true/false, and
// arrays of strings (may span lines, trailing comma allowed). Tables ([section]), dotted keys,
// floats, dates and inline tables are rejected with a message saying so. A key appears once.
// Entries come back in file order. Errors: guts::Error(kMalformed) "<name>:<line>: …".
std::vector<ConfigEntry> parse_config_text(std::string_view text, const std::string& name);

// Reads and parses a file (at most kConfigMaxBytes). Errors name the file.
std::vector<ConfigEntry> parse_config_file(const std::filesystem::path& path);

// A value written back as TOML (for `guts-node config check`): strings quoted and escaped.
std::string toml_quote(std::string_view s);

}  // namespace guts::node
