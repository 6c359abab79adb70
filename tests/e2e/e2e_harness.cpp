#include "tests/e2e/e2e_harness.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "cli/http_client.h"

namespace guts::e2e {

// ---- User ----

User::User(const fs::path& root, std::string name, const Node& node)
    : home_(root / name), name_(std::move(name)), node_url_(node.url()) {
  fs::create_directories(home_);
}

void User::set_node(const Node& node) {
  node_url_ = node.url();
}

Env User::env() const {
  return {{"HOME", home_.string()},
          {"XDG_CONFIG_HOME", (home_ / ".config").string()},
          {"GUTS_HOME", (home_ / "guts").string()},
          {"GUTS_NODE", node_url_},
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

Cmd User::guts(const std::vector<std::string>& args, const std::string& input) const {
  std::vector<std::string> argv{(bin_dir() / "guts").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env(), {}, input, std::chrono::seconds(120));
}

Cmd User::git(const std::vector<std::string>& args, const fs::path& cwd, const Env& extra,
              std::chrono::seconds timeout) const {
  std::vector<std::string> argv{"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  Env e = env();
  e.insert(e.end(), extra.begin(), extra.end());
  return run(argv, e, cwd, "", timeout);
}

void User::sign_up() {
  auto r = guts({"identity", "new"});
  if (!r.ok()) throw std::runtime_error("guts identity new: " + r.both());
  r = guts({"auth", "login", "--username", name_});
  if (!r.ok()) throw std::runtime_error("guts auth login: " + r.both());
  // A fixed git identity, and no pager, for every repository of this user.
  git({"config", "--global", "init.defaultBranch", "main"});
  git({"config", "--global", "advice.detachedHead", "false"});
  token();  // cached now: after a restart the node has another URL
}

std::string User::token() const {
  if (!token_.empty()) return token_;
  std::ifstream in(home_ / "guts" / "config.json");
  auto j = nlohmann::json::parse(in);
  token_ = j["logins"][node_url_]["token"].get<std::string>();
  return token_;
}

std::string User::remote(const std::string& owner, const std::string& repo, bool with_token) const {
  std::string host = node_url_.substr(std::string("http://").size());
  if (!with_token) return "http://" + host + "/" + owner + "/" + repo + ".git";
  return "http://" + name_ + ":" + token() + "@" + host + "/" + owner + "/" + repo + ".git";
}

std::string User::anonymous_remote(const std::string& owner, const std::string& repo) const {
  return remote(owner, repo, false);
}

int User::api(const std::string& method, const std::string& path, const std::string& body,
              std::string* response) const {
  cli::HttpClient c(node_url_);
  c.set_token(token());
  auto r = c.request(method, path, body);
  if (response) *response = r.body;
  return r.status;
}

// ---- helpers ----

void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << content;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string commit_file(const User& u, const fs::path& repo, const std::string& file,
                        const std::string& content, const std::string& message) {
  write_file(repo / file, content);
  auto r = u.git({"add", file}, repo);
  if (!r.ok()) throw std::runtime_error("git add: " + r.both());
  r = u.git({"commit", "-q", "-m", message}, repo);
  if (!r.ok()) throw std::runtime_error("git commit: " + r.both());
  return rev_parse(u, repo, "HEAD");
}

std::string rev_parse(const User& u, const fs::path& repo, const std::string& rev) {
  auto r = u.git({"rev-parse", "--verify", "-q", rev}, repo);
  return r.ok() ? trim(r.out) : "";
}

std::vector<std::pair<std::string, std::string>> ls_remote(const User& u, const std::string& url) {
  auto r = u.git({"ls-remote", url});
  if (!r.ok()) throw std::runtime_error("git ls-remote: " + r.both());
  return parse_ls_remote(r.out);
}

std::vector<std::pair<std::string, std::string>> parse_ls_remote(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    out.emplace_back(line.substr(tab + 1), line.substr(0, tab));
  }
  return out;
}

std::string bare_ref(const fs::path& bare, const std::string& ref) {
  auto r = run({"git", "--git-dir", bare.string(), "rev-parse", "--verify", "-q", ref},
               {{"GIT_CONFIG_NOSYSTEM", "1"}});
  return r.ok() ? trim(r.out) : "";
}

fs::path bare_repo_dir(const Node& node, uint64_t repo_id) {
  return node.data_dir() / "repos" / (std::to_string(repo_id) + ".git");
}

}  // namespace guts::e2e
