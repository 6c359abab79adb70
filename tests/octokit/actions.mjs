// CI/CD in GitHub Actions' REST shapes (docs/ci.md "REST") with the real @octokit/rest client: a
// workflow pushed with the stock git, listRepoWorkflows / getWorkflow, createWorkflowDispatch,
// listWorkflowRunsForRepo / getWorkflowRun / listJobsForWorkflowRun / getJobForWorkflowRun,
// createRegistrationTokenForRepo and listSelfHostedRunnersForRepo, checks.listForRef / get,
// the combined status, cancelWorkflowRun / reRunWorkflow, and the runner trust policy. The
// runner's transactions (register, claim, complete) are signed by ci_tx_tool (tests/ci) and
// posted to /api/guts/transactions, so no runner binary is needed. Run by run.sh after
// releases.mjs, on the same node; leaves alice/ci-app (run 1 cancelled) for the CLI block.
import { Octokit } from "@octokit/rest";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const url = process.env.GUTS_URL;
const work = process.env.WORK;
const bin = process.env.BIN;
const baseUrl = `${url}/api/v3`;
const host = url.replace(/^http:\/\//, "");
const tokens = { alice: process.env.ALICE_TOKEN, bob: process.env.BOB_TOKEN };
const alice = new Octokit({ baseUrl, auth: tokens.alice });
const bob = new Octokit({ baseUrl, auth: tokens.bob });
const log = (s) => console.log(`# ${s}`);
const gitEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: work,
  GIT_AUTHOR_NAME: "CI Test",
  GIT_AUTHOR_EMAIL: "ci@example.com",
  GIT_COMMITTER_NAME: "CI Test",
  GIT_COMMITTER_EMAIL: "ci@example.com",
};
const git = (cwd, ...args) =>
  execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
const tool = (...args) => execFileSync(path.join(bin, "ci_tx_tool"), args, { encoding: "utf8" }).trim();
async function expectStatus(promise, status, what) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.status, status, `${what}: expected ${status}, got ${e.status} ${JSON.stringify(e.response?.data)}`);
    return e;
  }
  assert.fail(`${what}: expected HTTP ${status}, but the request succeeded`);
}

// A runner identity: signs its own transactions (kinds 54-58) through ci_tx_tool.
const chain = (await (await fetch(`${url}/api/guts/status`)).json()).chain_id;
async function runnerTx(seed, ...args) {
  const did = tool("did", seed);
  const ident = await (await fetch(`${url}/api/guts/identities/${did}`)).json();
  const tx = tool(args[0], chain, String(ident.next_nonce), seed, ...args.slice(1));
  const r = await fetch(`${url}/api/guts/transactions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ tx }),
  });
  const body = await r.json();
  assert.equal(r.status, 200, `${args[0]}: ${JSON.stringify(body)}`);
  return body;
}

const owner = "alice", repo = "ci-app";
const created = await alice.rest.repos.createForAuthenticatedUser({ name: repo });
const dir = path.join(work, repo);
fs.rmSync(dir, { recursive: true, force: true });
git(work, "init", "-q", "-b", "main", dir);
fs.mkdirSync(path.join(dir, ".guts", "workflows"), { recursive: true });
fs.writeFileSync(
  path.join(dir, ".guts", "workflows", "ci.yml"),
  `name: CI
on:
  push:
    branches: [main]
  workflow_dispatch:
jobs:
  build:
    runs-on: linux
    steps:
      - name: Build
        run: make
      - run: make test
`,
);
fs.writeFileSync(path.join(dir, ".guts", "workflows", "nightly.yml"), "name: Nightly\non: push\njobs:\n  x:\n    runs-on: linux\n    steps:\n      - run: true\n");
git(dir, "add", ".");
git(dir, "commit", "-q", "-m", "workflows");
git(dir, "push", "-q", `http://alice:${tokens.alice}@${host}/${owner}/${repo}.git`, "main");
const sha = git(dir, "rev-parse", "HEAD");

log("listRepoWorkflows / getWorkflow: the files at the default branch");
const wfs = await alice.rest.actions.listRepoWorkflows({ owner, repo });
assert.equal(wfs.data.total_count, 2);
assert.deepEqual(wfs.data.workflows.map((w) => w.path), [".guts/workflows/ci.yml", ".guts/workflows/nightly.yml"]);
const ci = wfs.data.workflows[0];
assert.equal(ci.name, "CI");
assert.equal(ci.state, "active");
assert.equal((await alice.rest.actions.getWorkflow({ owner, repo, workflow_id: "ci.yml" })).data.id, ci.id);
assert.equal((await alice.rest.actions.getWorkflow({ owner, repo, workflow_id: ci.id })).data.path, ci.path);
await expectStatus(alice.rest.actions.getWorkflow({ owner, repo, workflow_id: "nope.yml" }), 404, "unknown workflow");

log("createWorkflowDispatch: 204; readers may not; a workflow without workflow_dispatch is refused");
await expectStatus(
  bob.rest.actions.createWorkflowDispatch({ owner, repo, workflow_id: "ci.yml", ref: "main" }),
  403,
  "a reader dispatches",
);
await expectStatus(
  alice.rest.actions.createWorkflowDispatch({ owner, repo, workflow_id: "nightly.yml", ref: "main" }),
  422,
  "no workflow_dispatch trigger",
);
await expectStatus(
  alice.rest.actions.createWorkflowDispatch({ owner, repo, workflow_id: "ci.yml", ref: "no-such-branch" }),
  422,
  "unknown ref",
);
const dispatched = await alice.rest.actions.createWorkflowDispatch({
  owner, repo, workflow_id: "ci.yml", ref: "main", inputs: { level: "3" },
});
assert.equal(dispatched.status, 204);

log("listWorkflowRunsForRepo / getWorkflowRun / listJobsForWorkflowRun");
const listed = await alice.rest.actions.listWorkflowRunsForRepo({ owner, repo, event: "workflow_dispatch" });
assert.equal(listed.data.total_count, 1);
const run = listed.data.workflow_runs[0];
assert.equal(run.name, "CI");
assert.equal(run.head_sha, sha);
assert.equal(run.head_branch, "main");
assert.equal(run.status, "queued");
assert.equal(run.conclusion, null);
assert.equal(run.path, ".guts/workflows/ci.yml");
assert.equal(run.workflow_id, ci.id);
assert.equal(run.actor.login, "alice");
assert.equal(run.run_attempt, 1);
assert.equal((await alice.rest.actions.listWorkflowRunsForRepo({ owner, repo, branch: "other" })).data.total_count, 0);
assert.equal((await alice.rest.actions.listWorkflowRunsForRepo({ owner, repo, status: "completed", event: "workflow_dispatch" })).data.total_count, 0);
assert.equal((await alice.rest.actions.listWorkflowRunsForRepo({ owner, repo, head_sha: sha, event: "workflow_dispatch" })).data.total_count, 1);
assert.equal((await alice.rest.actions.listWorkflowRuns({ owner, repo, workflow_id: "ci.yml", event: "workflow_dispatch" })).data.total_count, 1);
const got = await alice.rest.actions.getWorkflowRun({ owner, repo, run_id: run.id });
assert.equal(got.data.id, run.id);
// Conditional requests: the ETag answers 304 while nothing changed.
const etag = got.headers.etag;
assert.ok(etag, "an ETag on GET");
const again = await fetch(`${baseUrl}/repos/${owner}/${repo}/actions/runs/${run.id}`, {
  headers: { "If-None-Match": etag, Authorization: `token ${tokens.alice}` },
});
assert.equal(again.status, 304);
const jobs = await alice.rest.actions.listJobsForWorkflowRun({ owner, repo, run_id: run.id });
assert.equal(jobs.data.total_count, 1);
const job = jobs.data.jobs[0];
assert.equal(job.name, "build");
assert.equal(job.status, "queued");
assert.deepEqual(job.labels, ["linux"]);
assert.deepEqual(job.steps.map((s) => [s.number, s.name, s.status]), [[1, "Build", "queued"], [2, "Run make test", "queued"]]);

log("createRegistrationTokenForRepo (admin) and a runner registering with it");
await expectStatus(bob.rest.actions.createRegistrationTokenForRepo({ owner, repo }), 403, "a reader makes a token");
const reg = await alice.rest.actions.createRegistrationTokenForRepo({ owner, repo });
assert.equal(reg.status, 201);
assert.match(reg.data.token, /^[0-9a-f]{64}$/);
assert.ok(Date.parse(reg.data.expires_at) > Date.now());
const seed = crypto.randomBytes(32).toString("hex");
const runnerDid = tool("did", seed);
await runnerTx(seed, "register", String(created.data.id), reg.data.token, "box-1", "linux,x64");
const runners = await alice.rest.actions.listSelfHostedRunnersForRepo({ owner, repo });
assert.equal(runners.data.total_count, 1);
assert.equal(runners.data.runners[0].name, "box-1");
assert.equal(runners.data.runners[0].status, "offline");
assert.deepEqual(runners.data.runners[0].labels.map((l) => l.name), ["linux", "x64"]);
assert.equal(runners.data.runners[0].key, runnerDid);
await expectStatus(bob.rest.actions.listSelfHostedRunnersForRepo({ owner, repo }), 403, "a reader lists runners");

log("the runner claims the job: in progress, runner online, a pending check run");
await runnerTx(seed, "claim", String(job.id));
const claimed = await alice.rest.actions.getJobForWorkflowRun({ owner, repo, job_id: job.id });
assert.equal(claimed.data.status, "in_progress");
assert.equal(claimed.data.runner_name, "box-1");
assert.ok(claimed.data.started_at);
const online = (await alice.rest.actions.listSelfHostedRunnersForRepo({ owner, repo })).data.runners[0];
assert.equal(online.status, "online");
assert.equal(online.busy, true);
// (A push hook may have started push runs of the same commit too: look at this job's.)
let checks = await alice.rest.checks.listForRef({ owner, repo, ref: sha });
assert.ok(checks.data.total_count >= 1);
const pending = checks.data.check_runs.find((c) => c.id === job.id);
assert.equal(pending.name, "CI / build");
assert.equal(pending.status, "in_progress");
assert.equal(pending.head_sha, sha);

log("the runner completes it: success everywhere (run, job, steps, check run, commit status)");
await runnerTx(seed, "complete", String(job.id), "success", "Build");
const done = await alice.rest.actions.getWorkflowRun({ owner, repo, run_id: run.id });
assert.equal(done.data.status, "completed");
assert.equal(done.data.conclusion, "success");
const doneJob = (await alice.rest.actions.getJobForWorkflowRun({ owner, repo, job_id: job.id })).data;
assert.equal(doneJob.conclusion, "success");
assert.deepEqual(doneJob.steps.map((s) => [s.number, s.status, s.conclusion]), [[1, "completed", "success"], [2, "completed", "skipped"]]);
checks = await alice.rest.checks.listForRef({ owner, repo, ref: "main" });
const check = checks.data.check_runs.find((c) => c.id === job.id);
assert.equal(check.conclusion, "success");
assert.equal(check.app.slug, "guts-actions");
assert.equal(check.runner.key, runnerDid);
assert.equal((await alice.rest.checks.get({ owner, repo, check_run_id: job.id })).data.conclusion, "success");
await expectStatus(alice.rest.checks.get({ owner, repo, check_run_id: 999999 }), 404, "unknown check run");
const combined = await alice.rest.repos.getCombinedStatusForRef({ owner, repo, ref: sha });
const ciStatus = combined.data.statuses.find((s) => s.context === "CI / build");
assert.equal(ciStatus.state, "success");

log("runner policy: trusting another key keeps the status but it stops counting");
const pol0 = await alice.request("GET /api/guts/repos/{owner}/{repo}/actions/policy", { baseUrl: url, owner, repo });
assert.equal(pol0.data.trust, "registered_by_admin");
const other = tool("did", crypto.randomBytes(32).toString("hex"));
await expectStatus(
  bob.request("PUT /api/guts/repos/{owner}/{repo}/actions/policy", { baseUrl: url, owner, repo, trusted_runners: [other] }),
  403,
  "a reader sets the policy",
);
await expectStatus(
  alice.request("PUT /api/guts/repos/{owner}/{repo}/actions/policy", { baseUrl: url, owner, repo, trusted_runners: ["nobody"] }),
  422,
  "an unknown runner",
);
const pol = await alice.request("PUT /api/guts/repos/{owner}/{repo}/actions/policy", {
  baseUrl: url, owner, repo, trusted_runners: [other, "box-1"],
});
assert.equal(pol.data.trust, "listed");
assert.deepEqual(pol.data.trusted_runners.map((r) => r.key), [other, runnerDid]);

log("reRunWorkflow (201) and cancelWorkflowRun (202)");
await expectStatus(bob.rest.actions.reRunWorkflow({ owner, repo, run_id: run.id }), 403, "a reader re-runs");
assert.equal((await alice.rest.actions.reRunWorkflow({ owner, repo, run_id: run.id })).status, 201);
const rerun = (await alice.rest.actions.getWorkflowRun({ owner, repo, run_id: run.id })).data;
assert.equal(rerun.run_attempt, 2);
assert.equal(rerun.status, "queued");
await expectStatus(alice.rest.actions.reRunWorkflow({ owner, repo, run_id: run.id }), 409, "re-run of an open run");
assert.equal((await alice.rest.actions.cancelWorkflowRun({ owner, repo, run_id: run.id })).status, 202);
const cancelled = (await alice.rest.actions.getWorkflowRun({ owner, repo, run_id: run.id })).data;
assert.equal(cancelled.status, "completed");
assert.equal(cancelled.conclusion, "cancelled");
await expectStatus(alice.rest.actions.cancelWorkflowRun({ owner, repo, run_id: run.id }), 409, "cancel of a completed run");
await expectStatus(alice.rest.actions.getWorkflowRun({ owner, repo, run_id: 999999 }), 404, "unknown run");

console.log("ok: actions (workflows, dispatch, runs, jobs, runners, check runs, policy, cancel, re-run)");
