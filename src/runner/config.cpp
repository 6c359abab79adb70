#include "runner/config.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/status.h"

namespace guts::runner {

std::filesystem::path key_path(const std::filesystem::path& dir) {
  return dir / "identity.key";
}
std::filesystem::path work_dir(const std::filesystem::path& dir) {
  return dir / "work";
}

RunnerConfig load_config(const std::filesystem::path& dir) {
  std::ifstream in(dir / "runner.json");
  if (!in)
    throw Error(Code::kNotFound, "no runner in " + dir.string() + ": run guts-runner register");
  nlohmann::json j;
  try {
    in >> j;
    RunnerConfig c;
    c.node = j.at("node").get<std::string>();
    c.repo = j.at("repo").get<std::string>();
    c.repo_id = j.at("repo_id").get<uint64_t>();
    c.name = j.at("name").get<std::string>();
    c.labels = j.at("labels").get<std::vector<std::string>>();
    c.did = j.at("did").get<std::string>();
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw Error(Code::kInvalidArgument, (dir / "runner.json").string() + ": " + e.what());
  }
}

void save_config(const std::filesystem::path& dir, const RunnerConfig& c) {
  nlohmann::json j{{"node", c.node}, {"repo", c.repo},     {"repo_id", c.repo_id},
                   {"name", c.name}, {"labels", c.labels}, {"did", c.did}};
  auto tmp = dir / "runner.json.tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(2) << "\n";
    if (!out) throw Error(Code::kInternal, "cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, dir / "runner.json");
}

std::vector<std::string> split_labels(std::string_view list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    auto item = list.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

}  // namespace guts::runner
