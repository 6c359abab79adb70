// Wire encodings of the CI/CD transactions and records (state/ci.h).
#include "state/ci.h"

#include "codec/codec.h"
#include "state/field_codec.h"

namespace guts::state {

using codec::DecodeError;
using codec::Reader;
using codec::Writer;
using namespace field;  // state/field_codec.h

namespace {
constexpr uint8_t kRecordVersion = 1;
constexpr size_t kMaxLabel = 64;
constexpr size_t kMaxName = 255;
constexpr size_t kMaxRef = 1024;
constexpr size_t kMaxCondition = 4096;
constexpr size_t kMaxMatrixPairs = 64;

void put_steps(Writer& w, const std::vector<StepResult>& steps) {
  w.varint(steps.size());
  for (const auto& s : steps) {
    w.varint(s.number).str(s.name).u8(s.status).u8(s.conclusion);
    w.varint(s.started_ms).varint(s.completed_ms).str(s.log_tail);
  }
}
std::vector<StepResult> get_steps(Reader& r) {
  size_t n = r.count(kMaxStepResults, "steps");
  std::vector<StepResult> out(n);
  for (auto& s : out) {
    s.number = static_cast<uint32_t>(r.varint());
    s.name = r.str(kMaxName, "step name");
    s.status = r.u8();
    s.conclusion = r.u8();
    s.started_ms = r.varint();
    s.completed_ms = r.varint();
    s.log_tail = r.str(kMaxStepLogTail, "log");
  }
  return out;
}
// Trailing optional list of (name, value): absent when empty (earlier encodings unchanged);
// when present it has 1..kMaxDispatchInputs entries.
void put_inputs(Writer& w, const std::vector<std::pair<std::string, std::string>>& in) {
  if (in.empty()) return;
  w.varint(in.size());
  for (const auto& [k, v] : in) w.str(k).str(v);
}
std::vector<std::pair<std::string, std::string>> get_inputs(Reader& r) {
  std::vector<std::pair<std::string, std::string>> out;
  if (r.done()) return out;
  size_t n = r.count(kMaxDispatchInputs, "inputs");
  if (n == 0) throw DecodeError("inputs: an empty list is encoded as absent");
  for (size_t i = 0; i < n; ++i) {
    auto k = r.str(kMaxDispatchInputName, "input name");
    auto v = r.str(kMaxDispatchInputValue, "input value");
    out.emplace_back(std::move(k), std::move(v));
  }
  return out;
}
std::string finish(Writer& w) {
  return guts::to_string(w.data());
}
void version(Reader& r, const char* what) {
  if (r.u8() != kRecordVersion) throw DecodeError(std::string("unsupported ") + what + " version");
}
}  // namespace

const char* run_status_name(uint8_t s) {
  switch (s) {
    case kRunQueued:
      return "queued";
    case kRunInProgress:
      return "in_progress";
    case kRunCompleted:
      return "completed";
  }
  return "queued";
}

const char* conclusion_name(uint8_t c) {
  switch (c) {
    case kConclusionSuccess:
      return "success";
    case kConclusionFailure:
      return "failure";
    case kConclusionCancelled:
      return "cancelled";
    case kConclusionTimedOut:
      return "timed_out";
    case kConclusionSkipped:
      return "skipped";
  }
  return "";
}

std::optional<uint8_t> conclusion_of(std::string_view name) {
  for (uint8_t c = kConclusionSuccess; c <= kConclusionSkipped; ++c)
    if (name == conclusion_name(c)) return c;
  return std::nullopt;
}

const char* run_event_name(uint8_t e) {
  switch (e) {
    case kEventPush:
      return "push";
    case kEventPullRequest:
      return "pull_request";
    case kEventDispatch:
      return "workflow_dispatch";
    case kEventSchedule:
      return "schedule";
  }
  return "push";
}

std::optional<uint8_t> run_event_of(std::string_view name) {
  for (uint8_t e = kEventPush; e <= kEventSchedule; ++e)
    if (name == run_event_name(e)) return e;
  return std::nullopt;
}

void encode_ci_body(Writer& w, const RequestRuns& b) {
  w.varint(b.repo_id).str(b.workflow_path).str(b.content).u8(b.event).str(b.ref).bytes(b.sha);
  w.varint(b.pull_number);
  put_inputs(w, b.inputs);
}
void encode_ci_body(Writer& w, const SetSchedules& b) {
  w.varint(b.repo_id).str(b.ref).bytes(b.sha).varint(b.workflows.size());
  for (const auto& f : b.workflows) w.str(f.path).str(f.content);
}
void encode_ci_body(Writer& w, const TriggerSchedule& b) {
  w.varint(b.repo_id).str(b.workflow_path).varint(b.slot_ms);
}
void encode_ci_body(Writer& w, const CreateRunnerToken& b) {
  w.varint(b.repo_id).fixed(b.token_key).varint(b.expires_ms);
}
void encode_ci_body(Writer& w, const RegisterRunner& b) {
  w.varint(b.repo_id).fixed(b.token_key).fixed(b.token_sig).str(b.name);
  put_strs(w, b.labels);
}
void encode_ci_body(Writer& w, const ClaimJob& b) {
  w.varint(b.job_id);
}
void encode_ci_body(Writer& w, const JobHeartbeat& b) {
  w.varint(b.job_id);
}
void encode_ci_body(Writer& w, const ReportSteps& b) {
  w.varint(b.job_id);
  put_steps(w, b.steps);
}
void encode_ci_body(Writer& w, const CompleteJob& b) {
  w.varint(b.job_id).u8(b.conclusion);
  put_steps(w, b.steps);
}
void encode_ci_body(Writer& w, const RunAction& b) {
  w.varint(b.run_id).u8(b.action);
}

template <>
RequestRuns decode_ci_body<RequestRuns>(Reader& r) {
  RequestRuns b;
  b.repo_id = r.varint();
  b.workflow_path = r.str(kMaxName, "workflow path");
  b.content = r.str(kMaxWorkflowContent, "workflow content");
  b.event = r.u8();
  b.ref = r.str(kMaxRef, "ref");
  b.sha = r.bytes(32, "sha");
  b.pull_number = r.varint();
  b.inputs = get_inputs(r);
  return b;
}
template <>
CreateRunnerToken decode_ci_body<CreateRunnerToken>(Reader& r) {
  CreateRunnerToken b;
  b.repo_id = r.varint();
  b.token_key = r.fixed<32>();
  b.expires_ms = r.varint();
  return b;
}
template <>
RegisterRunner decode_ci_body<RegisterRunner>(Reader& r) {
  RegisterRunner b;
  b.repo_id = r.varint();
  b.token_key = r.fixed<32>();
  b.token_sig = r.fixed<64>();
  b.name = r.str(kMaxName, "runner name");
  b.labels = get_strs(r, kMaxRunnerLabels, kMaxLabel, "labels");
  return b;
}
template <>
ClaimJob decode_ci_body<ClaimJob>(Reader& r) {
  return ClaimJob{r.varint()};
}
template <>
JobHeartbeat decode_ci_body<JobHeartbeat>(Reader& r) {
  return JobHeartbeat{r.varint()};
}
template <>
ReportSteps decode_ci_body<ReportSteps>(Reader& r) {
  ReportSteps b;
  b.job_id = r.varint();
  b.steps = get_steps(r);
  return b;
}
template <>
CompleteJob decode_ci_body<CompleteJob>(Reader& r) {
  CompleteJob b;
  b.job_id = r.varint();
  b.conclusion = r.u8();
  b.steps = get_steps(r);
  return b;
}
template <>
RunAction decode_ci_body<RunAction>(Reader& r) {
  RunAction b;
  b.run_id = r.varint();
  b.action = r.u8();
  return b;
}

template <>
SetSchedules decode_ci_body<SetSchedules>(Reader& r) {
  SetSchedules b;
  b.repo_id = r.varint();
  b.ref = r.str(kMaxRef, "ref");
  b.sha = r.bytes(32, "sha");
  size_t n = r.count(kMaxScheduledWorkflows, "scheduled workflows");
  for (size_t i = 0; i < n; ++i) {
    ScheduledWorkflow f;
    f.path = r.str(kMaxName, "workflow path");
    f.content = r.str(kMaxWorkflowContent, "workflow content");
    b.workflows.push_back(std::move(f));
  }
  return b;
}
template <>
TriggerSchedule decode_ci_body<TriggerSchedule>(Reader& r) {
  TriggerSchedule b;
  b.repo_id = r.varint();
  b.workflow_path = r.str(kMaxName, "workflow path");
  b.slot_ms = r.varint();
  return b;
}

Bytes runner_registration_payload(const crypto::PublicKey& runner, uint64_t repo_id) {
  Writer w;
  w.fixed(runner).varint(repo_id);
  return w.take();
}

std::string encode_run(const Run& x) {
  Writer w;
  w.u8(kRecordVersion).varint(x.id).varint(x.repo_id).str(x.workflow_path).str(x.workflow_name);
  w.u8(x.event).str(x.ref).bytes(x.sha).varint(x.pull_number).fixed(x.actor).str(x.content);
  w.u8(x.status).u8(x.conclusion).varint(x.attempt).str(x.error);
  put_u64s(w, x.jobs);
  w.varint(x.created_ms).varint(x.updated_ms).varint(x.height);
  put_inputs(w, x.inputs);
  return finish(w);
}

Run decode_run(std::string_view data) {
  Reader r(as_bytes(data));
  version(r, "run record");
  Run x;
  x.id = r.varint();
  x.repo_id = r.varint();
  x.workflow_path = r.str(kMaxName, "workflow path");
  x.workflow_name = r.str(kMaxName, "workflow name");
  x.event = r.u8();
  x.ref = r.str(kMaxRef, "ref");
  x.sha = r.bytes(32, "sha");
  x.pull_number = r.varint();
  x.actor = r.fixed<32>();
  x.content = r.str(kMaxWorkflowContent, "workflow content");
  x.status = r.u8();
  x.conclusion = r.u8();
  x.attempt = static_cast<uint32_t>(r.varint());
  x.error = r.str(kMaxRunError, "error");
  x.jobs = get_u64s(r, kMaxRunJobs, "jobs");
  x.created_ms = r.varint();
  x.updated_ms = r.varint();
  x.height = r.varint();
  x.inputs = get_inputs(r);
  r.finish();
  return x;
}

std::string encode_job(const Job& j) {
  Writer w;
  w.u8(kRecordVersion).varint(j.id).varint(j.run_id).varint(j.repo_id).str(j.key).str(j.name);
  w.varint(j.matrix.size());
  for (const auto& [k, v] : j.matrix) w.str(k).str(v);
  put_strs(w, j.runs_on);
  put_strs(w, j.needs);
  w.str(j.if_condition).varint(j.timeout_minutes).boolean(j.network);
  w.u8(j.status).u8(j.conclusion).boolean(j.ready).fixed(j.runner).varint(j.claims);
  w.varint(j.started_ms).varint(j.heartbeat_ms).varint(j.completed_ms);
  put_steps(w, j.steps);
  if (!j.results.empty()) {
    w.varint(j.results.size());
    for (const auto& x : j.results) w.fixed(x.runner).u8(x.conclusion).varint(x.completed_ms);
  }
  return finish(w);
}

Job decode_job(std::string_view data) {
  Reader r(as_bytes(data));
  version(r, "job record");
  Job j;
  j.id = r.varint();
  j.run_id = r.varint();
  j.repo_id = r.varint();
  j.key = r.str(kMaxName, "job key");
  j.name = r.str(kMaxName, "job name");
  size_t n = r.count(kMaxMatrixPairs, "matrix");
  for (size_t i = 0; i < n; ++i) {
    auto k = r.str(kMaxName, "matrix key");
    auto v = r.str(kMaxWorkflowContent, "matrix value");
    j.matrix.emplace_back(std::move(k), std::move(v));
  }
  j.runs_on = get_strs(r, kMaxRunnerLabels, kMaxLabel, "runs-on");
  j.needs = get_strs(r, 64, kMaxName, "needs");
  j.if_condition = r.str(kMaxCondition, "if");
  j.timeout_minutes = static_cast<uint32_t>(r.varint());
  j.network = r.boolean();
  j.status = r.u8();
  j.conclusion = r.u8();
  j.ready = r.boolean();
  j.runner = r.fixed<32>();
  j.claims = static_cast<uint32_t>(r.varint());
  j.started_ms = r.varint();
  j.heartbeat_ms = r.varint();
  j.completed_ms = r.varint();
  j.steps = get_steps(r);
  if (!r.done()) {
    size_t n = r.count(kMaxJobResults, "job results");
    if (n == 0) throw codec::DecodeError("job results: present only when there are any");
    for (size_t i = 0; i < n; ++i) {
      JobResult x;
      x.runner = r.fixed<32>();
      x.conclusion = r.u8();
      x.completed_ms = r.varint();
      j.results.push_back(x);
    }
  }
  r.finish();
  return j;
}

std::string encode_runner_token(const RunnerToken& t) {
  Writer w;
  w.u8(kRecordVersion).fixed(t.key).varint(t.repo_id).fixed(t.creator);
  w.varint(t.created_ms).varint(t.expires_ms);
  return finish(w);
}

RunnerToken decode_runner_token(std::string_view data) {
  Reader r(as_bytes(data));
  version(r, "runner token");
  RunnerToken t;
  t.key = r.fixed<32>();
  t.repo_id = r.varint();
  t.creator = r.fixed<32>();
  t.created_ms = r.varint();
  t.expires_ms = r.varint();
  r.finish();
  return t;
}

std::string encode_runner(const Runner& x) {
  Writer w;
  w.u8(kRecordVersion).fixed(x.key).varint(x.repo_id).str(x.name);
  put_strs(w, x.labels);
  w.fixed(x.token_creator).varint(x.registered_ms);
  return finish(w);
}

Runner decode_runner(std::string_view data) {
  Reader r(as_bytes(data));
  version(r, "runner record");
  Runner x;
  x.key = r.fixed<32>();
  x.repo_id = r.varint();
  x.name = r.str(kMaxName, "runner name");
  x.labels = get_strs(r, kMaxRunnerLabels, kMaxLabel, "labels");
  x.token_creator = r.fixed<32>();
  x.registered_ms = r.varint();
  r.finish();
  return x;
}

std::string encode_schedule(const Schedule& x) {
  Writer w;
  w.u8(kRecordVersion).varint(x.repo_id).str(x.path).str(x.content).str(x.ref).bytes(x.sha);
  w.fixed(x.actor).varint(x.registered_ms).varint(x.last_slot_ms).varint(x.last_run);
  return finish(w);
}

Schedule decode_schedule(std::string_view data) {
  Reader r(as_bytes(data));
  version(r, "schedule record");
  Schedule x;
  x.repo_id = r.varint();
  x.path = r.str(kMaxName, "workflow path");
  x.content = r.str(kMaxWorkflowContent, "workflow content");
  x.ref = r.str(kMaxRef, "ref");
  x.sha = r.bytes(32, "sha");
  x.actor = r.fixed<32>();
  x.registered_ms = r.varint();
  x.last_slot_ms = r.varint();
  x.last_run = r.varint();
  r.finish();
  return x;
}

std::string job_status_context(const Run& run, const Job& job) {
  std::string c = run.workflow_name + " / " + job.name;
  if (c.size() > 255) c.resize(255);
  return c;
}

}  // namespace guts::state
