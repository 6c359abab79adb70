// Validity and application of the CI/CD transactions (state/ci.h; docs/ci.md "Runs as
// state"). Everything here is a function of (state, transaction, block context): time is the
// block's timestamp, never the wall clock; workflow files are parsed by ci/workflow.h.
#include <algorithm>
#include <cctype>
#include <map>

#include "ci/cron.h"
#include "ci/expressions.h"
#include "ci/workflow.h"
#include "state/ci.h"
#include "state/executor.h"
#include "state/permission.h"
#include "state/protection.h"
#include "state/rejections.h"
#include "state/runner_policy.h"
#include "state/view.h"

namespace guts::state {

namespace runs {

using storage::be64;

std::string run_key(uint64_t id) {
  return "Wr" + be64(id);
}
std::string job_key(uint64_t id) {
  return "Wj" + be64(id);
}
std::string repo_run_key(uint64_t repo_id, uint64_t run_id) {
  return "Wi" + be64(repo_id) + be64(run_id);
}
std::string open_job_key(uint64_t job_id) {
  return "Wq" + be64(job_id);
}
std::string token_key(const crypto::PublicKey& k) {
  return "Wt" + key_of(k);
}
std::string runner_key(uint64_t repo_id, const crypto::PublicKey& k) {
  return "Wu" + be64(repo_id) + key_of(k);
}
std::string schedule_key(uint64_t repo_id, std::string_view path) {
  return "Wc" + be64(repo_id) + std::string(path);
}
namespace {
constexpr std::string_view kNextRun = "Wn";
constexpr std::string_view kNextJob = "Wm";
std::string dedupe_key(uint64_t repo_id, const Bytes& sha, uint8_t event, std::string_view path) {
  return "Wd" + be64(repo_id) + std::string(1, static_cast<char>(sha.size())) + key_of(sha) +
         std::string(1, static_cast<char>(event)) + std::string(path);
}
uint64_t next(const Schema& s, const KvReader& kv, std::string_view key) {
  auto v = kv.get(s.governance, key);
  return v ? storage::read_be64(*v) : 1;
}
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

std::optional<Run> run(const Schema& s, const KvReader& kv, uint64_t id) {
  auto v = kv.get(s.governance, run_key(id));
  if (!v) return std::nullopt;
  return decode_run(*v);
}
std::optional<Job> job(const Schema& s, const KvReader& kv, uint64_t id) {
  auto v = kv.get(s.governance, job_key(id));
  if (!v) return std::nullopt;
  return decode_job(*v);
}
std::vector<Job> jobs_of(const Schema& s, const KvReader& kv, const Run& r) {
  std::vector<Job> out;
  for (uint64_t id : r.jobs)
    if (auto j = job(s, kv, id)) out.push_back(std::move(*j));
  return out;
}
std::vector<Run> runs_of_repo(const Schema& s, const KvReader& kv, uint64_t repo_id, size_t limit) {
  std::vector<uint64_t> ids;
  kv.scan_prefix(s.governance, "Wi" + be64(repo_id), [&](std::string_view k, std::string_view) {
    ids.push_back(storage::read_be64(k.substr(k.size() - 8)));
    return true;
  });
  std::vector<Run> out;
  for (auto it = ids.rbegin(); it != ids.rend() && out.size() < limit; ++it)
    if (auto r = run(s, kv, *it)) out.push_back(std::move(*r));
  return out;
}
bool reported(const Job& job, const crypto::PublicKey& runner) {
  return std::any_of(job.results.begin(), job.results.end(),
                     [&](const JobResult& x) { return x.runner == runner; });
}
std::vector<Job> claimable_jobs(const Schema& s, const KvReader& kv, uint64_t repo_id,
                                uint64_t now_ms, size_t limit, const crypto::PublicKey* runner) {
  std::vector<uint64_t> ids;
  kv.scan_prefix(s.governance, "Wq", [&](std::string_view k, std::string_view) {
    ids.push_back(storage::read_be64(k.substr(2)));
    return true;
  });
  std::vector<Job> out;
  for (uint64_t id : ids) {
    auto j = job(s, kv, id);
    if (!j || j->repo_id != repo_id) continue;
    if (runner && reported(*j, *runner)) continue;
    bool stale = j->status == kRunInProgress && j->heartbeat_ms + kJobHeartbeatDeadlineMs < now_ms;
    if ((j->status == kRunQueued && j->ready) || stale) out.push_back(std::move(*j));
    if (out.size() >= limit) break;
  }
  return out;
}
std::vector<Schedule> schedules(const Schema& s, const KvReader& kv, uint64_t repo_id) {
  std::vector<Schedule> out;
  kv.scan_prefix(s.governance, repo_id ? "Wc" + be64(repo_id) : std::string("Wc"),
                 [&](std::string_view, std::string_view v) {
                   out.push_back(decode_schedule(v));
                   return true;
                 });
  return out;
}
std::optional<Schedule> schedule(const Schema& s, const KvReader& kv, uint64_t repo_id,
                                 std::string_view path) {
  auto v = kv.get(s.governance, schedule_key(repo_id, path));
  if (!v) return std::nullopt;
  return decode_schedule(*v);
}
std::optional<uint64_t> due_slot(const Schedule& sched, uint64_t now_ms) {
  auto parsed = ci::parse_workflow(sched.path, sched.content);
  const auto* wf = std::get_if<ci::Workflow>(&parsed);
  if (!wf) return std::nullopt;
  uint64_t after =
      std::max(sched.last_slot_ms, now_ms > kScheduleWindowMs ? now_ms - kScheduleWindowMs : 0);
  std::optional<uint64_t> best;
  for (const auto& line : wf->on.schedule) {
    auto c = ci::parse_cron(line);
    if (!c) continue;
    auto t = ci::latest_match(*c, after, now_ms, kScheduleWindowMs / 60000);
    if (t && (!best || *t > *best)) best = t;
  }
  return best;
}
std::optional<Runner> runner(const Schema& s, const KvReader& kv, uint64_t repo_id,
                             const crypto::PublicKey& key) {
  auto v = kv.get(s.governance, runner_key(repo_id, key));
  if (!v) return std::nullopt;
  return decode_runner(*v);
}
std::vector<Runner> runners_of_repo(const Schema& s, const KvReader& kv, uint64_t repo_id) {
  std::vector<Runner> out;
  kv.scan_prefix(s.governance, "Wu" + be64(repo_id), [&](std::string_view, std::string_view v) {
    out.push_back(decode_runner(v));
    return true;
  });
  return out;
}
std::optional<RunnerToken> token(const Schema& s, const KvReader& kv, const crypto::PublicKey& k) {
  auto v = kv.get(s.governance, token_key(k));
  if (!v) return std::nullopt;
  return decode_runner_token(*v);
}
bool labels_fit(const std::vector<std::string>& have, const Job& j) {
  for (const auto& want : j.runs_on) {
    bool found = false;
    for (const auto& l : have)
      if (lower(l) == lower(want)) found = true;
    if (!found) return false;
  }
  return true;
}

}  // namespace runs

namespace {

using reject::conflict;
using reject::denied;
using reject::invalid;
using reject::not_found;
using reject::not_mergeable;
using reject::taken;

Status field(const char* name, const std::string& why) {
  return invalid(std::string(name) + ": " + why);
}

bool valid_sha(const Bytes& b) {
  return b.size() == 20 || b.size() == 32;
}

bool label_ok(const std::string& l) {
  if (l.empty() || l.size() > 64) return false;
  return std::all_of(l.begin(), l.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// The results of a job key's instances, combined as `needs.<key>.result`.
uint8_t combined_result(const std::vector<const Job*>& instances) {
  bool failed = false, cancelled = false, all_skipped = !instances.empty();
  for (const Job* j : instances) {
    if (j->conclusion == kConclusionFailure || j->conclusion == kConclusionTimedOut) failed = true;
    if (j->conclusion == kConclusionCancelled) cancelled = true;
    if (j->conclusion != kConclusionSkipped) all_skipped = false;
  }
  if (failed) return kConclusionFailure;
  if (cancelled) return kConclusionCancelled;
  if (all_skipped) return kConclusionSkipped;
  return kConclusionSuccess;
}

// One run's jobs in memory while a transaction changes them; written back by `store`.
struct RunWork {
  Run run;
  std::vector<Job> jobs;
  std::vector<bool> changed;
};

// The commit status a job's state maps to (docs/ci.md "Statuses").
void record_status(const Schema& s, Overlay& state, const Run& run, const Job& job,
                   const crypto::PublicKey& creator, uint64_t now) {
  CommitStatus cs;
  auto key = commit_status_key(run.repo_id, run.sha, job_status_context(run, job));
  if (auto old = state.get(s.governance, key))
    cs.created_ms = decode_commit_status(*old).created_ms;
  else
    cs.created_ms = now;
  cs.repo_id = run.repo_id;
  cs.sha = run.sha;
  cs.context = job_status_context(run, job);
  cs.creator = creator;
  cs.updated_ms = now;
  cs.target_url = "";
  if (job.status != kRunCompleted) {
    cs.state = kStatusPending;
    cs.description = job.status == kRunQueued ? "Queued" : "In progress";
    if (!job.results.empty())  // agreeing runners (runner_policy.h)
      cs.description +=
          " (" + std::to_string(job.results.size()) + " reported; waiting for agreeing runners)";
  } else {
    switch (job.conclusion) {
      case kConclusionSuccess:
        cs.state = kStatusSuccess;
        cs.description = "Successful";
        break;
      case kConclusionSkipped:
        cs.state = kStatusSuccess;
        cs.description = "Skipped";
        break;
      case kConclusionCancelled:
        cs.state = kStatusError;
        cs.description = "Cancelled";
        break;
      case kConclusionTimedOut:
        cs.state = kStatusFailure;
        cs.description = "Timed out";
        break;
      default:
        cs.state = kStatusFailure;
        cs.description = "Failing";
        break;
    }
  }
  state.put(s.governance, key, encode_commit_status(cs));
}

void store(const Schema& s, Overlay& state, RunWork& w, const crypto::PublicKey& author,
           uint64_t now) {
  for (size_t i = 0; i < w.jobs.size(); ++i) {
    if (!w.changed[i]) continue;
    const Job& j = w.jobs[i];
    state.put(s.governance, runs::job_key(j.id), encode_job(j));
    if (j.status == kRunCompleted)
      state.del(s.governance, runs::open_job_key(j.id));
    else
      state.put(s.governance, runs::open_job_key(j.id), "");
    record_status(s, state, w.run, j, author, now);
  }
  w.run.updated_ms = now;
  state.put(s.governance, runs::run_key(w.run.id), encode_run(w.run));
}

// Decides every queued job whose needs are all completed: its `if` (default success())
// makes it ready (claimable) or skipped. Repeats until nothing changes (skips cascade), then
// concludes the run when every job is completed.
void settle(RunWork& w) {
  ci::ExprContext base;
  base.github = {{"sha", hex_encode(w.run.sha)},
                 {"ref", w.run.ref},
                 {"event_name", run_event_name(w.run.event)},
                 {"run_id", std::to_string(w.run.id)},
                 {"run_attempt", std::to_string(w.run.attempt)}};
  for (const auto& [k, v] : w.run.inputs) base.inputs[k] = v;
  bool progress = true;
  while (progress) {
    progress = false;
    for (size_t i = 0; i < w.jobs.size(); ++i) {
      Job& j = w.jobs[i];
      if (j.status != kRunQueued || j.ready) continue;
      ci::ExprContext ctx = base;
      bool waiting = false;
      bool any_failed = false, any_cancelled = false, any_skipped = false;
      for (const auto& need : j.needs) {
        std::vector<const Job*> inst;
        for (const auto& o : w.jobs)
          if (o.key == need) inst.push_back(&o);
        for (const Job* o : inst)
          if (o->status != kRunCompleted) waiting = true;
        if (waiting) break;
        uint8_t r = combined_result(inst);
        ctx.needs_result[need] = conclusion_name(r);
        any_failed |= r == kConclusionFailure;
        any_cancelled |= r == kConclusionCancelled;
        any_skipped |= r == kConclusionSkipped;
      }
      if (waiting) continue;
      ctx.job_status = any_failed      ? "failure"
                       : any_cancelled ? "cancelled"
                       : any_skipped   ? "skipped"
                                       : "success";
      for (const auto& [k, v] : j.matrix) ctx.matrix[k] = v;
      auto run_it = ci::evaluate_condition(j.if_condition, ctx);
      if (run_it.ok() && *run_it) {
        j.ready = true;
      } else {
        j.status = kRunCompleted;
        j.conclusion = run_it.ok() ? kConclusionSkipped : kConclusionFailure;
      }
      w.changed[i] = true;
      progress = true;
    }
  }
  bool all_done = true, any_started = false;
  for (const auto& j : w.jobs) {
    if (j.status != kRunCompleted) all_done = false;
    if (j.status == kRunInProgress || j.status == kRunCompleted) any_started = true;
  }
  if (all_done) {
    std::vector<const Job*> all;
    for (const auto& j : w.jobs) all.push_back(&j);
    uint8_t c = combined_result(all);
    w.run.status = kRunCompleted;
    w.run.conclusion = c == kConclusionSkipped ? uint8_t{kConclusionSuccess} : c;
  } else {
    w.run.status = any_started ? kRunInProgress : kRunQueued;
    w.run.conclusion = kConclusionNone;
  }
}

std::optional<RunWork> load(const Schema& s, const KvReader& kv, uint64_t run_id) {
  auto r = runs::run(s, kv, run_id);
  if (!r) return std::nullopt;
  RunWork w;
  w.run = std::move(*r);
  w.jobs = runs::jobs_of(s, kv, w.run);
  w.changed.assign(w.jobs.size(), false);
  return w;
}

size_t index_of(const RunWork& w, uint64_t job_id) {
  for (size_t i = 0; i < w.jobs.size(); ++i)
    if (w.jobs[i].id == job_id) return i;
  return w.jobs.size();
}

Status merge_steps(Job& j, const std::vector<StepResult>& steps) {
  for (const auto& s : steps) {
    if (s.number < 1 || s.number > kMaxStepResults)
      return field("steps", "step numbers are 1-" + std::to_string(kMaxStepResults));
    if (s.status < kRunQueued || s.status > kRunCompleted)
      return field("steps", "unknown step status");
    if (s.conclusion > kConclusionSkipped) return field("steps", "unknown step conclusion");
    auto it = std::find_if(j.steps.begin(), j.steps.end(),
                           [&](const StepResult& o) { return o.number == s.number; });
    if (it != j.steps.end())
      *it = s;
    else
      j.steps.push_back(s);
  }
  std::sort(j.steps.begin(), j.steps.end(),
            [](const StepResult& a, const StepResult& b) { return a.number < b.number; });
  return Status::Ok();
}

}  // namespace

Status Executor::apply_ci(Overlay& state, const Transaction& tx) const {
  StateView view(s_, state);
  const auto& author = tx.author;
  const uint64_t now = ctx_.timestamp_ms;
  auto repo_with = [&](uint64_t id, Permission need, Repo* out) -> Status {
    auto repo = view.repo(id);
    if (!repo) return not_found("repository " + std::to_string(id) + " does not exist");
    auto have = view.permission(*repo, author);
    if (have == Permission::kNone)
      return not_found("repository " + std::to_string(id) + " does not exist");
    if (have < need)
      return denied(std::string("requires ") + permission_name(need) +
                    " permission on the repository");
    *out = std::move(*repo);
    return Status::Ok();
  };
  // The job `job_id`, held by the author (the runner that claimed it).
  auto held = [&](uint64_t job_id, RunWork* w, size_t* at) -> Status {
    auto j = runs::job(s_, state, job_id);
    if (!j) return not_found("job " + std::to_string(job_id) + " does not exist");
    if (j->status != kRunInProgress || j->runner != author)
      return denied("job " + std::to_string(job_id) + " is not held by this runner");
    auto loaded = load(s_, state, j->run_id);
    if (!loaded) return not_found("run " + std::to_string(j->run_id) + " does not exist");
    *w = std::move(*loaded);
    *at = index_of(*w, job_id);
    if (*at == w->jobs.size()) return not_found("job is not part of its run");
    return Status::Ok();
  };

  // Creates the run of workflow file `b.content` (its jobs derived from the file, or a failed
  // run when it does not parse): shared by run requests and scheduled runs. `dedupe` is the key
  // that keeps one run per (workflow, commit, event); scheduled runs have none (their slot does).
  auto create_run = [&](const Repo& repo, const RequestRuns& b, const crypto::PublicKey& actor,
                        const std::string& dedupe, uint64_t* run_id) -> Status {
    RunWork w;
    Run& run = w.run;
    run.id = runs::next(s_, state, runs::kNextRun);
    run.repo_id = repo.id;
    run.workflow_path = b.workflow_path;
    run.workflow_name = b.workflow_path;
    run.event = b.event;
    run.ref = b.ref;
    run.sha = b.sha;
    run.pull_number = b.pull_number;
    run.actor = actor;
    run.content = b.content;
    run.inputs = b.inputs;
    run.created_ms = run.updated_ms = now;
    run.height = ctx_.height;

    auto failed = [&](std::string error) {
      run.status = kRunCompleted;
      run.conclusion = kConclusionFailure;
      if (error.size() > kMaxRunError) error.resize(kMaxRunError);
      run.error = std::move(error);
      // The failed run is visible to required checks as the workflow's own status.
      CommitStatus cs;
      cs.repo_id = repo.id;
      cs.sha = run.sha;
      cs.context = run.workflow_path;
      cs.state = kStatusFailure;
      cs.description = run.error.substr(0, kMaxStatusDescription);
      cs.creator = actor;
      cs.created_ms = cs.updated_ms = now;
      state.put(s_.governance, commit_status_key(repo.id, run.sha, cs.context),
                encode_commit_status(cs));
    };
    auto parsed = ci::parse_workflow(b.workflow_path, b.content);
    if (auto* e = std::get_if<ci::ParseError>(&parsed)) {
      failed(e->to_string());
    } else {
      const auto& wf = std::get<ci::Workflow>(parsed);
      run.workflow_name = wf.name.substr(0, 200);
      ci::Event ev;
      ev.kind = b.event == kEventPush          ? ci::Event::kPush
                : b.event == kEventPullRequest ? ci::Event::kPullRequest
                : b.event == kEventSchedule    ? ci::Event::kSchedule
                                               : ci::Event::kWorkflowDispatch;
      ev.ref = b.ref;
      if (!ci::triggers(wf, ev))
        return invalid(wf.path + " does not run on " + run_event_name(b.event) + " to " + b.ref);
      uint64_t next_job = runs::next(s_, state, runs::kNextJob);
      for (const auto& job : wf.jobs) {
        auto expanded = ci::expand_matrix(wf, job);
        auto* inst = std::get_if<std::vector<ci::JobInstance>>(&expanded);
        if (!inst) {
          failed(std::get<ci::ParseError>(expanded).to_string());
          w.jobs.clear();
          break;
        }
        for (const auto& ji : *inst) {
          Job j;
          j.id = next_job++;
          j.run_id = run.id;
          j.repo_id = repo.id;
          j.key = job.id;
          j.name = ji.name;
          j.matrix = ji.matrix_order;
          j.runs_on = job.runs_on;
          j.needs = job.needs;
          j.if_condition = job.if_condition;
          j.timeout_minutes = job.timeout_minutes;
          j.network = job.network;
          w.jobs.push_back(std::move(j));
        }
        if (w.jobs.size() > kMaxRunJobs) {
          failed(wf.path + ": a run has more than 256 jobs");
          w.jobs.clear();
          break;
        }
      }
      if (!w.jobs.empty()) {
        state.put(s_.governance, runs::kNextJob, storage::be64(next_job));
        for (const auto& j : w.jobs) run.jobs.push_back(j.id);
        w.changed.assign(w.jobs.size(), true);
        settle(w);
      }
    }
    state.put(s_.governance, runs::kNextRun, storage::be64(run.id + 1));
    if (!dedupe.empty()) state.put(s_.governance, dedupe, storage::be64(run.id));
    state.put(s_.governance, runs::repo_run_key(repo.id, run.id), "");
    store(s_, state, w, actor, now);
    *run_id = run.id;
    return Status::Ok();
  };

  return std::visit(
      [&](const auto& b) -> Status {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, RequestRuns>) {
          Repo repo;
          // A pull request's author may request its runs with read permission only (a fork's
          // pull request runs too, as on GitHub; runners get no secrets for such runs).
          const bool pull = b.event == kEventPullRequest;
          if (auto st = repo_with(b.repo_id, pull ? Permission::kRead : Permission::kWrite, &repo);
              !st.ok())
            return st;
          if (auto e = ci::workflow_path_error(b.workflow_path); !e.empty())
            return field("workflow_path", e);
          if (!valid_sha(b.sha)) return field("sha", "is not an object id");
          if (b.event < kEventPush || b.event > kEventDispatch)
            return field("event", "must be push, pull_request or workflow_dispatch");
          if (b.ref.empty()) return field("ref", "must not be empty");
          if (b.event != kEventPullRequest) {
            auto at = view.ref(repo.id, b.ref);
            if (!at || *at != b.sha)
              return conflict(b.ref + " does not point at " + hex_encode(b.sha));
          } else if (b.pull_number == 0) {
            return field("pull_number", "a pull_request run names its pull request");
          } else {
            // The run is for the pull request's current head, against its base branch.
            const std::string pr = "pull request #" + std::to_string(b.pull_number);
            auto x = view.issue(repo.id, b.pull_number);
            if (!x || !x->is_pull) return not_found(pr + " does not exist");
            if (x->state != kIssueOpen || x->merged) return conflict(pr + " is not open");
            if (x->head_sha != b.sha) return conflict(pr + "'s head is not " + hex_encode(b.sha));
            if (b.ref != "refs/heads/" + x->base_ref)
              return field("ref", "is not the base branch of " + pr);
            if (view.permission(repo, author) < Permission::kWrite && x->author != author)
              return denied("requires write permission on the repository or being the author of " +
                            pr);
          }
          if (!b.inputs.empty() && b.event != kEventDispatch)
            return field("inputs", "only a workflow_dispatch run has inputs");
          if (b.inputs.size() > kMaxDispatchInputs) return field("inputs", "at most 25");
          for (size_t i = 0; i < b.inputs.size(); ++i) {
            if (b.inputs[i].first.empty()) return field("inputs", "a name is empty");
            if (i > 0 && !(b.inputs[i - 1].first < b.inputs[i].first))
              return field("inputs", "names are sorted and unique");
          }
          auto dedupe = runs::dedupe_key(repo.id, b.sha, b.event, b.workflow_path);
          if (state.get(s_.governance, dedupe))
            return taken("a run of " + b.workflow_path + " for this commit and event exists");

          uint64_t run_id = 0;
          if (auto st = create_run(repo, b, author, dedupe, &run_id); !st.ok()) return st;
          state.put(s_.receipts, key_of(tx.id()), storage::be64(run_id));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, SetSchedules>) {
          Repo repo;
          if (auto st = repo_with(b.repo_id, Permission::kWrite, &repo); !st.ok()) return st;
          if (b.ref != "refs/heads/" + repo.default_branch)
            return field("ref", "is not the default branch refs/heads/" + repo.default_branch);
          if (!valid_sha(b.sha)) return field("sha", "is not an object id");
          auto at = view.ref(repo.id, b.ref);
          if (!at || *at != b.sha)
            return conflict(b.ref + " does not point at " + hex_encode(b.sha));
          if (b.workflows.size() > kMaxScheduledWorkflows)
            return field("workflows", "at most " + std::to_string(kMaxScheduledWorkflows));
          for (size_t i = 0; i < b.workflows.size(); ++i) {
            const auto& f = b.workflows[i];
            if (auto e = ci::workflow_path_error(f.path); !e.empty()) return field("workflows", e);
            if (i > 0 && !(b.workflows[i - 1].path < f.path))
              return field("workflows", "paths are sorted and unique");
            auto parsed = ci::parse_workflow(f.path, f.content);
            if (auto* e = std::get_if<ci::ParseError>(&parsed)) return invalid(e->to_string());
            if (std::get<ci::Workflow>(parsed).on.schedule.empty())
              return invalid(f.path + " has no on.schedule");
          }
          auto before = runs::schedules(s_, state, repo.id);
          for (const auto& old : before)
            state.del(s_.governance, runs::schedule_key(repo.id, old.path));
          for (const auto& f : b.workflows) {
            Schedule x;
            x.repo_id = repo.id;
            x.path = f.path;
            x.content = f.content;
            x.ref = b.ref;
            x.sha = b.sha;
            x.actor = author;
            x.registered_ms = now;
            x.last_slot_ms = now;  // a new schedule runs from the next minute on, never before
            for (const auto& old : before)
              if (old.path == f.path) {  // a minute already run is never run again
                x.last_slot_ms = old.last_slot_ms;
                x.last_run = old.last_run;
              }
            state.put(s_.governance, runs::schedule_key(repo.id, f.path), encode_schedule(x));
          }
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, TriggerSchedule>) {
          auto repo = view.repo(b.repo_id);
          if (!repo)
            return not_found("repository " + std::to_string(b.repo_id) + " does not exist");
          auto sched = runs::schedule(s_, state, repo->id, b.workflow_path);
          if (!sched) return not_found(b.workflow_path + " is not a scheduled workflow");
          if (sched->ref != "refs/heads/" + repo->default_branch)
            return conflict("the default branch changed since " + b.workflow_path +
                            " was scheduled: a push to it schedules it again");
          if (view.permission(*repo, sched->actor) < Permission::kWrite)
            return denied("whoever scheduled " + b.workflow_path +
                          " no longer has write permission: a push by a writer schedules it again");
          if (b.slot_ms % 60000 != 0) return field("slot", "is not the start of a minute");
          if (b.slot_ms > now) return conflict("the minute is not due yet");
          if (b.slot_ms + kScheduleWindowMs < now)
            return field("slot", "is more than an hour before the block's time");
          if (b.slot_ms <= sched->last_slot_ms)
            return taken("the run of " + b.workflow_path + " for that minute exists");
          auto parsed = ci::parse_workflow(sched->path, sched->content);
          const auto* wf = std::get_if<ci::Workflow>(&parsed);
          bool named = false;
          for (const auto& line : wf ? wf->on.schedule : std::vector<std::string>{})
            if (auto c = ci::parse_cron(line)) named = named || ci::cron_matches(*c, b.slot_ms);
          if (!named) return field("slot", "is not a minute the workflow's schedule names");
          RequestRuns r;
          r.repo_id = repo->id;
          r.workflow_path = sched->path;
          r.content = sched->content;
          r.event = kEventSchedule;
          r.ref = sched->ref;
          r.sha = sched->sha;
          uint64_t run_id = 0;
          if (auto st = create_run(*repo, r, sched->actor, "", &run_id); !st.ok()) return st;
          sched->last_slot_ms = b.slot_ms;
          sched->last_run = run_id;
          state.put(s_.governance, runs::schedule_key(repo->id, sched->path),
                    encode_schedule(*sched));
          state.put(s_.receipts, key_of(tx.id()), storage::be64(run_id));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, CreateRunnerToken>) {
          Repo repo;
          if (auto st = repo_with(b.repo_id, Permission::kAdmin, &repo); !st.ok()) return st;
          if (!crypto::is_valid_public_key(b.token_key))
            return field("token", "is not a valid public key");
          if (b.expires_ms <= now || b.expires_ms > now + kMaxRunnerTokenLifetimeMs)
            return field("expires_at", "must be within the next 24 hours");
          if (runs::token(s_, state, b.token_key)) return taken("this token exists");
          RunnerToken t{b.token_key, repo.id, author, now, b.expires_ms};
          state.put(s_.governance, runs::token_key(t.key), encode_runner_token(t));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, RegisterRunner>) {
          auto t = runs::token(s_, state, b.token_key);
          if (!t || t->repo_id != b.repo_id)
            return denied("the registration token is not valid for this repository");
          if (t->expires_ms <= now) return denied("the registration token has expired");
          if (!crypto::verify(b.token_key, kRunnerTokenDomain,
                              runner_registration_payload(author, b.repo_id), b.token_sig))
            return denied("the registration token's signature does not cover this runner");
          if (b.name.empty() || b.name.size() > 64) return field("name", "must be 1-64 bytes");
          for (const auto& l : b.labels)
            if (!label_ok(l)) return field("labels", "'" + l + "' is not a valid label");
          Runner r;
          r.key = author;
          r.repo_id = b.repo_id;
          r.name = b.name;
          r.labels = b.labels;
          r.token_creator = t->creator;
          r.registered_ms = now;
          state.put(s_.governance, runs::runner_key(r.repo_id, r.key), encode_runner(r));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, ClaimJob>) {
          auto j = runs::job(s_, state, b.job_id);
          if (!j) return not_found("job " + std::to_string(b.job_id) + " does not exist");
          auto r = runs::runner(s_, state, j->repo_id, author);
          if (!r) return denied("not a runner registered for this repository");
          if (!runs::labels_fit(r->labels, *j))
            return denied("the runner lacks a label the job runs on");
          if (j->status == kRunCompleted) return not_mergeable("the job is completed");
          if (runs::reported(*j, author))
            return conflict("this runner reported job " + std::to_string(j->id) +
                            " already: another runner must agree");
          if (j->status == kRunInProgress) {
            if (j->heartbeat_ms + kJobHeartbeatDeadlineMs >= now)
              return conflict("job " + std::to_string(j->id) + " is already claimed");
            // The holder stopped heart-beating: the job is re-queued and taken over here.
          } else if (!j->ready) {
            return not_mergeable("the job waits for the jobs it needs");
          }
          auto w = load(s_, state, j->run_id);
          if (!w) return not_found("run does not exist");
          size_t i = index_of(*w, j->id);
          if (i == w->jobs.size()) return not_found("job is not part of its run");
          Job& job = w->jobs[i];
          job.status = kRunInProgress;
          job.runner = author;
          job.claims += 1;
          job.started_ms = job.heartbeat_ms = now;
          job.steps.clear();
          w->changed[i] = true;
          settle(*w);
          store(s_, state, *w, author, now);
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, JobHeartbeat>) {
          auto j = runs::job(s_, state, b.job_id);
          if (!j) return not_found("job " + std::to_string(b.job_id) + " does not exist");
          if (j->status != kRunInProgress || j->runner != author)
            return denied("job " + std::to_string(b.job_id) + " is not held by this runner");
          j->heartbeat_ms = now;
          state.put(s_.governance, runs::job_key(j->id), encode_job(*j));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, ReportSteps>) {
          RunWork w;
          size_t i;
          if (auto st = held(b.job_id, &w, &i); !st.ok()) return st;
          Job& job = w.jobs[i];
          if (auto st = merge_steps(job, b.steps); !st.ok()) return st;
          job.heartbeat_ms = now;
          state.put(s_.governance, runs::job_key(job.id), encode_job(job));
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, CompleteJob>) {
          RunWork w;
          size_t i;
          if (auto st = held(b.job_id, &w, &i); !st.ok()) return st;
          if (b.conclusion != kConclusionSuccess && b.conclusion != kConclusionFailure &&
              b.conclusion != kConclusionCancelled && b.conclusion != kConclusionTimedOut)
            return field("conclusion", "must be success, failure, cancelled or timed_out");
          Job& job = w.jobs[i];
          if (auto st = merge_steps(job, b.steps); !st.ok()) return st;
          w.changed[i] = true;
          // Agreeing runners (runner_policy.h): the job completes once N trusted runners
          // reported the same conclusion; until then it goes back to the queue.
          const uint32_t need = agreeing_runners(view, w.run.repo_id);
          if (need > 1) {
            job.results.push_back({author, b.conclusion, now});
            size_t agree = 0;
            for (const auto& x : job.results)
              if (x.conclusion == b.conclusion && runner_trusted(view, w.run.repo_id, x.runner))
                ++agree;
            if (agree < need) {
              if (job.results.size() < kMaxJobResults) {
                job.status = kRunQueued;  // ready still holds: another runner claims it
                job.runner = {};
                job.heartbeat_ms = 0;
                settle(w);
                store(s_, state, w, author, now);
                return Status::Ok();
              }
              job.status = kRunCompleted;  // no agreement after every attempt allowed
              job.conclusion = kConclusionFailure;
              job.completed_ms = now;
              settle(w);
              store(s_, state, w, author, now);
              return Status::Ok();
            }
          }
          job.status = kRunCompleted;
          job.conclusion = b.conclusion;
          job.completed_ms = now;
          settle(w);
          store(s_, state, w, author, now);
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, RunAction>) {
          auto w = load(s_, state, b.run_id);
          if (!w) return not_found("run " + std::to_string(b.run_id) + " does not exist");
          Repo repo;
          if (auto st = repo_with(w->run.repo_id, Permission::kWrite, &repo); !st.ok()) return st;
          if (b.action == kRunCancel) {
            if (w->run.status == kRunCompleted) return not_mergeable("the run is completed");
            for (size_t i = 0; i < w->jobs.size(); ++i) {
              Job& j = w->jobs[i];
              if (j.status == kRunCompleted) continue;
              j.status = kRunCompleted;
              j.conclusion = kConclusionCancelled;
              j.completed_ms = now;
              w->changed[i] = true;
            }
            settle(*w);
            store(s_, state, *w, author, now);
            return Status::Ok();
          }
          if (b.action == kRunRerun) {
            if (w->run.status != kRunCompleted)
              return not_mergeable("the run is not completed; cancel it first");
            if (w->jobs.empty())
              return not_mergeable("the workflow did not parse: fix it and push again");
            w->run.attempt += 1;
            for (size_t i = 0; i < w->jobs.size(); ++i) {
              Job& j = w->jobs[i];
              j.status = kRunQueued;
              j.conclusion = kConclusionNone;
              j.ready = false;
              j.runner = {};
              j.claims = 0;
              j.started_ms = j.heartbeat_ms = j.completed_ms = 0;
              j.steps.clear();
              j.results.clear();
              w->changed[i] = true;
            }
            settle(*w);
            store(s_, state, *w, author, now);
            return Status::Ok();
          }
          return field("action", "must be cancel or rerun");
        } else {
          return invalid("not a CI transaction");
        }
      },
      tx.body);
}

}  // namespace guts::state
