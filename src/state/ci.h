// CI/CD runs as replicated state (issue 15 point 2; docs/ci.md "Runs as state").
//
// A run is created by a RequestRuns transaction (kind 52) that carries the workflow file's
// bytes: every validator parses them with the same parser (ci/workflow.h) and derives the
// same jobs, or the same failed run when the file does not parse (its log is
// "file:line:col: message"). Runners are identities registered to a repository with a
// registration token (kinds 53, 54); a job is claimed by exactly one runner (55: a second
// claim is refused while the holder's heartbeat is fresh), kept alive by heartbeats (56) and
// re-queued when the last heartbeat is older than kJobHeartbeatDeadlineMs of BLOCK time (the
// next claim takes it over); step results (57) and the job's conclusion (58) come from the
// holder only. Cancel and re-run are kind 59. Each job's state is recorded as a commit status
// with context "<workflow name> / <job name>" (state/protection.h's record, the one required
// status checks read).
//
// Layout, in the `governance` family (tag "W"):
//   Wn                                   -> be64(next run id)
//   Wm                                   -> be64(next job id)
//   Wr be64(run)                         -> Run
//   Wj be64(job)                         -> Job
//   Wi be64(repo) be64(run)              -> ""          (runs of a repository)
//   Wd be64(repo) u8(len) sha u8(event) path -> be64(run) (one run per workflow, commit, event)
//   Wq be64(job)                         -> ""          (jobs not completed: what runners poll)
//   Wt token-key32                       -> RunnerToken
//   Wu be64(repo) runner-key32           -> Runner
//   Wc be64(repo) path                   -> Schedule (scheduled workflows, `on: schedule`)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "crypto/ed25519.h"

namespace guts::codec {
class Writer;
class Reader;
}  // namespace guts::codec

namespace guts::state {

struct Schema;
class KvReader;

inline constexpr uint64_t kJobHeartbeatDeadlineMs = 2 * 60 * 1000;
inline constexpr uint64_t kMaxRunnerTokenLifetimeMs = 24 * 60 * 60 * 1000;
inline constexpr size_t kMaxWorkflowContent = 64 * 1024;  // = ci::kMaxWorkflowBytes
inline constexpr size_t kMaxRunJobs = 256;
inline constexpr size_t kMaxStepLogTail = 8 * 1024;
inline constexpr size_t kMaxStepResults = 100;
inline constexpr size_t kMaxRunnerLabels = 16;
inline constexpr size_t kMaxRunError = 2048;
inline constexpr size_t kMaxDispatchInputs = 25;  // GitHub's limit
inline constexpr size_t kMaxDispatchInputName = 100;
inline constexpr size_t kMaxDispatchInputValue = 4096;
inline constexpr std::string_view kRunnerTokenDomain = "guts/ci-runner-registration";

// Numeric values are part of the encodings.
enum RunStatus : uint8_t { kRunQueued = 1, kRunInProgress = 2, kRunCompleted = 3 };
enum Conclusion : uint8_t {
  kConclusionNone = 0,
  kConclusionSuccess = 1,
  kConclusionFailure = 2,
  kConclusionCancelled = 3,
  kConclusionTimedOut = 4,
  kConclusionSkipped = 5,
};
enum RunEvent : uint8_t {
  kEventPush = 1,
  kEventPullRequest = 2,
  kEventDispatch = 3,
  kEventSchedule = 4,
};
enum RunActionKind : uint8_t { kRunCancel = 1, kRunRerun = 2 };
const char* run_status_name(uint8_t s);  // "queued", "in_progress", "completed"
const char* conclusion_name(uint8_t c);  // "" for none, "success", ...
std::optional<uint8_t> conclusion_of(std::string_view name);
const char* run_event_name(uint8_t e);  // "push", "pull_request", "workflow_dispatch", "schedule"
std::optional<uint8_t> run_event_of(std::string_view name);

struct StepResult {
  uint32_t number = 0;  // 1-based, the step's index in the job
  std::string name;
  uint8_t status = kRunQueued;
  uint8_t conclusion = kConclusionNone;
  uint64_t started_ms = 0, completed_ms = 0;
  std::string log_tail;  // the last bytes of the step's log (full logs: node-local, later)
  bool operator==(const StepResult&) const = default;
};

// ---- transaction bodies ----

// Write permission (kScopePush: the pushing node signs it). Push and dispatch: `ref` must
// point at `sha` when applied.
struct RequestRuns {
  uint64_t repo_id = 0;
  std::string workflow_path;  // .guts/workflows/<name>.yml
  std::string content;        // the file at `sha`
  uint8_t event = kEventPush;
  std::string ref;  // push/dispatch: the ref; pull_request: the base branch ref
  Bytes sha;
  uint64_t pull_number = 0;
  // workflow_dispatch inputs (≤ kMaxDispatchInputs, sorted by name, unique): `inputs.<name>`
  // and `github.event.inputs.<name>`. Encoded after pull_number only when non-empty, so
  // earlier transactions keep their bytes.
  std::vector<std::pair<std::string, std::string>> inputs;
};
// Admin permission. The token is an Ed25519 key pair the node made; the seed is the secret the
// admin hands to the runner, the public key is stored.
struct CreateRunnerToken {
  uint64_t repo_id = 0;
  crypto::PublicKey token_key{};
  uint64_t expires_ms = 0;
};
// Signed by the runner's own key; token_sig is the token key's signature (kRunnerTokenDomain)
// over runner key || be64(repo_id), so a copied registration cannot enrol another key.
struct RegisterRunner {
  uint64_t repo_id = 0;
  crypto::PublicKey token_key{};
  crypto::Signature token_sig{};
  std::string name;
  std::vector<std::string> labels;
};
struct ClaimJob {
  uint64_t job_id = 0;
};
struct JobHeartbeat {
  uint64_t job_id = 0;
};
struct ReportSteps {
  uint64_t job_id = 0;
  std::vector<StepResult> steps;
};
struct CompleteJob {
  uint64_t job_id = 0;
  uint8_t conclusion = kConclusionSuccess;
  std::vector<StepResult> steps;
};
// Write permission.
struct RunAction {
  uint64_t run_id = 0;
  uint8_t action = kRunCancel;
};

// Scheduled runs (docs/ci.md "Scheduled runs"). Write permission (kScopePush: the pushing node
// signs it after a push to the default branch): the workflows with `on: schedule` of the
// default branch `ref` at `sha` (which `ref` must point at), replacing those registered before
// (none: the repository has no schedule any more). Sorted by path, unique, each parsing and
// scheduled.
struct ScheduledWorkflow {
  std::string path;
  std::string content;
  bool operator==(const ScheduledWorkflow&) const = default;
};
struct SetSchedules {
  uint64_t repo_id = 0;
  std::string ref;
  Bytes sha;
  std::vector<ScheduledWorkflow> workflows;
};
// Anyone (the author's own key; nodes sign it with theirs): runs the scheduled workflow for the
// minute `slot_ms`, which one of its cron lines names, that is at most kScheduleWindowMs before
// the block's time and later than the workflow's last scheduled run. Many nodes may submit the
// same slot: the first one in a block runs it, the others are refused.
struct TriggerSchedule {
  uint64_t repo_id = 0;
  std::string workflow_path;
  uint64_t slot_ms = 0;
};
inline constexpr size_t kMaxScheduledWorkflows = 20;
inline constexpr uint64_t kScheduleWindowMs = 60 * 60 * 1000;

template <typename T>
inline constexpr bool kIsCiBody =
    std::is_same_v<T, RequestRuns> || std::is_same_v<T, CreateRunnerToken> ||
    std::is_same_v<T, RegisterRunner> || std::is_same_v<T, ClaimJob> ||
    std::is_same_v<T, JobHeartbeat> || std::is_same_v<T, ReportSteps> ||
    std::is_same_v<T, CompleteJob> || std::is_same_v<T, RunAction> ||
    std::is_same_v<T, SetSchedules> || std::is_same_v<T, TriggerSchedule>;

void encode_ci_body(codec::Writer& w, const RequestRuns& b);
void encode_ci_body(codec::Writer& w, const CreateRunnerToken& b);
void encode_ci_body(codec::Writer& w, const RegisterRunner& b);
void encode_ci_body(codec::Writer& w, const ClaimJob& b);
void encode_ci_body(codec::Writer& w, const JobHeartbeat& b);
void encode_ci_body(codec::Writer& w, const ReportSteps& b);
void encode_ci_body(codec::Writer& w, const CompleteJob& b);
void encode_ci_body(codec::Writer& w, const RunAction& b);
void encode_ci_body(codec::Writer& w, const SetSchedules& b);
void encode_ci_body(codec::Writer& w, const TriggerSchedule& b);
template <typename T>
T decode_ci_body(codec::Reader& r);  // throws codec::DecodeError

// The payload a registration token signs.
Bytes runner_registration_payload(const crypto::PublicKey& runner, uint64_t repo_id);

// ---- records ----

struct Run {
  uint64_t id = 0;
  uint64_t repo_id = 0;
  std::string workflow_path;
  std::string workflow_name;
  uint8_t event = kEventPush;
  std::string ref;
  Bytes sha;
  uint64_t pull_number = 0;
  crypto::PublicKey actor{};
  std::string content;  // the workflow file (runners take the steps from it)
  uint8_t status = kRunQueued;
  uint8_t conclusion = kConclusionNone;
  uint32_t attempt = 1;
  std::string error;  // the parse error ("file:line:col: message") of a failed run
  std::vector<uint64_t> jobs;
  uint64_t created_ms = 0, updated_ms = 0, height = 0;
  std::vector<std::pair<std::string, std::string>> inputs;  // workflow_dispatch inputs
  bool operator==(const Run&) const = default;
};

// One runner's completion of a job whose repository wants agreeing runners (runner_policy.h).
struct JobResult {
  crypto::PublicKey runner{};
  uint8_t conclusion = kConclusionNone;
  uint64_t completed_ms = 0;
  bool operator==(const JobResult&) const = default;
};
inline constexpr size_t kMaxJobResults = 16;

struct Job {
  uint64_t id = 0;
  uint64_t run_id = 0;
  uint64_t repo_id = 0;
  std::string key;   // the job's id in the workflow
  std::string name;  // with the matrix values
  std::vector<std::pair<std::string, std::string>> matrix;
  std::vector<std::string> runs_on;
  std::vector<std::string> needs;
  std::string if_condition;
  uint32_t timeout_minutes = 0;
  bool network = false;
  uint8_t status = kRunQueued;
  uint8_t conclusion = kConclusionNone;
  bool ready = false;  // its needs are done and its `if` held: claimable
  crypto::PublicKey runner{};
  uint32_t claims = 0;  // how many times claimed (re-queues + 1) in this attempt
  uint64_t started_ms = 0, heartbeat_ms = 0, completed_ms = 0;
  std::vector<StepResult> steps;
  // Agreeing runners: every completion so far in this attempt (encoded last, only when there
  // are any, so jobs of repositories without the policy keep their bytes).
  std::vector<JobResult> results;
  bool operator==(const Job&) const = default;
};

struct RunnerToken {
  crypto::PublicKey key{};
  uint64_t repo_id = 0;
  crypto::PublicKey creator{};
  uint64_t created_ms = 0, expires_ms = 0;
};

struct Runner {
  crypto::PublicKey key{};
  uint64_t repo_id = 0;
  std::string name;
  std::vector<std::string> labels;
  crypto::PublicKey token_creator{};
  uint64_t registered_ms = 0;
};

// One registered scheduled workflow of a repository.
struct Schedule {
  uint64_t repo_id = 0;
  std::string path;
  std::string content;
  std::string ref;            // the default branch it was registered from
  Bytes sha;                  // the commit its runs check out
  crypto::PublicKey actor{};  // who pushed it: `github.actor` of its runs
  uint64_t registered_ms = 0;
  uint64_t last_slot_ms = 0;  // the minute of its last run, or when it was first registered
  uint64_t last_run = 0;
  bool operator==(const Schedule&) const = default;
};

std::string encode_run(const Run& r);
Run decode_run(std::string_view data);
std::string encode_job(const Job& j);
Job decode_job(std::string_view data);
std::string encode_runner_token(const RunnerToken& t);
RunnerToken decode_runner_token(std::string_view data);
std::string encode_runner(const Runner& r);
Runner decode_runner(std::string_view data);
std::string encode_schedule(const Schedule& s);
Schedule decode_schedule(std::string_view data);

// The commit-status context of a job: "<workflow name> / <job name>" (≤ 255 bytes).
std::string job_status_context(const Run& run, const Job& job);

// ---- keys and reads (ci_exec.cpp) ----
namespace runs {
std::string run_key(uint64_t id);
std::string job_key(uint64_t id);
std::string repo_run_key(uint64_t repo_id, uint64_t run_id);
std::string open_job_key(uint64_t job_id);
std::string token_key(const crypto::PublicKey& k);
std::string runner_key(uint64_t repo_id, const crypto::PublicKey& k);
std::string schedule_key(uint64_t repo_id, std::string_view path);

std::optional<Run> run(const Schema& s, const KvReader& kv, uint64_t id);
std::optional<Job> job(const Schema& s, const KvReader& kv, uint64_t id);
std::vector<Job> jobs_of(const Schema& s, const KvReader& kv, const Run& run);
// Newest first, at most `limit`.
std::vector<Run> runs_of_repo(const Schema& s, const KvReader& kv, uint64_t repo_id,
                              size_t limit = 100);
// Jobs a runner may claim now (ready and queued, or in progress with a stale heartbeat at
// `now_ms`), oldest first; with `runner`, not those it already completed (agreeing runners).
std::vector<Job> claimable_jobs(const Schema& s, const KvReader& kv, uint64_t repo_id,
                                uint64_t now_ms, size_t limit = 100,
                                const crypto::PublicKey* runner = nullptr);
// Whether `runner` already reported a result for `job` in this attempt.
bool reported(const Job& job, const crypto::PublicKey& runner);
std::optional<Runner> runner(const Schema& s, const KvReader& kv, uint64_t repo_id,
                             const crypto::PublicKey& key);
std::vector<Runner> runners_of_repo(const Schema& s, const KvReader& kv, uint64_t repo_id);
std::optional<RunnerToken> token(const Schema& s, const KvReader& kv, const crypto::PublicKey& k);
// A repository's scheduled workflows by path; every repository's when repo_id is 0 (what a
// node's scheduler walks: at most kMaxScheduledWorkflows per repository).
std::vector<Schedule> schedules(const Schema& s, const KvReader& kv, uint64_t repo_id = 0);
std::optional<Schedule> schedule(const Schema& s, const KvReader& kv, uint64_t repo_id,
                                 std::string_view path);
// The minute of `sched`'s next due run at `now_ms`: the latest minute its cron lines name that
// is within kScheduleWindowMs before now_ms and after its last run; nullopt when none is due
// (or the content no longer parses).
std::optional<uint64_t> due_slot(const Schedule& sched, uint64_t now_ms);
// Whether `runner` has every label `job` asks for (case-insensitive).
bool labels_fit(const std::vector<std::string>& runner_labels, const Job& job);
}  // namespace runs

}  // namespace guts::state
