// Workflow parsing, trigger matching and matrix expansion (ci/workflow.h).
#include "ci/workflow.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "ci/cron.h"
#include "ci/expressions.h"

namespace guts::ci {

namespace {

// Thrown inside the parser only; parse_workflow turns it into a ParseError.
struct Fail {
  uint32_t line, column;
  std::string message;
};

std::pair<uint32_t, uint32_t> pos(const YAML::Node& n) {
  auto m = n.Mark();
  if (m.is_null() || m.line < 0) return {0, 0};
  return {static_cast<uint32_t>(m.line + 1), static_cast<uint32_t>(m.column + 1)};
}

[[noreturn]] void fail(const YAML::Node& at, std::string msg) {
  auto [l, c] = pos(at);
  throw Fail{l, c, std::move(msg)};
}

// Depth and size of the whole document before anything reads it (aliases can make a small
// file a large graph: every visit counts).
void check_shape(const YAML::Node& n, size_t depth, size_t& visits) {
  if (++visits > kMaxWorkflowNodes) fail(n, "the workflow has too many YAML nodes");
  if (depth > kMaxWorkflowDepth) fail(n, "the workflow is nested deeper than 32 levels");
  if (n.IsSequence()) {
    for (const auto& c : n) check_shape(c, depth + 1, visits);
  } else if (n.IsMap()) {
    for (const auto& kv : n) {
      check_shape(kv.first, depth + 1, visits);
      check_shape(kv.second, depth + 1, visits);
    }
  }
}

std::string key_of(const YAML::Node& k) {
  if (!k.IsScalar()) fail(k, "a key must be a plain string");
  return k.Scalar();
}

std::string scalar(const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar()) fail(n, what + " must be a string");
  return n.Scalar();
}

std::vector<std::string> scalars(const YAML::Node& n, const std::string& what, size_t max) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (const auto& c : n) {
      out.push_back(scalar(c, what + " entries"));
      if (out.size() > max) fail(n, what + " has more than " + std::to_string(max) + " entries");
    }
  } else {
    fail(n, what + " must be a string or a list of strings");
  }
  return out;
}

uint32_t minutes(const YAML::Node& n, const std::string& what) {
  std::string s = scalar(n, what);
  if (s.empty() || s.size() > 5 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    fail(n, what + " must be a whole number of minutes");
  uint32_t v = static_cast<uint32_t>(std::stoul(s));
  if (v < 1 || v > kMaxTimeoutMinutes) fail(n, what + " must be between 1 and 4320");
  return v;
}

bool boolean(const YAML::Node& n, const std::string& what) {
  std::string s = scalar(n, what);
  if (s == "true") return true;
  if (s == "false") return false;
  fail(n, what + " must be true or false");
}

bool env_name_ok(const std::string& k) {
  if (k.empty() || k.size() > 128) return false;
  if (std::isdigit(static_cast<unsigned char>(k[0]))) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

void check_text(const YAML::Node& at, const std::string& text, const std::string& what) {
  if (auto st = check_interpolation(text); !st.ok()) fail(at, what + ": " + st.message());
}

Env env_map(const YAML::Node& n, const std::string& what) {
  if (!n.IsMap()) fail(n, what + " must be a mapping of names to values");
  Env out;
  for (const auto& kv : n) {
    std::string k = key_of(kv.first);
    if (!env_name_ok(k)) fail(kv.first, "'" + k + "' is not a valid environment variable name");
    if (out.count(k)) fail(kv.first, "'" + k + "' is set twice");
    std::string v = kv.second.IsNull() ? "" : scalar(kv.second, what + "." + k);
    check_text(kv.second, v, what + "." + k);
    out[k] = v;
    if (out.size() > kMaxEnvEntries) fail(n, what + " has more than 100 entries");
  }
  return out;
}

[[noreturn]] void unknown_key(const YAML::Node& k, const std::string& where,
                              const std::string& allowed) {
  fail(k, "unknown key '" + k.Scalar() + "' in " + where + " (allowed: " + allowed + ")");
}

void ref_filter(const YAML::Node& n, const std::string& event, RefFilter& f) {
  if (n.IsNull()) return;
  if (!n.IsMap()) fail(n, "on." + event + " must be a mapping of filters");
  for (const auto& kv : n) {
    std::string k = key_of(kv.first);
    auto list = [&]() { return scalars(kv.second, "on." + event + "." + k, kMaxFilterPatterns); };
    if (k == "branches")
      f.branches = list();
    else if (k == "branches-ignore")
      f.branches_ignore = list();
    else if (k == "tags" && event == "push")
      f.tags = list();
    else if (k == "tags-ignore" && event == "push")
      f.tags_ignore = list();
    else if (k == "types" && event == "pull_request")
      (void)list();  // activity types: every supported type (opened, synchronize) runs
    else
      unknown_key(kv.first, "on." + event,
                  event == "push" ? "branches, branches-ignore, tags, tags-ignore"
                                  : "branches, branches-ignore, types");
  }
  if (!f.branches.empty() && !f.branches_ignore.empty())
    fail(n, "on." + event + ": branches and branches-ignore cannot both be used");
  if (!f.tags.empty() && !f.tags_ignore.empty())
    fail(n, "on." + event + ": tags and tags-ignore cannot both be used");
}

void one_trigger(const std::string& name, const YAML::Node& value, const YAML::Node& at,
                 Triggers& t) {
  if (name == "push") {
    t.push = true;
    ref_filter(value, "push", t.push_filter);
  } else if (name == "pull_request") {
    t.pull_request = true;
    ref_filter(value, "pull_request", t.pull_request_filter);
  } else if (name == "workflow_dispatch") {
    t.workflow_dispatch = true;
    if (!value.IsNull() && !value.IsMap()) fail(value, "on.workflow_dispatch must be a mapping");
    if (value.IsMap())
      for (const auto& kv : value)
        if (key_of(kv.first) != "inputs") unknown_key(kv.first, "on.workflow_dispatch", "inputs");
  } else if (name == "schedule") {
    if (!value.IsSequence()) fail(value.IsNull() ? at : value, "on.schedule must be a list");
    for (const auto& e : value) {
      if (!e.IsMap() || e.size() != 1 || !e["cron"])
        fail(e, "each on.schedule entry must be {cron: '<5 fields>'}");
      std::string cron = scalar(e["cron"], "cron");
      std::string why;
      if (!parse_cron(cron, &why)) fail(e["cron"], "'" + cron + "' is not a cron schedule: " + why);
      t.schedule.push_back(cron);
      if (t.schedule.size() > 10) fail(value, "on.schedule has more than 10 entries");
    }
  } else {
    fail(at, "unsupported event '" + name +
                 "' (supported: push, pull_request, workflow_dispatch, schedule)");
  }
}

Triggers triggers_of(const YAML::Node& n) {
  Triggers t;
  if (n.IsScalar()) {
    one_trigger(n.Scalar(), YAML::Node(), n, t);
  } else if (n.IsSequence()) {
    for (const auto& e : n) one_trigger(scalar(e, "on entries"), YAML::Node(), e, t);
  } else if (n.IsMap()) {
    for (const auto& kv : n) one_trigger(key_of(kv.first), kv.second, kv.first, t);
  } else {
    fail(n, "'on' must name at least one event");
  }
  return t;
}

Matrix matrix_of(const YAML::Node& n) {
  Matrix m;
  if (!n.IsMap()) fail(n, "strategy.matrix must be a mapping");
  auto entries = [&](const YAML::Node& list, const std::string& what) {
    if (!list.IsSequence()) fail(list, "strategy.matrix." + what + " must be a list of mappings");
    std::vector<Pairs> out;
    for (const auto& e : list) {
      if (!e.IsMap()) fail(e, "strategy.matrix." + what + " entries must be mappings");
      Pairs one;
      for (const auto& kv : e) {
        std::string k = key_of(kv.first);
        for (const auto& [have, v] : one)
          if (have == k) fail(kv.first, "matrix key '" + k + "' is set twice");
        one.emplace_back(k, scalar(kv.second, "matrix values"));
      }
      out.push_back(std::move(one));
      if (out.size() > kMaxMatrixJobs) fail(list, "strategy.matrix." + what + " is too long");
    }
    return out;
  };
  for (const auto& kv : n) {
    std::string k = key_of(kv.first);
    if (k == "include") {
      m.include = entries(kv.second, "include");
    } else if (k == "exclude") {
      m.exclude = entries(kv.second, "exclude");
    } else {
      if (!kv.second.IsSequence())
        fail(kv.second, "strategy.matrix." + k + " must be a list of values");
      std::vector<std::string> values;
      for (const auto& v : kv.second) values.push_back(scalar(v, "matrix values"));
      if (values.empty()) fail(kv.second, "strategy.matrix." + k + " is empty");
      if (values.size() > kMaxMatrixJobs) fail(kv.second, "strategy.matrix." + k + " is too long");
      m.axes.emplace_back(k, std::move(values));
      if (m.axes.size() > 16) fail(n, "strategy.matrix has more than 16 axes");
    }
  }
  return m;
}

Step step_of(const YAML::Node& n) {
  if (!n.IsMap()) fail(n, "a step must be a mapping");
  Step s;
  s.line = pos(n).first;
  bool has_run = false;
  for (const auto& kv : n) {
    std::string k = key_of(kv.first);
    const auto& v = kv.second;
    if (k == "name") {
      s.name = scalar(v, "step name");
      check_text(v, s.name, "step name");
    } else if (k == "run") {
      s.run = scalar(v, "run");
      check_text(v, s.run, "run");
      has_run = true;
    } else if (k == "working-directory") {
      s.working_directory = scalar(v, "working-directory");
      check_text(v, s.working_directory, "working-directory");
    } else if (k == "shell") {
      s.shell = scalar(v, "shell");
      if (s.shell != "bash") fail(v, "only 'shell: bash' is supported");
    } else if (k == "if") {
      s.if_condition = scalar(v, "if");
      if (auto st = check_condition(s.if_condition); !st.ok()) fail(v, "if: " + st.message());
    } else if (k == "env") {
      s.env = env_map(v, "env");
    } else if (k == "continue-on-error") {
      s.continue_on_error = boolean(v, "continue-on-error");
    } else if (k == "timeout-minutes") {
      s.timeout_minutes = minutes(v, "timeout-minutes");
    } else if (k == "id") {
      (void)scalar(v, "id");
    } else if (k == "uses") {
      fail(kv.first, "'uses' steps are not supported: use 'run'");
    } else {
      unknown_key(kv.first, "a step",
                  "name, run, working-directory, shell, if, env, continue-on-error, "
                  "timeout-minutes, id");
    }
  }
  if (!has_run) fail(n, "a step needs 'run'");
  return s;
}

bool job_id_ok(const std::string& id) {
  if (id.empty() || id.size() > 100) return false;
  if (!std::isalpha(static_cast<unsigned char>(id[0])) && id[0] != '_') return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

Job job_of(const std::string& id, const YAML::Node& idnode, const YAML::Node& n) {
  if (!job_id_ok(id))
    fail(idnode, "'" + id + "' is not a valid job id (letters, digits, '-', '_'; ≤ 100)");
  if (!n.IsMap()) fail(n.IsNull() ? idnode : n, "job '" + id + "' must be a mapping");
  Job j;
  j.id = id;
  j.line = pos(idnode).first;
  bool has_steps = false;
  for (const auto& kv : n) {
    std::string k = key_of(kv.first);
    const auto& v = kv.second;
    if (k == "name") {
      j.name = scalar(v, "job name");
      check_text(v, j.name, "job name");
    } else if (k == "runs-on") {
      j.runs_on = scalars(v, "runs-on", kMaxLabels);
      if (j.runs_on.empty()) fail(v, "runs-on names no label");
      for (const auto& l : j.runs_on)
        if (l.empty() || l.size() > 64 || l.find("${{") != std::string::npos)
          fail(v, "runs-on labels must be plain names of 1-64 bytes");
    } else if (k == "needs") {
      j.needs = scalars(v, "needs", kMaxJobs);
    } else if (k == "strategy") {
      if (!v.IsMap()) fail(v, "strategy must be a mapping");
      for (const auto& s : v) {
        std::string sk = key_of(s.first);
        if (sk == "matrix") {
          bool ff = j.matrix.fail_fast;
          j.matrix = matrix_of(s.second);
          j.matrix.fail_fast = ff;
        } else if (sk == "fail-fast")
          j.matrix.fail_fast = boolean(s.second, "fail-fast");
        else if (sk == "max-parallel")
          (void)minutes(s.second, "max-parallel");
        else
          unknown_key(s.first, "strategy", "matrix, fail-fast, max-parallel");
      }
    } else if (k == "env") {
      j.env = env_map(v, "env");
    } else if (k == "timeout-minutes") {
      j.timeout_minutes = minutes(v, "timeout-minutes");
    } else if (k == "if") {
      j.if_condition = scalar(v, "if");
      if (auto st = check_condition(j.if_condition); !st.ok()) fail(v, "if: " + st.message());
    } else if (k == "guts") {
      if (!v.IsMap()) fail(v, "guts must be a mapping");
      for (const auto& g : v) {
        if (key_of(g.first) != "network") unknown_key(g.first, "guts", "network");
        j.network = boolean(g.second, "guts.network");
      }
    } else if (k == "steps") {
      if (!v.IsSequence()) fail(v, "steps must be a list");
      for (const auto& s : v) {
        j.steps.push_back(step_of(s));
        if (j.steps.size() > kMaxSteps) fail(s, "a job has more than 100 steps");
      }
      has_steps = true;
    } else {
      unknown_key(kv.first, "job '" + id + "'",
                  "name, runs-on, needs, strategy, env, timeout-minutes, if, steps, guts");
    }
  }
  if (j.runs_on.empty()) fail(idnode, "job '" + id + "' has no runs-on");
  if (!has_steps || j.steps.empty()) fail(idnode, "job '" + id + "' has no steps");
  return j;
}

void check_needs(const Workflow& wf, const std::map<std::string, YAML::Node>& at) {
  for (const auto& j : wf.jobs)
    for (const auto& need : j.needs) {
      if (need == j.id) fail(at.at(j.id), "job '" + j.id + "' needs itself");
      if (!wf.job(need)) fail(at.at(j.id), "job '" + j.id + "' needs unknown job '" + need + "'");
    }
  // Cycles: depth-first search with colors; the first job on a cycle names it.
  std::map<std::string, int> color;
  std::vector<std::string> stack;
  std::function<void(const Job&)> visit = [&](const Job& j) {
    color[j.id] = 1;
    stack.push_back(j.id);
    for (const auto& need : j.needs) {
      if (color[need] == 1) {
        std::string cycle;
        auto it = std::find(stack.begin(), stack.end(), need);
        for (; it != stack.end(); ++it) cycle += *it + " -> ";
        fail(at.at(need), "cyclic needs: " + cycle + need);
      }
      if (color[need] == 0) visit(*wf.job(need));
    }
    stack.pop_back();
    color[j.id] = 2;
  };
  for (const auto& j : wf.jobs)
    if (color[j.id] == 0) visit(j);
}

Workflow parse(std::string_view path, std::string_view text) {
  if (text.size() > kMaxWorkflowBytes)
    throw Fail{0, 0, "the workflow file is larger than 65536 bytes"};
  if (text.find('\0') != std::string_view::npos) throw Fail{0, 0, "the workflow file is binary"};
  YAML::Node root = YAML::Load(std::string(text));
  size_t visits = 0;
  check_shape(root, 0, visits);
  if (!root.IsMap()) fail(root, "a workflow must be a mapping with 'on' and 'jobs'");
  Workflow wf;
  wf.path = std::string(path);
  bool has_on = false, has_jobs = false;
  std::map<std::string, YAML::Node> job_nodes;
  for (const auto& kv : root) {
    std::string k = key_of(kv.first);
    const auto& v = kv.second;
    if (k == "name") {
      wf.name = scalar(v, "name");
      if (wf.name.size() > 200) fail(v, "name is longer than 200 bytes");
    } else if (k == "on") {
      wf.on = triggers_of(v);
      has_on = true;
    } else if (k == "env") {
      wf.env = env_map(v, "env");
    } else if (k == "jobs") {
      if (!v.IsMap() || v.size() == 0) fail(v, "jobs must be a non-empty mapping");
      for (const auto& jk : v) {
        std::string id = key_of(jk.first);
        if (job_nodes.count(id)) fail(jk.first, "job '" + id + "' is defined twice");
        job_nodes[id] = jk.first;
        wf.jobs.push_back(job_of(id, jk.first, jk.second));
        if (wf.jobs.size() > kMaxJobs) fail(jk.first, "a workflow has more than 64 jobs");
      }
      has_jobs = true;
    } else if (k == "run-name" || k == "permissions" || k == "concurrency" || k == "defaults") {
      fail(kv.first, "'" + k + "' is not supported yet (docs/ci.md)");
    } else {
      unknown_key(kv.first, "the workflow", "name, on, env, jobs");
    }
  }
  if (!has_on) fail(root, "the workflow has no 'on'");
  if (!has_jobs) fail(root, "the workflow has no 'jobs'");
  if (wf.name.empty()) wf.name = std::string(path);
  check_needs(wf, job_nodes);
  for (const auto& j : wf.jobs) {
    auto r = expand_matrix(wf, j);
    if (auto* e = std::get_if<ParseError>(&r)) throw Fail{e->line, e->column, e->message};
  }
  return wf;
}

// A glob: `**` any run, `*` any run without '/', `?` one character except '/', `[...]` a
// class (`[!...]` negated, `a-z` ranges). Memoized over (pattern, name) positions: O(|p|·|s|).
bool glob(std::string_view p, std::string_view s) {
  if (p.size() > 1024 || s.size() > 1024) return false;
  std::vector<int8_t> memo((p.size() + 1) * (s.size() + 1), -1);
  std::function<bool(size_t, size_t)> m = [&](size_t pi, size_t si) -> bool {
    int8_t& cell = memo[pi * (s.size() + 1) + si];
    if (cell >= 0) return cell;
    bool r = false;
    if (pi == p.size()) {
      r = si == s.size();
    } else if (p[pi] == '*') {
      bool dbl = pi + 1 < p.size() && p[pi + 1] == '*';
      size_t next = pi + (dbl ? 2 : 1);
      // Zero characters, or one more character (not '/' for a single star).
      r = m(next, si) || (si < s.size() && (dbl || s[si] != '/') && m(pi, si + 1));
    } else if (si < s.size()) {
      char c = p[pi];
      if (c == '?') {
        r = s[si] != '/' && m(pi + 1, si + 1);
      } else if (c == '[' && p.find(']', pi + 1) != std::string_view::npos) {
        size_t close = p.find(']', pi + 1);
        auto cls = p.substr(pi + 1, close - pi - 1);
        bool neg = !cls.empty() && cls[0] == '!';
        if (neg) cls.remove_prefix(1);
        bool hit = false;
        for (size_t k = 0; k < cls.size(); ++k) {
          if (k + 2 < cls.size() && cls[k + 1] == '-') {
            if (s[si] >= cls[k] && s[si] <= cls[k + 2]) hit = true;
            k += 2;
          } else if (cls[k] == s[si]) {
            hit = true;
          }
        }
        r = hit != neg && m(close + 1, si + 1);
      } else {
        r = c == s[si] && m(pi + 1, si + 1);
      }
    }
    cell = r ? 1 : 0;
    return r;
  };
  return m(0, 0);
}

// GitHub's rule for a pattern list with negations: the last matching pattern decides.
bool list_matches(const std::vector<std::string>& patterns, std::string_view name) {
  bool result = false;
  for (const auto& p : patterns) {
    if (!p.empty() && p[0] == '!') {
      if (glob(std::string_view(p).substr(1), name)) result = false;
    } else if (glob(p, name)) {
      result = true;
    }
  }
  return result;
}

bool filter_allows(const std::vector<std::string>& only, const std::vector<std::string>& ignore,
                   std::string_view name) {
  if (!only.empty()) return list_matches(only, name);
  if (!ignore.empty()) return !list_matches(ignore, name);
  return true;
}

}  // namespace

const Job* Workflow::job(std::string_view id) const {
  for (const auto& j : jobs)
    if (j.id == id) return &j;
  return nullptr;
}

std::string ParseError::to_string() const {
  std::string out = file;
  if (line) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  return out + ": " + message;
}

ParseResult parse_workflow(std::string_view path, std::string_view text) {
  try {
    return parse(path, text);
  } catch (const Fail& f) {
    return ParseError{std::string(path), f.line, f.column, f.message};
  } catch (const YAML::Exception& e) {
    uint32_t l = e.mark.is_null() ? 0 : static_cast<uint32_t>(e.mark.line + 1);
    uint32_t c = e.mark.is_null() ? 0 : static_cast<uint32_t>(e.mark.column + 1);
    return ParseError{std::string(path), l, c, "invalid YAML: " + e.msg};
  } catch (const std::exception& e) {
    return ParseError{std::string(path), 0, 0, std::string("invalid workflow: ") + e.what()};
  }
}

std::string workflow_path_error(std::string_view path) {
  constexpr std::string_view kDir = ".guts/workflows/";
  if (path.size() > kMaxWorkflowPath) return "is longer than 255 bytes";
  if (path.substr(0, kDir.size()) != kDir) return "must be under .guts/workflows/";
  auto name = path.substr(kDir.size());
  auto ends = [&](std::string_view s) {
    return name.size() > s.size() && name.substr(name.size() - s.size()) == s;
  };
  if (!ends(".yml") && !ends(".yaml")) return "must end in .yml or .yaml";
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return "the file name may hold letters, digits, '-', '_' and '.' only";
  if (name[0] == '.') return "the file name must not start with '.'";
  return "";
}

const char* event_name(Event::Kind kind) {
  switch (kind) {
    case Event::kPush:
      return "push";
    case Event::kPullRequest:
      return "pull_request";
    case Event::kWorkflowDispatch:
      return "workflow_dispatch";
    case Event::kSchedule:
      return "schedule";
  }
  return "push";
}

std::optional<Event::Kind> event_kind_of(std::string_view name) {
  for (auto k : {Event::kPush, Event::kPullRequest, Event::kWorkflowDispatch, Event::kSchedule})
    if (name == event_name(k)) return k;
  return std::nullopt;
}

bool filter_pattern_matches(std::string_view pattern, std::string_view name) {
  return glob(pattern, name);
}

bool triggers(const Workflow& wf, const Event& ev) {
  constexpr std::string_view kHeads = "refs/heads/", kTags = "refs/tags/";
  std::string_view ref = ev.ref;
  switch (ev.kind) {
    case Event::kPush: {
      if (!wf.on.push) return false;
      const auto& f = wf.on.push_filter;
      bool has_branch = !f.branches.empty() || !f.branches_ignore.empty();
      bool has_tag = !f.tags.empty() || !f.tags_ignore.empty();
      if (ref.substr(0, kHeads.size()) == kHeads) {
        if (!has_branch) return !has_tag;
        return filter_allows(f.branches, f.branches_ignore, ref.substr(kHeads.size()));
      }
      if (ref.substr(0, kTags.size()) == kTags) {
        if (!has_tag) return !has_branch;
        return filter_allows(f.tags, f.tags_ignore, ref.substr(kTags.size()));
      }
      return false;
    }
    case Event::kPullRequest: {
      if (!wf.on.pull_request) return false;
      auto base = ref.substr(0, kHeads.size()) == kHeads ? ref.substr(kHeads.size()) : ref;
      const auto& f = wf.on.pull_request_filter;
      return filter_allows(f.branches, f.branches_ignore, base);
    }
    case Event::kWorkflowDispatch:
      return wf.on.workflow_dispatch;
    case Event::kSchedule:
      return !wf.on.schedule.empty();
  }
  return false;
}

std::variant<std::vector<JobInstance>, ParseError> expand_matrix(const Workflow& wf,
                                                                 const Job& job) {
  auto err = [&](std::string msg) { return ParseError{wf.path, job.line, 1, std::move(msg)}; };
  const Matrix& m = job.matrix;
  using Combo = std::vector<std::pair<std::string, std::string>>;
  std::vector<Combo> combos;
  if (!m.axes.empty()) {
    combos.push_back({});
    for (const auto& [axis, values] : m.axes) {
      std::vector<Combo> next;
      for (const auto& c : combos)
        for (const auto& v : values) {
          Combo n = c;
          n.emplace_back(axis, v);
          next.push_back(std::move(n));
          if (next.size() > kMaxMatrixJobs * 4)
            return err("job '" + job.id + "': the matrix has more than 256 combinations");
        }
      combos = std::move(next);
    }
  }
  auto get = [](const Combo& c, const std::string& k) -> const std::string* {
    for (const auto& [ck, cv] : c)
      if (ck == k) return &cv;
    return nullptr;
  };
  // exclude: drop every combination that matches all of an entry's keys.
  for (const auto& ex : m.exclude) {
    std::erase_if(combos, [&](const Combo& c) {
      for (const auto& [k, v] : ex) {
        const auto* have = get(c, k);
        if (!have || *have != v) return false;
      }
      return true;
    });
  }
  // include: extend every original combination the entry agrees with on the original axes
  // (without overwriting an original value); an entry that extends none is a new job.
  std::set<std::string> axis_names;
  for (const auto& a : m.axes) axis_names.insert(a.first);
  size_t originals = combos.size();
  for (const auto& inc : m.include) {
    bool used = false;
    for (size_t i = 0; i < originals; ++i) {
      Combo& c = combos[i];
      bool agrees = true;
      for (const auto& [k, v] : inc)
        if (axis_names.count(k)) {
          const auto* have = get(c, k);
          if (!have || *have != v) agrees = false;
        }
      if (!agrees) continue;
      used = true;
      for (const auto& [k, v] : inc) {
        if (axis_names.count(k)) continue;
        bool found = false;
        for (auto& [ck, cv] : c)
          if (ck == k) cv = v, found = true;
        if (!found) c.emplace_back(k, v);
      }
    }
    if (!used) combos.push_back(Combo(inc.begin(), inc.end()));
  }
  if (combos.size() > kMaxMatrixJobs)
    return err("job '" + job.id + "': the matrix has more than 256 combinations");
  if (!m.empty() && combos.empty()) return err("job '" + job.id + "': the matrix is empty");
  std::vector<JobInstance> out;
  if (combos.empty()) combos.push_back({});
  for (const auto& c : combos) {
    JobInstance ji;
    ji.job_id = job.id;
    ji.matrix_order = c;
    for (const auto& [k, v] : c) ji.matrix[k] = v;
    if (!job.name.empty()) {
      ExprContext ctx;
      ctx.matrix = ji.matrix;
      ctx.env = wf.env;
      auto n = interpolate(job.name, ctx);
      ji.name = n.ok() ? *n : job.name;
    } else {
      ji.name = job.id;
    }
    if (!c.empty() && job.name.find("${{") == std::string::npos) {
      std::string vals;
      for (const auto& [k, v] : c) vals += (vals.empty() ? "" : ", ") + v;
      ji.name += " (" + vals + ")";
    }
    if (ji.name.size() > 200) ji.name.resize(200);
    out.push_back(std::move(ji));
  }
  return out;
}

}  // namespace guts::ci
