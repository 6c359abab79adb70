#include "git/repo_store.h"

#include <unistd.h>

#include <algorithm>
#include <random>

#include "core/fs.h"
#include "core/status.h"
#include "git/process.h"

namespace guts::git {
namespace fs = std::filesystem;

namespace {

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string s;
  uint64_t v = rng();
  for (int i = 0; i < 12; ++i, v >>= 4) s.push_back(kHex[v & 0xf]);
  return s;
}

void check(const GitResult& r, std::string_view what) {
  if (!r.ok()) throw Error(Code::kInternal, std::string(what) + ": " + r.err);
}

// Repository configuration; see docs/git.md for the reasons.
const std::vector<std::pair<std::string, std::string>> kConfig = {
    {"core.logAllRefUpdates", "always"},
    {"core.fsync", "objects,derived-metadata,reference"},
    {"core.fsyncMethod", "fsync"},
    {"core.bigFileThreshold", "32m"},
    {"uploadpack.allowFilter", "true"},
    {"uploadpack.allowAnySHA1InWant", "false"},
    {"uploadpack.allowReachableSHA1InWant", "true"},
    {"repack.writeBitmaps", "true"},
    {"pack.writeBitmapHashCache", "true"},
    {"receive.fsckObjects", "true"},
    {"transfer.fsckObjects", "true"},
    {"gc.auto", "0"},
    {"http.receivepack", "false"},
};

// kConfig as git config text: one section per key ("[core]\n\tlogAllRefUpdates = always\n").
// Keys are "section.name" without subsections and values need no quoting (checked in tests).
std::string config_text() {
  std::string text;
  for (const auto& [key, value] : kConfig) {
    auto dot = key.find('.');
    text += "[" + key.substr(0, dot) + "]\n\t" + key.substr(dot + 1) + " = " + value + "\n";
  }
  return text;
}

}  // namespace

// Absolute paths: git runs with its working directory inside a repository, where a relative
// GIT_DIR (e.g. from `--data-dir ./data`) would point nowhere.
RepoStore::RepoStore(fs::path data_dir, std::chrono::seconds trash_grace)
    : repos_(fs::absolute(data_dir) / "repos"),
      trash_(fs::absolute(data_dir) / "repos-trash"),
      grace_(trash_grace) {
  fs::create_directories(repos_);
  fs::create_directories(trash_);
}

bool RepoStore::is_valid_key(std::string_view key) {
  if (key.empty() || key.size() > 128) return false;
  if (key.front() == '.' || key.front() == '-') return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  return true;
}

fs::path RepoStore::path_for(std::string_view key) const {
  if (!is_valid_key(key))
    throw Error(Code::kInvalidArgument, "invalid repository key '" + std::string(key) + "'");
  return repos_ / (std::string(key) + ".git");
}

bool RepoStore::exists(std::string_view key) const {
  std::error_code ec;
  return fs::is_directory(path_for(key) / "objects", ec);
}

bool RepoStore::create(std::string_view key, std::string_view default_branch) {
  fs::path dest = path_for(key);
  if (exists(key)) return false;
  if (!is_valid_ref_name("refs/heads/" + std::string(default_branch)))
    throw Error(Code::kInvalidArgument, "invalid default branch");
  fs::path tmp = repos_ / (".tmp-" + std::string(key) + "-" + random_suffix());
  try {
    check(run_git({"init", "--bare", "--quiet", "--initial-branch=" + std::string(default_branch),
                   tmp.string()}),
          "git init");
    // Our settings appended to what `git init` wrote, in one write (one `git config` process
    // per key made creating a repository cost ~15 processes). A later section of the same name
    // adds to the earlier one, as git reads config.
    Bytes config = read_file(tmp / "config");
    std::string text = config_text();
    config.insert(config.end(), text.begin(), text.end());
    atomic_write_file(tmp / "config", config);
    // Hooks and the sample description are noise for a server-managed repository.
    std::error_code ec;
    fs::remove_all(tmp / "hooks", ec);
    fs::create_directory(tmp / "hooks", ec);
    fs::rename(tmp, dest);
    fsync_dir(repos_);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    if (exists(key)) return false;  // lost a race with a concurrent create
    throw;
  }
  return true;
}

bool RepoStore::remove(std::string_view key, std::chrono::system_clock::time_point now) {
  fs::path src = path_for(key);
  if (!exists(key)) return false;
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  // "<unix seconds>-<random>-<key>.git": the timestamp drives collection.
  fs::path dest =
      trash_ / (std::to_string(secs) + "-" + random_suffix() + "-" + std::string(key) + ".git");
  fs::rename(src, dest);
  fsync_dir(repos_);
  fsync_dir(trash_);
  return true;
}

size_t RepoStore::collect_garbage(std::chrono::system_clock::time_point now) {
  auto now_secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(trash_, ec)) {
    std::string name = entry.path().filename().string();
    auto dash = name.find('-');
    if (dash == std::string::npos || dash == 0) continue;
    int64_t ts = 0;
    try {
      ts = std::stoll(name.substr(0, dash));
    } catch (...) {
      continue;
    }
    if (now_secs - ts < grace_.count()) continue;
    std::error_code rm;
    fs::remove_all(entry.path(), rm);
    if (!rm) ++removed;
  }
  // Also clean up temp dirs of creates interrupted by a crash (older than an hour).
  for (const auto& entry : fs::directory_iterator(repos_, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(".tmp-", 0) != 0) continue;
    std::error_code e2;
    auto mtime = fs::last_write_time(entry.path(), e2);
    if (e2) continue;
    auto age = fs::file_time_type::clock::now() - mtime;
    if (age > std::chrono::hours(1)) fs::remove_all(entry.path(), e2);
  }
  return removed;
}

std::vector<std::string> RepoStore::list() const {
  std::vector<std::string> keys;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(repos_, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() > 4 && name.substr(name.size() - 4) == ".git" && name[0] != '.')
      keys.push_back(name.substr(0, name.size() - 4));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<Ref> RepoStore::list_refs(std::string_view key) const {
  if (!exists(key)) throw Error(Code::kNotFound, "repository not found");
  return git::list_refs(path_for(key));
}

std::optional<std::string> RepoStore::resolve(std::string_view key, std::string_view ref) const {
  if (!exists(key)) throw Error(Code::kNotFound, "repository not found");
  return resolve_ref(path_for(key), ref);
}

void RepoStore::set_default_branch(std::string_view key, std::string_view branch) {
  std::string ref = "refs/heads/" + std::string(branch);
  if (!is_valid_ref_name(ref)) throw Error(Code::kInvalidArgument, "invalid branch name");
  GitOptions o;
  o.cwd = path_for(key);
  check(run_git({"symbolic-ref", "HEAD", ref}, o), "git symbolic-ref");
}

void RepoStore::repack(std::string_view key) {
  auto lock = try_lock_maintenance(key);
  if (!lock) throw Error(Code::kUnavailable, "maintenance is running on this repository");
  GitOptions o;
  o.cwd = path_for(key);
  o.timeout = std::chrono::hours(2);
  check(run_git({"repack", "-A", "-d", "-b", "-q", "--write-midx"}, o), "git repack");
  check(run_git({"prune", "--expire=2.weeks.ago"}, o), "git prune");
  check(run_git({"pack-refs", "--all"}, o), "git pack-refs");
}

RepoStore::MaintenanceLock::~MaintenanceLock() {
  if (!store_) return;
  MutexLock l(store_->mu_);
  store_->maintaining_.erase(key_);
}

std::optional<RepoStore::MaintenanceLock> RepoStore::try_lock_maintenance(std::string_view key) {
  MutexLock l(mu_);
  if (!maintaining_.insert(std::string(key)).second) return std::nullopt;
  return MaintenanceLock(this, std::string(key));
}

void RepoStore::set_change_listener(std::function<void(std::string_view key)> listener) {
  MutexLock l(mu_);
  change_listener_ = std::move(listener);
}

void RepoStore::notify_changed(std::string_view key) {
  // Called under the lock: once set_change_listener({}) returned, the old listener never runs
  // again (its owner may go). Listeners are cheap and never call back into the store.
  MutexLock l(mu_);
  if (change_listener_) change_listener_(key);
}

}  // namespace guts::git
