#include "api/ci_trigger.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "api/services.h"
#include "ci/workflow.h"
#include "core/bytes.h"
#include "core/time.h"
#include "crypto/did.h"
#include "git/browse.h"
#include "state/ci.h"
#include "state/proposal.h"
#include "state/view.h"

namespace guts::api {

namespace {

constexpr std::string_view kWorkflowDir = ".guts/workflows";
constexpr auto kSchedulerPeriod = std::chrono::seconds(5);
constexpr uint64_t kRetryMs = 60'000;  // a refused schedule trigger is tried again after this

struct WorkflowFile {
  std::string path;
  std::string content;
};

bool is_workflow_file(const std::string& name) {
  auto ends = [&](std::string_view s) {
    return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".yml") || ends(".yaml");
}

// The workflow files at `sha` (none when there is no .guts/workflows directory), sorted by path.
std::vector<WorkflowFile> workflow_files(const std::filesystem::path& repo_dir, const Bytes& sha) {
  std::vector<WorkflowFile> out;
  git::Browser b(repo_dir);
  const std::string hex = hex_encode(sha);
  std::vector<git::TreeEntry> entries;
  try {
    if (!b.entry(hex, kWorkflowDir)) return out;
    entries = b.tree(hex, kWorkflowDir);
  } catch (const std::exception&) {
    return out;  // no .guts/workflows directory (or not a directory)
  }
  for (const auto& e : entries) {
    if (e.type != "blob" || !is_workflow_file(e.name)) continue;
    if (!ci::workflow_path_error(e.path).empty()) continue;
    if (e.size > ci::kMaxWorkflowBytes) {
      spdlog::warn("ci: {} at {} is over {} bytes: not run", e.path, hex, ci::kMaxWorkflowBytes);
      continue;
    }
    out.push_back({e.path, b.blob(hex, e.path, ci::kMaxWorkflowBytes).content});
  }
  std::sort(out.begin(), out.end(),
            [](const WorkflowFile& a, const WorkflowFile& b) { return a.path < b.path; });
  return out;
}

// Whether `file` runs on `kind` to `ref`; a file that does not parse does too (its failed run
// shows the error), except for schedules (a schedule needs a workflow that parses).
bool runs_on(const WorkflowFile& file, ci::Event::Kind kind, const std::string& ref) {
  auto parsed = ci::parse_workflow(file.path, file.content);
  const auto* wf = std::get_if<ci::Workflow>(&parsed);
  if (!wf) return kind != ci::Event::kSchedule;
  ci::Event ev;
  ev.kind = kind;
  ev.ref = ref;
  return ci::triggers(*wf, ev);
}

// A key-dependent delay in [0, 20 s) for the minute `slot_ms`: nodes do not all submit the
// same scheduled run at once (the first in a block wins; the others are refused).
uint64_t jitter_ms(const crypto::PublicKey& key, uint64_t slot_ms) {
  uint64_t k = 0;
  for (size_t i = 0; i < 8; ++i) k = (k << 8) | key[i];
  return (k ^ (slot_ms / 60000) * 0x9E3779B97F4A7C15ull) % 20'000;
}

}  // namespace

uint64_t checkout_repo(const state::StateView& view, const state::Run& run) {
  if (run.event != state::kEventPullRequest) return run.repo_id;
  auto x = view.issue(run.repo_id, run.pull_number);
  return x && x->head_repo_id ? x->head_repo_id : run.repo_id;
}

struct CiTrigger::Impl {
  Services& svc;
  RepoDir repo_dir;
  bool scheduler;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<state::Transaction> txs;  // this node's transactions that may trigger; guarded by mu
  bool stop = false;                   // guarded by mu
  // Scheduled minutes submitted (or refused): "repo path slot" -> when to try again. Touched by
  // the worker thread only (schedules()), which submits without holding mu.
  std::map<std::string, uint64_t> tried;
  std::thread thread;

  Impl(Services& s, RepoDir dir, bool sched) : svc(s), repo_dir(std::move(dir)), scheduler(sched) {}

  void submit(const Principal& who, state::TxBody body, std::string what) {
    // The node's own follow-up of a finalized push: not refused by the door's backlog bound.
    svc.submit_as(
        who, std::move(body),
        [what = std::move(what)](const state::TxOutcome& o) {
          if (!o.applied) spdlog::info("ci: {} refused: {}", what, o.status.message());
        },
        state::Mempool::Origin::kNode);
  }

  // Push runs of `ref` at `sha` in repository `repo_id`, then pull_request runs of the open
  // pull requests whose head is that branch, then the schedules of a default branch.
  void ref_moved(const Principal& who, const state::StateView& view, uint64_t repo_id,
                 const std::string& ref, const Bytes& sha) {
    if (sha.empty()) return;  // a deleted ref runs nothing
    const bool branch = ref.rfind("refs/heads/", 0) == 0;
    if (!branch && ref.rfind("refs/tags/", 0) != 0) return;
    auto repo = view.repo(repo_id);
    if (!repo) return;
    auto at = view.ref(repo_id, ref);
    if (!at || *at != sha) return;  // moved again since: that change triggers its own runs
    auto files = workflow_files(repo_dir(repo_id), sha);
    for (const auto& f : files) {
      if (!runs_on(f, ci::Event::kPush, ref)) continue;
      state::RequestRuns r;
      r.repo_id = repo_id;
      r.workflow_path = f.path;
      r.content = f.content;
      r.event = state::kEventPush;
      r.ref = ref;
      r.sha = sha;
      submit(who, std::move(r), "push run of " + f.path + " at " + ref);
    }
    if (!branch) return;
    for (const auto& [base_repo, number] : view.pulls_with_head(repo_id, ref.substr(11))) {
      auto x = view.issue(base_repo, number);
      if (!x || x->state != state::kIssueOpen || x->merged || x->head_sha != sha) continue;
      pull_runs(who, *x, files);
    }
    if (ref == "refs/heads/" + repo->default_branch) {
      state::SetSchedules s;
      s.repo_id = repo_id;
      s.ref = ref;
      s.sha = sha;
      for (const auto& f : files)
        if (runs_on(f, ci::Event::kSchedule, ref) &&
            s.workflows.size() < state::kMaxScheduledWorkflows)
          s.workflows.push_back({f.path, f.content});
      // Registered again at every push that has or had a schedule, so that scheduled runs
      // check out the default branch's tip.
      if (s.workflows.empty() && state::runs::schedules(view.schema(), view.kv(), repo_id).empty())
        return;
      submit(who, std::move(s), "schedules of " + ref);
    }
  }

  void pull_runs(const Principal& who, const state::Issue& x,
                 const std::vector<WorkflowFile>& files) {
    const std::string base = "refs/heads/" + x.base_ref;
    for (const auto& f : files) {
      if (!runs_on(f, ci::Event::kPullRequest, base)) continue;
      state::RequestRuns r;
      r.repo_id = x.repo_id;
      r.workflow_path = f.path;
      r.content = f.content;
      r.event = state::kEventPullRequest;
      r.ref = base;
      r.sha = x.head_sha;
      r.pull_number = x.number;
      submit(who, std::move(r),
             "pull request run of " + f.path + " for #" + std::to_string(x.number));
    }
  }

  void transaction(const state::Transaction& tx) {
    auto view = svc.chain().view();
    {
      Principal who;
      who.authenticated = true;
      who.did = crypto::did_from_key(tx.author);
      try {
        // A vote (or a creation) that ran a quorum's action: the action's runs, requested by the
        // voter (a maintainer whose delegation this node holds).
        state::TxBody body = tx.body;
        std::optional<uint64_t> proposal_id;
        if (const auto* v = std::get_if<state::VoteProposal>(&tx.body))
          proposal_id = v->proposal_id;
        else if (std::holds_alternative<state::CreateProposal>(tx.body))
          proposal_id = view.receipt(tx.id());
        if (proposal_id) {
          auto p = state::proposal(view, *proposal_id);
          if (!p || p->state != state::kProposalExecuted) return;
          body = state::decode_body(static_cast<state::TxKind>(p->action_kind), p->action_body);
        }
        if (const auto* u = std::get_if<state::UpdateRefs>(&body)) {
          for (const auto& c : u->changes) ref_moved(who, view, u->repo_id, c.ref, c.new_oid);
        } else if (const auto* m = std::get_if<state::MergePullRequest>(&body)) {
          auto x = view.issue(m->repo_id, m->number);
          if (x && x->merged && x->merge_sha == m->merge_sha)
            ref_moved(who, view, m->repo_id, "refs/heads/" + x->base_ref, m->merge_sha);
        } else if (std::holds_alternative<state::OpenPullRequest>(tx.body)) {
          auto n = view.receipt(tx.id());
          auto x =
              n ? view.issue(std::get<state::OpenPullRequest>(tx.body).repo_id, *n) : std::nullopt;
          if (x && x->state == state::kIssueOpen)
            pull_runs(who, *x, workflow_files(repo_dir(x->head_repo_id), x->head_sha));
        }
      } catch (const std::exception& e) {
        spdlog::warn("ci: reading the workflows of a {} failed: {}", state::tx_kind_name(tx.kind()),
                     e.what());
      }
    }
  }

  // Submits TriggerSchedule for every scheduled workflow whose minute has come (once per
  // minute and node, again after kRetryMs when refused for another reason than "done").
  void schedules() {
    const auto me = svc.node_key().public_key();
    const uint64_t now = unix_millis();
    auto view = svc.chain().view();
    Principal self;
    self.authenticated = true;
    self.did = crypto::did_from_key(me);
    std::erase_if(tried,
                  [&](const auto& e) { return e.second + 2 * state::kScheduleWindowMs < now; });
    for (const auto& s : state::runs::schedules(view.schema(), view.kv())) {
      auto slot = state::runs::due_slot(s, now);
      if (!slot || now < *slot + jitter_ms(me, *slot)) continue;
      std::string key = std::to_string(s.repo_id) + " " + s.path + " " + std::to_string(*slot);
      if (auto it = tried.find(key); it != tried.end() && it->second > now) continue;
      tried[key] = now + kRetryMs;
      state::TriggerSchedule t{s.repo_id, s.path, *slot};
      svc.submit_as(
          self, t,
          [path = s.path](const state::TxOutcome& o) {
            if (o.applied) return;
            if (o.status.code() == Code::kAlreadyExists) return;  // another node ran it
            spdlog::info("ci: scheduled run of {} refused: {}", path, o.status.message());
          },
          state::Mempool::Origin::kNode);
    }
  }

  void run() {
    std::unique_lock lock(mu);
    auto next_scan = std::chrono::steady_clock::now();
    while (!stop) {
      cv.wait_until(lock, next_scan, [&] { return stop || !txs.empty(); });
      if (stop) break;
      while (!txs.empty()) {
        state::Transaction tx = std::move(txs.front());
        txs.pop_front();
        lock.unlock();
        transaction(tx);
        lock.lock();
      }
      if (scheduler && std::chrono::steady_clock::now() >= next_scan) {
        lock.unlock();
        try {
          schedules();
        } catch (const std::exception& e) {
          spdlog::warn("ci: scheduled runs: {}", e.what());
        }
        lock.lock();
        next_scan = std::chrono::steady_clock::now() + kSchedulerPeriod;
      }
    }
  }
};

CiTrigger::CiTrigger(Services& svc, RepoDir repo_dir, bool scheduler)
    : impl_(std::make_unique<Impl>(svc, std::move(repo_dir), scheduler)) {
  impl_->thread = std::thread([i = impl_.get()] { i->run(); });
}

CiTrigger::~CiTrigger() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

void CiTrigger::on_block(const state::Block& block) {
  const auto& me = impl_->svc.node_key().public_key();
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& tx : block.txs) {
      // Only what this node signed for someone else: the node that accepted a change acts on it.
      if (tx.signer != me || tx.author == me) continue;
      if (std::holds_alternative<state::UpdateRefs>(tx.body) ||
          std::holds_alternative<state::MergePullRequest>(tx.body) ||
          std::holds_alternative<state::OpenPullRequest>(tx.body) ||
          std::holds_alternative<state::VoteProposal>(tx.body) ||
          std::holds_alternative<state::CreateProposal>(tx.body))
        impl_->txs.push_back(tx);
    }
  }
  impl_->cv.notify_all();
}

}  // namespace guts::api
