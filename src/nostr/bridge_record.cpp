#include "nostr/bridge_record.h"

#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "core/status.h"

namespace guts::nostr {

namespace {
constexpr size_t kMaxRecordBytes = 256 << 20;
}

BridgeRecord load_record(const std::filesystem::path& path) {
  BridgeRecord r;
  if (!std::filesystem::exists(path)) return r;
  Bytes data = read_file(path, kMaxRecordBytes);
  try {
    auto j = nlohmann::json::parse(data.begin(), data.end());
    for (const auto& [d, repo] : j.at("repos").items()) {
      RepoRecord rr;
      rr.announcement = repo.at("announcement").get<std::string>();
      rr.state = repo.at("state").get<std::string>();
      for (const auto& [key, item] : repo.at("items").items())
        rr.items[key] = PublishedItem{
            item.at("root").get<std::string>(), item.at("root_author").get<std::string>(),
            item.at("head").get<std::string>(), item.at("status").get<std::string>()};
      r.repos[d] = std::move(rr);
    }
    r.pending = j.at("pending").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(Code::kMalformed, "malformed bridge record " + path.string() + ": " + e.what());
  }
  return r;
}

void save_record(const std::filesystem::path& path, const BridgeRecord& record) {
  nlohmann::json repos = nlohmann::json::object();
  for (const auto& [d, rr] : record.repos) {
    nlohmann::json items = nlohmann::json::object();
    for (const auto& [key, item] : rr.items)
      items[key] = {{"root", item.root},
                    {"root_author", item.root_author},
                    {"head", item.head},
                    {"status", item.status}};
    repos[d] = {{"announcement", rr.announcement}, {"state", rr.state}, {"items", items}};
  }
  nlohmann::json j{{"version", 1}, {"repos", repos}, {"pending", record.pending}};
  atomic_write_file(path, as_bytes(j.dump(1)), 0600);
}

}  // namespace guts::nostr
