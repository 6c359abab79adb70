#include "node/git_projection.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <map>
#include <optional>

#include "core/fs.h"
#include "git/object_presence.h"
#include "git/pack_transfer.h"
#include "git/process.h"
#include "git/receive.h"
#include "git/refs.h"
#include "replication/object_sync.h"
#include "state/repo_seeds_state.h"

namespace guts::node {

namespace fs = std::filesystem;

namespace {

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
    // The parent's multi-pack index (and its bitmap) names the parent's packs: the fork's own
    // maintenance writes one for the fork.
    if (first.rfind("incoming-", 0) == 0 || first == "info" ||
        rel.filename().string().rfind("multi-pack-index", 0) == 0) {
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
                             api::PendingPushes& pending, SeedPolicy policy)
    : chain_(chain), store_(store), pending_(pending), policy_(std::move(policy)) {
  resync_thread_ = std::thread([this] { resync_loop(); });
}

GitProjection::~GitProjection() {
  {
    std::lock_guard l(resync_->mu);
    resync_->stop = true;
  }
  resync_->cv.notify_all();
  if (resync_thread_.joinable()) resync_thread_.join();
}

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
            // fork) touches the new repository (a fork finds its objects in its parent).
            if constexpr (requires { b.repo_id; }) {
              touched.insert(b.repo_id);
            } else if constexpr (requires { b.proposal_id; }) {
              // A quorum vote may run a proposal's ref move (state/proposal.h).
              if (auto p = state::proposal(view, b.proposal_id); p && p->scope.repo_id)
                touched.insert(p->scope.repo_id);
            } else if constexpr (requires { b.scope.repo_id; }) {
              if (b.scope.repo_id) touched.insert(b.scope.repo_id);
            } else if constexpr (requires { std::string_view(b.name); }) {
              if (auto r = view.repo_by_name(tx.author, b.name)) touched.insert(r->id);
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
    const bool host = repo && should_host(view, repo_id, *repo);
    if (!policy_.all) {
      std::lock_guard l(flags_mu_);
      bool changed = host ? hosted_.insert(repo_id).second : hosted_.erase(repo_id) > 0;
      if (changed && sync_) {
        std::vector<uint64_t> ids(hosted_.begin(), hosted_.end());
        sync_->set_inventory(false, std::move(ids));
      }
    }
    if (!host) {
      synced_.erase(repo_id);
      set_replicating(repo_id, false);
      if (store_.exists(key)) {
        store_.remove(key, std::chrono::system_clock::now());
        spdlog::info("repository {} {}: bare repository moved to the trash", repo_id,
                     repo ? "is not hosted by this node's seeding policy" : "deleted");
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
    // A repository just created has HEAD on its default branch and no refs: nothing to read.
    static const std::map<std::string, std::string> kNoRefs;
    bool created = store_.create(key, repo->default_branch);
    if (created) {
      spdlog::info("repository {} ({}): bare repository created", repo_id, repo->name);
    } else if ((!last || last->default_branch != repo->default_branch) &&
               git::head_target(dir) != "refs/heads/" + repo->default_branch) {
      store_.set_default_branch(key, repo->default_branch);
    }

    // Objects the new ref values need: only values we did not set before can be missing.
    std::set<std::string> needed;
    for (const auto& [name, oid] : want) {
      if (last) {
        auto it = last->refs.find(name);
        if (it != last->refs.end() && it->second == oid) continue;
      }
      needed.insert(oid);
    }
    auto missing = gather_objects(repo_id, dir, needed, recover);
    if (!missing.empty()) {
      // Never expose a ref whose objects are missing: the refs stay, peers are asked.
      set_replicating(repo_id, true, missing);
      return;
    }
    set_refs(dir, want, "guts: block " + std::to_string(height),
             last ? &last->refs : (created ? &kNoRefs : nullptr));
    drop_receive_keeps(dir);
    store_.notify_changed(key);  // maintenance: new packs may be waiting
    synced_[repo_id] = Synced{std::move(want), repo->default_branch};
    set_replicating(repo_id, false);
  } catch (const std::exception& e) {
    spdlog::error("git projection of repository {}: {} (retrying)", repo_id, e.what());
    // Refs stay where they were (never ahead of their objects); try again shortly rather than
    // wait for the next block touching the repository.
    synced_.erase(repo_id);
    {
      std::lock_guard l(flags_mu_);
      replicating_.insert(repo_id);
    }
    {
      std::lock_guard l(resync_->mu);
      resync_->due[repo_id] = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    resync_->cv.notify_all();
  }
}

std::set<std::string> GitProjection::gather_objects(uint64_t repo_id, const fs::path& dir,
                                                    const std::set<std::string>& needed,
                                                    bool recover) {
  auto missing = git::absent_objects(dir / "objects", needed);
  // Push quarantines. At recovery they are leftovers of a crash: a push committed right before
  // it is migrated, the rest discarded. Otherwise they belong to pushes still in consensus (e.g.
  // the same objects pushed to this node too, or a block applied before its push's own entry
  // was taken): their packs are linked, the quarantine stays with its push.
  for (const auto& qdir : git::Quarantine::list(dir)) {
    if (missing.empty() && !recover) break;
    bool useful = false;
    if (!missing.empty()) {
      std::set<std::string> still;
      try {
        still = git::absent_objects(qdir, missing);
      } catch (const Error&) {
        // Gone meanwhile: a push rejected or applied, a replication fetch migrated or dropped.
        std::error_code ec;
        if (!fs::exists(qdir, ec)) continue;
        throw;
      }
      useful = still.size() < missing.size();
      if (useful) missing = std::move(still);
    }
    if (recover) {
      auto q = git::Quarantine::adopt(dir, qdir);
      if (useful) {
        q.migrate();
        spdlog::info("repository {}: migrated quarantine {} left by a crash", repo_id,
                     qdir.filename().string());
      }  // else discarded with `q`: a push that never committed
    } else if (useful) {
      git::link_quarantine_objects(dir, qdir);
    }
  }
  if (missing.empty()) return missing;
  // A fork starts with its parent's objects (also when a crash came between the fork's commit
  // and its seeding, or the parent gained them later).
  auto view = chain_.view();
  if (auto parent = view.fork_parent(repo_id)) {
    auto pkey = api::git_repo_key(*parent);
    if (store_.exists(pkey)) {
      auto pdir = store_.path_for(pkey);
      if (git::absent_objects(pdir / "objects", missing).size() < missing.size()) {
        seed_objects(pdir, dir);
        missing = git::absent_objects(dir / "objects", missing);
      }
    }
  }
  return missing;
}

void GitProjection::set_replicating(uint64_t repo_id, bool on,
                                    const std::set<std::string>& missing) {
  {
    std::lock_guard l(flags_mu_);
    if (on && replicating_.insert(repo_id).second)
      spdlog::info("repository {}: {} object(s) the state's refs need are missing: replicating",
                   repo_id, missing.size());
    if (!on && replicating_.erase(repo_id))
      spdlog::info("repository {}: objects replicated, refs in place", repo_id);
  }
  if (on) start_fetch(repo_id, std::vector<std::string>(missing.begin(), missing.end()));
}

void GitProjection::start_fetch(uint64_t repo_id, std::vector<std::string> tips) {
  if (!sync_) return;  // set_object_sync() starts it
  {
    std::lock_guard l(resync_->mu);
    if (!resync_->fetching.insert(repo_id).second) return;  // one at a time per repository
  }
  std::weak_ptr<Resync> weak = resync_;
  auto retry = retry_delay;
  auto wanted = tips;
  sync_->ensure(repo_id, std::move(tips), {}, std::chrono::steady_clock::now() + fetch_deadline,
                [weak, repo_id, retry, wanted = std::move(wanted)](bool ok) {
                  auto r = weak.lock();
                  if (!r) return;  // the projection is gone
                  {
                    std::lock_guard l(r->mu);
                    auto now = std::chrono::steady_clock::now();
                    r->fetching.erase(repo_id);
                    // At once when the objects arrived, unless these same tips just arrived and
                    // the sync still found them missing: never spin. (New tips — the next push —
                    // are synced at once however soon they follow.)
                    auto& prev = r->last_ok[repo_id];
                    bool again =
                        ok && prev.second == wanted && now - prev.first < std::chrono::seconds(1);
                    if (ok) prev = {now, wanted};
                    r->due[repo_id] = now + (ok && !again ? std::chrono::milliseconds(0) : retry);
                  }
                  r->cv.notify_all();
                });
}

void GitProjection::resync_loop() {
  std::unique_lock l(resync_->mu);
  while (!resync_->stop) {
    auto now = std::chrono::steady_clock::now();
    std::vector<uint64_t> ready;
    auto next = std::chrono::steady_clock::time_point::max();
    for (auto it = resync_->due.begin(); it != resync_->due.end();) {
      if (it->second <= now) {
        ready.push_back(it->first);
        it = resync_->due.erase(it);
      } else {
        next = std::min(next, it->second);
        ++it;
      }
    }
    if (!ready.empty()) {
      l.unlock();
      {
        std::lock_guard lock(mu_);
        auto height = chain_.head().height;
        for (auto id : ready) {
          {
            std::lock_guard fl(flags_mu_);
            if (!replicating_.count(id)) continue;  // converged meanwhile by a block
          }
          sync_repo(id, height, false);
        }
      }
      l.lock();
      continue;
    }
    if (next == std::chrono::steady_clock::time_point::max())
      resync_->cv.wait(l);
    else
      resync_->cv.wait_until(l, next);
  }
}

void GitProjection::set_object_sync(ObjectSync* sync) {
  std::vector<uint64_t> waiting;
  {
    std::lock_guard lock(mu_);
    sync_ = sync;
    if (!sync_) return;
    publish_inventory();
    std::lock_guard l(flags_mu_);
    waiting.assign(replicating_.begin(), replicating_.end());
  }
  {
    std::lock_guard l(resync_->mu);
    for (auto id : waiting) resync_->due[id] = std::chrono::steady_clock::now();
  }
  resync_->cv.notify_all();
}

void GitProjection::publish_inventory() {
  if (!sync_) return;
  if (policy_.all) return sync_->set_inventory(true, {});
  std::lock_guard l(flags_mu_);
  sync_->set_inventory(false, std::vector<uint64_t>(hosted_.begin(), hosted_.end()));
}

bool GitProjection::replicating(uint64_t repo_id) const {
  std::lock_guard l(flags_mu_);
  return replicating_.count(repo_id) > 0;
}

bool GitProjection::hosts(uint64_t repo_id) const {
  if (policy_.all) return true;
  std::lock_guard l(flags_mu_);
  return hosted_.count(repo_id) > 0;
}

bool GitProjection::should_host(const state::StateView& view, uint64_t repo_id,
                                const state::Repo& repo) const {
  auto owner = view.account(repo.owner);
  bool host = policy_.includes(owner ? owner->username : std::string(), repo.name, repo.owner);
  // Private repositories: only where their seeds policy names this node.
  if (host && repo.is_private && policy_.node)
    host = state::is_repo_seed(view, repo_id, *policy_.node);
  return host;
}

namespace {

std::string clean_stop_record(uint64_t height, const SeedPolicy& policy) {
  return "guts git projection clean stop\nheight " + std::to_string(height) + "\npolicy " +
         policy.describe() + "\n";
}

}  // namespace

bool GitProjection::consume_clean_stop(uint64_t height) {
  if (clean_stop_file_.empty() || !fs::exists(clean_stop_file_)) return false;
  std::string text;
  try {
    auto bytes = read_file(clean_stop_file_, 64 << 10);
    text.assign(bytes.begin(), bytes.end());
  } catch (const std::exception& e) {
    spdlog::warn("git projection: reading {}: {}", clean_stop_file_.string(), e.what());
  }
  // Gone before any block can move a ref: a crash from here on finds no record. (Were the
  // removal lost, the record would name an older height than the blocks applied since.)
  std::error_code ec;
  fs::remove(clean_stop_file_, ec);
  if (ec) {
    spdlog::warn("git projection: removing {}: {}", clean_stop_file_.string(), ec.message());
    return false;
  }
  try {
    fsync_dir(clean_stop_file_.parent_path());
  } catch (const std::exception& e) {
    spdlog::warn("git projection: {}", e.what());
  }
  return text == clean_stop_record(height, policy_);
}

void GitProjection::record_clean_stop() {
  std::lock_guard lock(mu_);
  if (clean_stop_file_.empty() || !reconciled_) return;
  {
    std::lock_guard l(flags_mu_);
    if (!replicating_.empty()) return;
  }
  try {
    auto text = clean_stop_record(chain_.head().height, policy_);
    atomic_write_file(clean_stop_file_, as_bytes(text), 0600);
  } catch (const std::exception& e) {
    spdlog::warn("git projection: recording the clean stop: {}", e.what());
  }
}

void GitProjection::reconcile_all() {
  std::lock_guard lock(mu_);
  auto view = chain_.view();
  auto height = chain_.head().height;
  uint64_t next = view.next_repo_id();
  last_reconcile_full_ = !consume_clean_stop(height);
  if (!last_reconcile_full_) {
    // The repositories are as the clean stop left them, at this height: only what the
    // projection keeps in memory is rebuilt, from state.
    if (!policy_.all) {
      std::lock_guard l(flags_mu_);
      for (uint64_t id = 1; id < next; ++id)
        if (auto repo = view.repo(id); repo && should_host(view, id, *repo)) hosted_.insert(id);
    }
    spdlog::info("git projection: clean stop at height {}: repositories not revisited", height);
  } else {
    reconcile_each(view, height, next);
  }
  reconciled_ = true;
  publish_inventory();
  last_gc_ = {};
  maybe_collect_garbage();
}

void GitProjection::reconcile_each(const state::StateView& view, uint64_t height, uint64_t next) {
  std::set<std::string> live;
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
