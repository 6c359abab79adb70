#include "tests/support/git_user.h"

#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace guts::testing {

using namespace std::chrono_literals;

GitUser::GitUser(const fs::path& root, std::string name)
    : home_(root / name), name_(std::move(name)) {
  fs::create_directories(home_);
  auto r = guts("", {"identity", "new"});
  if (!r.ok()) throw std::runtime_error("guts identity new: " + r.both());
  for (const auto& kv : std::vector<std::pair<std::string, std::string>>{
           {"credential.helper", "!'" + (bin_dir() / "guts").string() + "' credential"},
           {"init.defaultBranch", "main"},
           {"advice.detachedHead", "false"},
           {"gc.auto", "0"}}) {
    r = git({"config", "--global", kv.first, kv.second});
    if (!r.ok()) throw std::runtime_error("git config: " + r.both());
  }
}

Env GitUser::env() const {
  return {{"HOME", home_.string()},
          {"XDG_CONFIG_HOME", (home_ / ".config").string()},
          {"GUTS_HOME", (home_ / "guts").string()},
          {"GIT_CONFIG_NOSYSTEM", "1"},
          {"GIT_TERMINAL_PROMPT", "0"},
          {"GIT_ASKPASS", ""},
          {"SSH_ASKPASS", ""},
          {"GIT_AUTHOR_NAME", name_},
          {"GIT_AUTHOR_EMAIL", name_ + "@example.com"},
          {"GIT_COMMITTER_NAME", name_},
          {"GIT_COMMITTER_EMAIL", name_ + "@example.com"},
          {"GIT_PROTOCOL", ""},
          {"LC_ALL", "C"}};
}

CmdResult GitUser::git(const std::vector<std::string>& args, const fs::path& cwd,
                       std::chrono::seconds timeout, const std::string& input) const {
  std::vector<std::string> argv{"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env(), cwd, input, timeout);
}

CmdResult GitUser::guts(const std::string& node_url, const std::vector<std::string>& args) const {
  std::vector<std::string> argv{(bin_dir() / "guts").string()};
  if (!node_url.empty()) argv.insert(argv.end(), {"--node", node_url});
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env(), {}, "", 120s);
}

void GitUser::login(const std::string& node_url) const {
  auto r = guts(node_url, {"auth", "login", "--username", name_});
  if (!r.ok()) throw std::runtime_error("guts auth login on " + node_url + ": " + r.both());
}

uint64_t GitUser::create_repo(const std::string& node_url, const std::string& repo) const {
  auto r = guts(node_url, {"repo", "create", repo, "--json"});
  if (!r.ok()) throw std::runtime_error("guts repo create " + repo + ": " + r.both());
  return nlohmann::json::parse(r.out)["id"].get<uint64_t>();
}

std::string GitUser::remote(const std::string& node_url, const std::string& repo) const {
  return node_url + "/" + name_ + "/" + repo + ".git";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string must(const CmdResult& r, const std::string& what) {
  if (!r.ok())
    throw std::runtime_error(what + " failed (" + std::to_string(r.code) + "): " + r.both());
  return trim(r.out);
}

std::optional<Refs> ls_remote(const GitUser& u, const std::string& url, std::string* error) {
  auto r = u.git({"ls-remote", url}, {}, 30s);
  if (!r.ok()) {
    if (error) *error = r.both();
    return std::nullopt;
  }
  Refs refs;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    auto name = line.substr(tab + 1);
    if (name.rfind("refs/", 0) != 0 || name.find("^{}") != std::string::npos) continue;
    refs[name] = line.substr(0, tab);
  }
  return refs;
}

}  // namespace guts::testing
