#include "node/backup_manifest.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/status.h"

namespace guts::node {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& what) {
  throw Error(Code::kInvalidArgument, what);
}

bool is_hex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;
  });
}

const json& field(const json& j, const char* name, json::value_t type) {
  auto it = j.find(name);
  if (it == j.end()) bad(std::string("field \"") + name + "\" is missing");
  bool ok = type == json::value_t::number_unsigned || type == json::value_t::number_integer
                ? it->is_number_integer()
                : it->type() == type;
  if (!ok) bad(std::string("field \"") + name + "\" has the wrong type");
  return *it;
}

std::string text_field(const json& j, const char* name, size_t max) {
  auto s = field(j, name, json::value_t::string).get<std::string>();
  if (s.empty() || s.size() > max || !is_printable(s))
    bad(std::string("field \"") + name + "\" is empty, too long or not printable");
  return s;
}

std::string hex_field(const json& j, const char* name) {
  auto s = field(j, name, json::value_t::string).get<std::string>();
  if (!is_hex64(s)) bad(std::string("field \"") + name + "\" is not 64 lower-case hex digits");
  return s;
}

uint64_t unsigned_field(const json& j, const char* name) {
  const auto& v = field(j, name, json::value_t::number_unsigned);
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  auto i = v.get<int64_t>();
  if (i < 0) bad(std::string("field \"") + name + "\" is negative");
  return static_cast<uint64_t>(i);
}

}  // namespace

bool is_valid_backup_path(std::string_view path) {
  if (path.empty() || path.size() > kBackupMaxPathBytes) return false;
  if (path == "genesis.json" || path == "node.key") return true;
  bool under = path.rfind("db/", 0) == 0 || path.rfind("repos/", 0) == 0;
  if (!under) return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    auto c = path.substr(start, end - start);
    if (c.empty() || c == "." || c == ".." || c.size() > kBackupMaxComponentBytes) return false;
    for (char ch : c) {
      auto u = static_cast<unsigned char>(ch);
      if (u < 0x20 || u == 0x7f || ch == '\\') return false;
    }
    start = end + 1;
  }
  return true;
}

std::string encode_backup_manifest(BackupManifest m) {
  std::sort(m.files.begin(), m.files.end(),
            [](const BackupFile& a, const BackupFile& b) { return a.path < b.path; });
  if (m.files.size() > kBackupMaxFiles)
    throw Error(Code::kTooLarge, "a backup of " + std::to_string(m.files.size()) +
                                     " files is over the format's bound of " +
                                     std::to_string(kBackupMaxFiles));
  json files = json::array();
  for (size_t i = 0; i < m.files.size(); ++i) {
    const auto& f = m.files[i];
    if (!is_valid_backup_path(f.path)) bad("file path '" + f.path + "' is not valid in a backup");
    if (i > 0 && m.files[i - 1].path == f.path) bad("file path '" + f.path + "' is listed twice");
    if (!is_hex64(f.sha256)) bad("the checksum of '" + f.path + "' is not a SHA-256");
    files.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  }
  json j = {{"format", "guts-backup"},
            {"version", m.version},
            {"chain_id", m.chain_id},
            {"genesis_id", m.genesis_id},
            {"height", m.height},
            {"head_id", m.head_id},
            {"state_root", m.state_root},
            {"created_unix_ms", m.created_unix_ms},
            {"node", m.node},
            {"includes_keys", m.includes_keys},
            {"files", std::move(files)}};
  std::string text;
  try {
    text = j.dump(1) + "\n";
  } catch (const json::exception& e) {
    bad(std::string("cannot encode the manifest: ") + e.what());  // a path not in UTF-8
  }
  if (text.size() > kBackupManifestMaxBytes)
    throw Error(Code::kTooLarge, "the manifest would be over the format's bound of " +
                                     std::to_string(kBackupManifestMaxBytes) + " bytes");
  return text;
}

BackupManifest parse_backup_manifest(std::string_view text) {
  if (text.size() > kBackupManifestMaxBytes)
    bad("the manifest is larger than " + std::to_string(kBackupManifestMaxBytes) + " bytes");
  json j;
  try {
    j = json::parse(text.begin(), text.end(), nullptr, true, false);
  } catch (const json::exception& e) {
    bad(std::string("the manifest is not valid JSON (truncated or corrupted?): ") + e.what());
  }
  if (!j.is_object()) bad("the manifest is not a JSON object");
  BackupManifest m;
  try {
    auto format = field(j, "format", json::value_t::string).get<std::string>();
    if (format != "guts-backup") bad("field \"format\" is not \"guts-backup\"");
    auto version = unsigned_field(j, "version");
    if (version != static_cast<uint64_t>(kBackupFormatVersion))
      bad("backup format version " + std::to_string(version) +
          " is not supported (this node reads " + std::to_string(kBackupFormatVersion) + ")");
    m.version = kBackupFormatVersion;
    m.chain_id = text_field(j, "chain_id", 256);
    m.genesis_id = hex_field(j, "genesis_id");
    m.height = unsigned_field(j, "height");
    m.head_id = hex_field(j, "head_id");
    m.state_root = hex_field(j, "state_root");
    m.created_unix_ms = field(j, "created_unix_ms", json::value_t::number_integer).get<int64_t>();
    m.node = text_field(j, "node", 256);
    m.includes_keys = field(j, "includes_keys", json::value_t::boolean).get<bool>();
    const auto& files = field(j, "files", json::value_t::array);
    if (files.size() > kBackupMaxFiles) bad("the manifest lists too many files");
    m.files.reserve(files.size());
    bool has_key = false;
    for (const auto& f : files) {
      if (!f.is_object()) bad("an entry of \"files\" is not an object");
      BackupFile bf;
      bf.path = field(f, "path", json::value_t::string).get<std::string>();
      if (!is_valid_backup_path(bf.path))
        bad("file path '" + bf.path.substr(0, 200) + "' is not valid in a backup");
      if (!m.files.empty() && !(m.files.back().path < bf.path))
        bad("file path '" + bf.path + "' is out of order or listed twice");
      bf.size = unsigned_field(f, "size");
      bf.sha256 = field(f, "sha256", json::value_t::string).get<std::string>();
      if (!is_hex64(bf.sha256)) bad("the checksum of '" + bf.path + "' is not a SHA-256");
      has_key = has_key || bf.path == "node.key";
      m.files.push_back(std::move(bf));
    }
    if (has_key != m.includes_keys)
      bad(m.includes_keys ? "\"includes_keys\" is true but node.key is not listed"
                          : "node.key is listed but \"includes_keys\" is false");
    for (const char* needed : {"genesis.json", "db/CURRENT"}) {
      bool found = std::any_of(m.files.begin(), m.files.end(),
                               [&](const BackupFile& f) { return f.path == needed; });
      if (!found) bad(std::string("the manifest does not list ") + needed);
    }
  } catch (const json::exception& e) {
    bad(std::string("the manifest is malformed: ") + e.what());
  }
  return m;
}

}  // namespace guts::node
