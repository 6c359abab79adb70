#include "ci/workflow.h"

#include <gtest/gtest.h>

namespace guts::ci {
namespace {

constexpr const char* kPath = ".guts/workflows/ci.yml";

Workflow ok(std::string_view text) {
  auto r = parse_workflow(kPath, text);
  if (auto* e = std::get_if<ParseError>(&r)) {
    ADD_FAILURE() << e->to_string();
    return {};
  }
  return std::get<Workflow>(r);
}

ParseError err(std::string_view text) {
  auto r = parse_workflow(kPath, text);
  if (auto* e = std::get_if<ParseError>(&r)) return *e;
  ADD_FAILURE() << "parsed:\n" << text;
  return {};
}

constexpr const char* kFull = R"(name: CI
on:
  push:
    branches: [main, 'release/**']
    tags: ['v*']
  pull_request:
    branches: [main]
  workflow_dispatch:
  schedule:
    - cron: '0 3 * * 1'
env:
  GLOBAL: one
jobs:
  build:
    runs-on: [self-hosted, linux]
    timeout-minutes: 30
    strategy:
      fail-fast: false
      matrix:
        os: [debian, alpine]
        cc: [gcc, clang]
        exclude:
          - os: alpine
            cc: clang
        include:
          - os: debian
            cc: gcc
            extra: lto
          - os: fedora
            cc: gcc
    env:
      CC: ${{ matrix.cc }}
    steps:
      - name: Build
        run: |
          echo building ${{ github.sha }}
          make
        working-directory: src
        env:
          V: "1"
      - run: make test
        if: ${{ github.event_name == 'push' }}
        continue-on-error: true
  deploy:
    needs: build
    runs-on: linux
    if: github.ref == 'refs/heads/main'
    guts:
      network: true
    steps:
      - run: ./deploy.sh ${{ secrets.DEPLOY_KEY }}
)";

TEST(CiWorkflow, ParsesTheDocumentedSubset) {
  auto wf = ok(kFull);
  EXPECT_EQ(wf.name, "CI");
  EXPECT_TRUE(wf.on.push);
  EXPECT_EQ(wf.on.push_filter.branches, (std::vector<std::string>{"main", "release/**"}));
  EXPECT_EQ(wf.on.push_filter.tags, (std::vector<std::string>{"v*"}));
  EXPECT_TRUE(wf.on.pull_request);
  EXPECT_TRUE(wf.on.workflow_dispatch);
  EXPECT_EQ(wf.on.schedule, (std::vector<std::string>{"0 3 * * 1"}));
  EXPECT_EQ(wf.env.at("GLOBAL"), "one");
  ASSERT_EQ(wf.jobs.size(), 2u);
  const auto& b = wf.jobs[0];
  EXPECT_EQ(b.id, "build");
  EXPECT_EQ(b.runs_on, (std::vector<std::string>{"self-hosted", "linux"}));
  EXPECT_EQ(b.timeout_minutes, 30u);
  EXPECT_FALSE(b.matrix.fail_fast);
  ASSERT_EQ(b.steps.size(), 2u);
  EXPECT_EQ(b.steps[0].name, "Build");
  EXPECT_EQ(b.steps[0].working_directory, "src");
  EXPECT_EQ(b.steps[0].env.at("V"), "1");
  EXPECT_EQ(b.steps[0].run, "echo building ${{ github.sha }}\nmake\n");
  EXPECT_EQ(b.steps[0].line, 34u);
  EXPECT_TRUE(b.steps[1].continue_on_error);
  const auto& d = wf.jobs[1];
  EXPECT_EQ(d.needs, (std::vector<std::string>{"build"}));
  EXPECT_TRUE(d.network);
  EXPECT_EQ(d.timeout_minutes, kDefaultTimeoutMinutes);
  EXPECT_EQ(d.if_condition, "github.ref == 'refs/heads/main'");
}

TEST(CiWorkflow, MatrixExpansionFollowsGitHub) {
  auto wf = ok(kFull);
  auto r = expand_matrix(wf, wf.jobs[0]);
  auto& jobs = std::get<std::vector<JobInstance>>(r);
  std::vector<std::string> names;
  for (const auto& j : jobs) names.push_back(j.name);
  // (debian,gcc) (debian,clang) (alpine,gcc); (alpine,clang) excluded; the first include
  // extends (debian,gcc) with extra=lto; the second matches nothing and is a new job.
  EXPECT_EQ(names, (std::vector<std::string>{"build (debian, gcc, lto)", "build (debian, clang)",
                                             "build (alpine, gcc)", "build (fedora, gcc)"}));
  EXPECT_EQ(jobs[0].matrix.at("extra"), "lto");
  EXPECT_EQ(jobs[3].matrix.at("os"), "fedora");
  auto plain = std::get<std::vector<JobInstance>>(expand_matrix(wf, wf.jobs[1]));
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].name, "deploy");
  EXPECT_TRUE(plain[0].matrix.empty());
}

TEST(CiWorkflow, MatrixNameTemplateAndLimit) {
  auto wf = ok(R"(on: push
jobs:
  t:
    name: test on ${{ matrix.os }}
    runs-on: linux
    strategy: {matrix: {os: [a, b]}}
    steps: [{run: x}]
)");
  auto jobs = std::get<std::vector<JobInstance>>(expand_matrix(wf, wf.jobs[0]));
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[1].name, "test on b");
  std::string big =
      "on: push\njobs:\n  t:\n    runs-on: x\n    steps: [{run: x}]\n"
      "    strategy:\n      matrix:\n";
  for (int axis = 0; axis < 3; ++axis) {
    big += "        a" + std::to_string(axis) + ": [";
    for (int v = 0; v < 7; ++v) big += (v ? "," : "") + std::to_string(v);
    big += "]\n";
  }
  auto e = err(big);  // 343 combinations
  EXPECT_NE(e.message.find("more than 256"), std::string::npos) << e.message;
  EXPECT_EQ(e.line, 3u);
}

TEST(CiWorkflow, OnForms) {
  EXPECT_TRUE(ok("on: push\njobs: {a: {runs-on: x, steps: [{run: y}]}}").on.push);
  auto wf = ok("on: [push, pull_request]\njobs: {a: {runs-on: x, steps: [{run: y}]}}");
  EXPECT_TRUE(wf.on.push && wf.on.pull_request && !wf.on.workflow_dispatch);
}

TEST(CiWorkflow, Triggers) {
  auto wf = ok(kFull);
  auto push = [&](std::string ref) { return triggers(wf, {Event::kPush, std::move(ref)}); };
  EXPECT_TRUE(push("refs/heads/main"));
  EXPECT_TRUE(push("refs/heads/release/1.0/rc"));
  EXPECT_FALSE(push("refs/heads/feature"));
  EXPECT_TRUE(push("refs/tags/v1.2"));
  EXPECT_FALSE(push("refs/tags/x1"));
  EXPECT_TRUE(triggers(wf, {Event::kPullRequest, "refs/heads/main"}));
  EXPECT_FALSE(triggers(wf, {Event::kPullRequest, "refs/heads/dev"}));
  EXPECT_TRUE(triggers(wf, {Event::kWorkflowDispatch, "refs/heads/dev"}));

  auto ign =
      ok("on:\n  push:\n    branches-ignore: ['wip/*', '!wip/keep']\n"
         "jobs: {a: {runs-on: x, steps: [{run: y}]}}");
  EXPECT_TRUE(triggers(ign, {Event::kPush, "refs/heads/main"}));
  EXPECT_FALSE(triggers(ign, {Event::kPush, "refs/heads/wip/x"}));
  EXPECT_TRUE(triggers(ign, {Event::kPush, "refs/heads/wip/keep"}));
  EXPECT_FALSE(triggers(ign, {Event::kPush, "refs/tags/v1"}));  // branch filters only: no tags
  EXPECT_FALSE(triggers(ign, {Event::kWorkflowDispatch, "refs/heads/main"}));

  auto neg =
      ok("on:\n  push:\n    branches: ['**', '!docs/**']\n"
         "jobs: {a: {runs-on: x, steps: [{run: y}]}}");
  EXPECT_TRUE(triggers(neg, {Event::kPush, "refs/heads/a/b"}));
  EXPECT_FALSE(triggers(neg, {Event::kPush, "refs/heads/docs/x"}));
  EXPECT_TRUE(filter_pattern_matches("v[0-9].*", "v1.x"));
  EXPECT_FALSE(filter_pattern_matches("feat/*", "feat/a/b"));
  EXPECT_TRUE(filter_pattern_matches("feat/**", "feat/a/b"));
  EXPECT_TRUE(filter_pattern_matches("f?o", "foo"));
}

struct BadCase {
  const char* text;
  uint32_t line, column;
  const char* needle;
};

TEST(CiWorkflow, ErrorsNameFileLineAndColumn) {
  const BadCase cases[] = {
      {"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: [unclosed\n", 7, 1,
       "invalid YAML"},
      {"on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n", 5, 5, "unknown key 'stepz'"},
      {"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n", 6,
       9, "'uses' steps are not supported"},
      {"on: push\njobs:\n  a:\n    runs-on: x\n    needs: b\n    steps: [{run: y}]\n", 3, 3,
       "unknown job 'b'"},
      {"on: push\njobs:\n  a:\n    runs-on: x\n    needs: b\n    steps: [{run: y}]\n"
       "  b:\n    runs-on: x\n    needs: a\n    steps: [{run: y}]\n",
       3, 3, "cyclic needs: a -> b -> a"},
      {"on: push\njobs:\n  a:\n    steps: [{run: y}]\n", 3, 3, "has no runs-on"},
      {"on: push\njobs:\n  a:\n    runs-on: x\n", 3, 3, "has no steps"},
      {"on: fork\njobs:\n  a:\n    runs-on: x\n    steps: [{run: y}]\n", 1, 5,
       "unsupported event 'fork'"},
      {"jobs:\n  a:\n    runs-on: x\n    steps: [{run: y}]\n", 1, 1, "has no 'on'"},
      {"on: push\njobs:\n  a:\n    runs-on: x\n    if: github.sha ==\n    steps: [{run: y}]\n", 5,
       9, "if: expression"},
      {"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ nope.x }}\n", 6,
       14, "unknown context"},
      {"on: push\njobs:\n  a:\n    runs-on: x\n    timeout-minutes: 0\n    steps: [{run: y}]\n", 5,
       22, "between 1 and 4320"},
      {"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: y\n        shell: sh\n", 7,
       16, "only 'shell: bash'"},
      {"on:\n  schedule:\n    - cron: 'every day'\njobs: {a: {runs-on: x, steps: [{run: y}]}}\n", 3,
       13, "is not a cron schedule: has 2 fields, not 5"},
      {"on: push\npermissions: read-all\njobs: {a: {runs-on: x, steps: [{run: y}]}}\n", 2, 1,
       "not supported yet"},
      {"- just\n- a list\n", 1, 1, "must be a mapping"},
      {"on: push\njobs:\n  a:\n    runs-on: x\n    env: {1BAD: y}\n    steps: [{run: y}]\n", 5, 11,
       "not a valid environment variable name"},
  };
  for (const auto& c : cases) {
    auto e = err(c.text);
    EXPECT_EQ(e.file, kPath);
    EXPECT_EQ(e.line, c.line) << e.to_string();
    EXPECT_EQ(e.column, c.column) << e.to_string();
    EXPECT_NE(e.message.find(c.needle), std::string::npos) << e.to_string();
    EXPECT_EQ(e.to_string().rfind(std::string(kPath) + ":" + std::to_string(c.line) + ":", 0), 0u);
  }
}

TEST(CiWorkflow, BoundedInput) {
  EXPECT_NE(err(std::string(kMaxWorkflowBytes + 1, '#')).message.find("larger than"),
            std::string::npos);
  std::string deep = "on: push\njobs: {a: {runs-on: x, steps: [{run: y}]}}\nenv: ";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  EXPECT_FALSE(err(deep).message.empty());
  // Aliases make a graph: the node budget catches exponential sharing.
  std::string laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i)
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" +
              std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
              std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + "]\n";
  EXPECT_NE(err(laughs).message.find("too many YAML nodes"), std::string::npos);
  std::string many = "on: push\njobs:\n";
  for (int i = 0; i < 70; ++i)
    many += "  j" + std::to_string(i) + ": {runs-on: x, steps: [{run: y}]}\n";
  EXPECT_NE(err(many).message.find("more than 64 jobs"), std::string::npos);
  EXPECT_NE(err(std::string("on: push\0", 9)).message.find("binary"), std::string::npos);
}

TEST(CiWorkflow, PathRules) {
  EXPECT_EQ(workflow_path_error(".guts/workflows/ci.yml"), "");
  EXPECT_EQ(workflow_path_error(".guts/workflows/build-and_test.yaml"), "");
  EXPECT_NE(workflow_path_error(".github/workflows/ci.yml"), "");
  EXPECT_NE(workflow_path_error(".guts/workflows/sub/ci.yml"), "");
  EXPECT_NE(workflow_path_error(".guts/workflows/ci.json"), "");
  EXPECT_NE(workflow_path_error(".guts/workflows/.yml"), "");
}

}  // namespace
}  // namespace guts::ci
