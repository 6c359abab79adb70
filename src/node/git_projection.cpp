#include "node/git_projection.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "git/process.h"
#include "git/receive.h"
#include "git/refs.h"

namespace guts::node {

namespace fs = std::filesystem;

namespace {

// Objects among `oids` that the object directory `objects` (no alternates) lacks.
std::set<std::string> missing_objects(const fs::path& repo_dir, const fs::path& objects,
                                      const std::set<std::string>& oids) {
  if (oids.empty()) return {};
  std::string input;
  for (const auto& o : oids) input += o + "\n";
  git::GitOptions o;
  o.cwd = repo_dir;
  o.env = {{"GIT_DIR", repo_dir.string()},
           {"GIT_OBJECT_DIRECTORY", objects.string()},
           {"GIT_ALTERNATE_OBJECT_DIRECTORIES", ""}};
  auto r = git::run_git({"cat-file", "--batch-check"}, o, input);
  if (!r.ok()) throw Error(Code::kInternal, "git cat-file: " + r.err);
  std::set<std::string> missing;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.find(' ');
    if (sp != std::string::npos && line.compare(sp + 1, std::string::npos, "missing") == 0)
      missing.insert(line.substr(0, sp));
  }
  return missing;
}

// Removes the .keep files our receive path writes ("guts receive <pid>"); packs become normal
// packs once refs point at their objects.
void drop_receive_keeps(const fs::path& repo_dir) {
  std::error_code ec;
  for (fs::directory_iterator it(repo_dir / "objects" / "pack", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() != ".keep") continue;
    std::ifstream f(it->path());
    std::string first;
    std::getline(f, first);
    if (first.rfind("guts receive", 0) == 0) fs::remove(it->path(), ec);
  }
}

// Moves the refs of `repo_dir` to exactly `want` (name -> hex oid) in one update-ref transaction
// with old values checked. Throws guts::Error with git's message on failure.
// `known`: the refs as last set by us (saves listing them); the old values are verified by
// update-ref anyway, and a mismatch retries with the listed refs.
void set_refs(const fs::path& repo_dir, const std::map<std::string, std::string>& want,
              const std::string& reason,
              const std::map<std::string, std::string>* known = nullptr) {
  std::map<std::string, std::string> have;
  if (known) {
    have = *known;
  } else {
    for (auto& r : git::list_refs(repo_dir)) have[r.name] = r.oid;
  }
  std::string script = "start\n";
  size_t n = 0;
  for (const auto& [name, oid] : want) {
    auto it = have.find(name);
    if (it != have.end() && it->second == oid) continue;
    script += "update " + name + " " + oid + " " +
              (it == have.end() ? std::string(git::kZeroOid) : it->second) + "\n";
    ++n;
  }
  for (const auto& [name, oid] : have) {
    if (want.count(name)) continue;
    script += "delete " + name + " " + oid + "\n";
    ++n;
  }
  if (n == 0) return;
  script += "prepare\ncommit\n";
  git::GitOptions o;
  o.cwd = repo_dir;
  o.env = {{"GIT_DIR", repo_dir.string()}};
  auto r = git::run_git({"update-ref", "-m", reason, "--stdin"}, o, script);
  if (!r.ok() && known) return set_refs(repo_dir, want, reason, nullptr);
  if (!r.ok()) throw Error(Code::kInternal, "git update-ref: " + r.err);
}

// A fork starts with its parent's objects: hard links (as `git clone --local` makes; objects
// are immutable), copies across file systems. Quarantines and .keep files are not objects.
void seed_objects(const fs::path& from_repo, const fs::path& to_repo) {
  fs::path from = from_repo / "objects", to = to_repo / "objects";
  std::error_code ec;
  for (fs::recursive_directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
    auto rel = fs::relative(it->path(), from);
    auto first = rel.begin()->string();
    if (first.rfind("incoming-", 0) == 0 || first == "info") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory()) {
      fs::create_directories(to / rel);
      continue;
    }
    if (it->path().extension() == ".keep") continue;
    std::error_code lec;
    fs::create_hard_link(it->path(), to / rel, lec);
    if (lec) fs::copy_file(it->path(), to / rel, fs::copy_options::skip_existing, lec);
  }
}

}  // namespace

GitProjection::GitProjection(state::Chain& chain, git::RepoStore& store,
                             api::PendingPushes& pending)
    : chain_(chain), store_(store), pending_(pending) {}

void GitProjection::attach() {
  chain_.add_commit_listener([this](const state::Block& b) { on_block(b); });
}

void GitProjection::on_block(const state::Block& block) {
  std::lock_guard lock(mu_);
  std::set<uint64_t> touched;
  std::vector<std::shared_ptr<git::IncomingPush>> pushes;  // kept until refs moved
  try {
    auto view = chain_.view();
    for (const auto& tx : block.txs) {
      std::visit(
          [&](const auto& b) {
            // Generic over transaction kinds: anything naming a repository touches it (ref
            // moves of merges, settings, deletion); anything creating one by name (create,
            // fork) touches the new repository; a fork is seeded from its parent's objects.
            if constexpr (requires { b.repo_id; }) {
              touched.insert(b.repo_id);
            } else if constexpr (requires { std::string_view(b.name); }) {
              if (auto r = view.repo_by_name(tx.author, b.name)) {
                touched.insert(r->id);
                if constexpr (requires { b.parent_id; }) seed_from_[r->id] = b.parent_id;
              }
            }
            if constexpr (std::is_same_v<std::decay_t<decltype(b)>, state::UpdateRefs>) {
              if (auto p = pending_.take(b.repo_id, b.changes)) {
                // Objects first: the refs below may point at them.
                if (p->quarantine().active()) p->quarantine().migrate();
                pushes.push_back(std::move(p));
              }
            }
          },
          tx.body);
    }
  } catch (const std::exception& e) {
    spdlog::error("git projection, block {}: {}", block.header.height, e.what());
  }
  for (uint64_t id : touched) sync_repo(id, block.header.height, false);
  maybe_collect_garbage();
}

void GitProjection::sync_repo(uint64_t repo_id, uint64_t height, bool recover) {
  auto key = api::git_repo_key(repo_id);
  try {
    auto view = chain_.view();
    auto repo = view.repo(repo_id);
    if (!repo) {
      synced_.erase(repo_id);
      if (store_.exists(key)) {
        store_.remove(key, std::chrono::system_clock::now());
        spdlog::info("repository {} deleted: bare repository moved to the trash", repo_id);
      }
      return;
    }
    std::map<std::string, std::string> want;
    for (const auto& [name, oid] : view.refs(repo_id)) want[name] = hex_encode(oid);
    // Most transactions naming a repository change neither refs nor HEAD: no git at all then.
    std::optional<Synced> last;
    if (auto it = synced_.find(repo_id); it != synced_.end() && !recover && store_.exists(key)) {
      if (it->second.refs == want && it->second.default_branch == repo->default_branch) return;
      last = std::move(it->second);
    }
    synced_.erase(repo_id);

    auto dir = store_.path_for(key);
    if (store_.create(key, repo->default_branch)) {
      spdlog::info("repository {} ({}): bare repository created", repo_id, repo->name);
      auto seed = seed_from_.find(repo_id);
      if (seed != seed_from_.end()) {
        auto parent = store_.path_for(api::git_repo_key(seed->second));
        if (store_.exists(api::git_repo_key(seed->second))) seed_objects(parent, dir);
      }
    }
    seed_from_.erase(repo_id);
    if ((!last || last->default_branch != repo->default_branch) &&
        git::head_target(dir) != "refs/heads/" + repo->default_branch)
      store_.set_default_branch(key, repo->default_branch);

    if (recover) {
      // Objects the state's refs need that the repository lacks: a push committed right before
      // a crash. Its quarantine is still on disk.
      std::set<std::string> tips;
      for (const auto& [name, oid] : want) tips.insert(oid);
      auto missing = missing_objects(dir, dir / "objects", tips);
      for (const auto& qdir : git::Quarantine::list(dir)) {
        auto q = git::Quarantine::adopt(dir, qdir);
        bool needed = false;
        if (!missing.empty()) {
          auto still = missing_objects(dir, qdir, missing);
          needed = still.size() < missing.size();
          if (needed) missing = std::move(still);
        }
        if (needed) {
          q.migrate();
          spdlog::info("repository {}: migrated quarantine {} left by a crash", repo_id,
                       qdir.filename().string());
        }  // else discarded: a push that never committed
      }
      if (!missing.empty())
        spdlog::error("repository {}: {} object(s) the state's refs need are missing", repo_id,
                      missing.size());
    }
    set_refs(dir, want, "guts: block " + std::to_string(height), last ? &last->refs : nullptr);
    drop_receive_keeps(dir);
    synced_[repo_id] = Synced{std::move(want), repo->default_branch};
  } catch (const std::exception& e) {
    spdlog::error("git projection of repository {}: {}", repo_id, e.what());
  }
}

void GitProjection::reconcile_all() {
  std::lock_guard lock(mu_);
  auto view = chain_.view();
  auto height = chain_.head().height;
  std::set<std::string> live;
  uint64_t next = view.next_repo_id();
  for (uint64_t id = 1; id < next; ++id)
    if (view.repo(id)) live.insert(api::git_repo_key(id));
  for (const auto& key : store_.list()) {
    if (live.count(key)) continue;
    try {
      store_.remove(key, std::chrono::system_clock::now());
      spdlog::info("bare repository {} has no repository in state: moved to the trash", key);
    } catch (const std::exception& e) {
      spdlog::error("git projection: removing {}: {}", key, e.what());
    }
  }
  for (uint64_t id = 1; id < next; ++id)
    if (view.repo(id)) sync_repo(id, height, true);
  last_gc_ = {};
  maybe_collect_garbage();
}

void GitProjection::maybe_collect_garbage() {
  auto now = std::chrono::steady_clock::now();
  if (last_gc_ != std::chrono::steady_clock::time_point{} && now - last_gc_ < std::chrono::hours(1))
    return;
  last_gc_ = now;
  try {
    if (size_t n = store_.collect_garbage(std::chrono::system_clock::now()))
      spdlog::info("removed {} deleted repositories after their grace period", n);
  } catch (const std::exception& e) {
    spdlog::error("git projection: collecting garbage: {}", e.what());
  }
}

}  // namespace guts::node
