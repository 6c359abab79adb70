// guts-runner's directory (docs/ci.md "Runners"):
//   <dir>/identity.key   the runner's Ed25519 seed (crypto/keyfile.h: mode 0600, CSPRNG)
//   <dir>/runner.json    {node, repo, repo_id, name, labels, did}
//   <dir>/work/<job>     a job's workspace (removed when the job ends)
// The whole directory is hidden from the sandbox (an empty tmpfs over it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace guts::runner {

struct RunnerConfig {
  std::string node;  // http://host:port
  std::string repo;  // owner/name
  uint64_t repo_id = 0;
  std::string name;
  std::vector<std::string> labels;
  std::string did;
};

std::filesystem::path key_path(const std::filesystem::path& dir);
std::filesystem::path work_dir(const std::filesystem::path& dir);
// Throws guts::Error(kNotFound / kInvalidArgument) with a clear message.
RunnerConfig load_config(const std::filesystem::path& dir);
void save_config(const std::filesystem::path& dir, const RunnerConfig& c);
// "a,b, c" -> {"a","b","c"} (empty items dropped).
std::vector<std::string> split_labels(std::string_view list);

}  // namespace guts::runner
