// Workflow files (`.guts/workflows/*.yml`): the documented subset of GitHub Actions syntax
// (docs/ci.md "Workflow syntax"), parsed with yaml-cpp into plain data, and the pure
// functions the state machine derives runs from: trigger matching and matrix expansion.
//
// Input is bounded (kMaxWorkflowBytes, nesting, node visits, counts); anything outside the
// subset (unknown keys, `uses:` steps, cyclic or unknown `needs`) is an error that names the
// file, line and column (1-based), which a run request turns into a failed run whose log is
// that message. Parsing is deterministic: the same bytes give the same Workflow on every node.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace guts::ci {

inline constexpr size_t kMaxWorkflowBytes = 64 * 1024;
inline constexpr size_t kMaxWorkflowDepth = 32;
inline constexpr size_t kMaxWorkflowNodes = 20000;  // node visits, aliases included
inline constexpr size_t kMaxJobs = 64;
inline constexpr size_t kMaxSteps = 100;
inline constexpr size_t kMaxMatrixJobs = 256;  // GitHub's limit per job
inline constexpr size_t kMaxEnvEntries = 100;
inline constexpr size_t kMaxLabels = 16;
inline constexpr size_t kMaxFilterPatterns = 100;
inline constexpr uint32_t kDefaultTimeoutMinutes = 360;
inline constexpr uint32_t kMaxTimeoutMinutes = 4320;  // 72 h
inline constexpr size_t kMaxWorkflowPath = 255;

using Env = std::map<std::string, std::string>;

// Branch/tag filters of a push or pull_request trigger. Patterns are GitHub's: `*`, `**`, `?`,
// `[...]`, and a leading `!` negates (the last matching pattern decides).
struct RefFilter {
  std::vector<std::string> branches, branches_ignore, tags, tags_ignore;
};

struct Triggers {
  bool push = false;
  RefFilter push_filter;
  bool pull_request = false;
  RefFilter pull_request_filter;  // matched against the base branch
  bool workflow_dispatch = false;
  std::vector<std::string> schedule;  // cron lines, 5 fields each
};

struct Step {
  std::string name;  // "" when not given (the API shows "Run <first line>")
  std::string run;
  std::string working_directory;
  std::string shell = "bash";
  std::string if_condition;
  bool continue_on_error = false;
  Env env;
  uint32_t timeout_minutes = 0;  // 0: the job's
  uint32_t line = 0;             // where the step starts in the file (1-based)
  bool operator==(const Step&) const = default;
};

// strategy.matrix: axes in file order, plus include/exclude entries (scalar values only).
using Pairs = std::vector<std::pair<std::string, std::string>>;  // file order
struct Matrix {
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;
  std::vector<Pairs> include, exclude;
  bool fail_fast = true;
  bool empty() const { return axes.empty() && include.empty(); }
};

struct Job {
  std::string id;    // the key under `jobs`
  std::string name;  // `name:` (may contain ${{ matrix.x }}); "" means the id
  std::vector<std::string> runs_on;
  std::vector<std::string> needs;
  Matrix matrix;
  Env env;
  uint32_t timeout_minutes = kDefaultTimeoutMinutes;
  std::string if_condition;
  bool network = false;  // `guts: { network: true }`: the sandbox may use the network
  std::vector<Step> steps;
  uint32_t line = 0;
};

struct Workflow {
  std::string path;  // ".guts/workflows/ci.yml"
  std::string name;  // `name:`, else the path
  Triggers on;
  Env env;
  std::vector<Job> jobs;  // file order; `needs` refer to ids of earlier or later jobs
  const Job* job(std::string_view id) const;
};

struct ParseError {
  std::string file;
  uint32_t line = 0, column = 0;  // 1-based; 0 when the error has no position
  std::string message;
  std::string to_string() const;  // "file:line:col: message"
};

using ParseResult = std::variant<Workflow, ParseError>;

// `path` is only used for messages and Workflow::path. Never throws.
ParseResult parse_workflow(std::string_view path, std::string_view text);

// "" when `path` is a workflow path (.guts/workflows/<name>.yml or .yaml, no subdirectory),
// else why not.
std::string workflow_path_error(std::string_view path);

// ---- events ----

struct Event {
  enum Kind { kPush, kPullRequest, kWorkflowDispatch, kSchedule } kind = kPush;
  std::string ref;  // push: the pushed ref; pull_request: the base branch ref; dispatch: the ref
};
const char* event_name(Event::Kind kind);  // "push", "pull_request", ...
std::optional<Event::Kind> event_kind_of(std::string_view name);
bool triggers(const Workflow& wf, const Event& event);
// GitHub filter pattern matching (without the `!` prefix).
bool filter_pattern_matches(std::string_view pattern, std::string_view name);

// ---- matrix ----

// One job of a run: a job with one matrix combination.
struct JobInstance {
  std::string job_id;
  std::string name;  // "build (ubuntu, 18)" for matrix jobs
  Env matrix;        // the combination (empty without a matrix)
  std::vector<std::pair<std::string, std::string>> matrix_order;  // display order
};
// Expands strategy.matrix (cartesian product of axes minus `exclude`, then `include`), in
// GitHub's order. Errors (as ParseError with the job's line) when over kMaxMatrixJobs.
std::variant<std::vector<JobInstance>, ParseError> expand_matrix(const Workflow& wf,
                                                                 const Job& job);

}  // namespace guts::ci
