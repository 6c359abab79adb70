// CI/CD artifacts and dispatch inputs (docs/ci.md "Artifacts") with the real @octokit/rest
// client: a runner identity (signed by ci_tx_tool, no runner binary) claims a dispatched job,
// uploads a zip to the node (X-Guts-Runner signed request) and records it (kind 71); then
// listArtifactsForRepo / listWorkflowRunArtifacts / getArtifact / downloadArtifact (the bytes
// compared) / deleteArtifact, and the run's inputs. Run by run.sh after actions.mjs.
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

const status = await (await fetch(`${url}/api/guts/status`)).json();
const chain = status.chain_id;
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

const owner = "alice", repo = "artifact-app";
const created = await alice.rest.repos.createForAuthenticatedUser({ name: repo });
const dir = path.join(work, repo);
fs.rmSync(dir, { recursive: true, force: true });
git(work, "init", "-q", "-b", "main", dir);
fs.mkdirSync(path.join(dir, ".guts", "workflows"), { recursive: true });
fs.writeFileSync(
  path.join(dir, ".guts", "workflows", "build.yml"),
  "name: Build\non: workflow_dispatch\njobs:\n  dist:\n    runs-on: linux\n    steps:\n      - run: guts-artifact upload dist dist\n",
);
git(dir, "add", ".");
git(dir, "commit", "-q", "-m", "workflow");
git(dir, "push", "-q", `http://alice:${tokens.alice}@${host}/${owner}/${repo}.git`, "main");

log("createWorkflowDispatch with inputs: carried into the run");
await alice.rest.actions.createWorkflowDispatch({
  owner, repo, workflow_id: "build.yml", ref: "main", inputs: { channel: "beta", verbose: true },
});
const runs = await alice.rest.actions.listWorkflowRunsForRepo({ owner, repo, event: "workflow_dispatch" });
assert.equal(runs.data.total_count, 1);
const run = runs.data.workflow_runs[0];
assert.deepEqual(run.inputs, { channel: "beta", verbose: "true" });
const job = (await alice.rest.actions.listJobsForWorkflowRun({ owner, repo, run_id: run.id })).data.jobs[0];

log("a runner claims the job, uploads a zip and records it (kind 71)");
const reg = await alice.rest.actions.createRegistrationTokenForRepo({ owner, repo });
const seed = crypto.randomBytes(32).toString("hex");
await runnerTx(seed, "register", String(created.data.id), reg.data.token, "box-a", "linux");
await runnerTx(seed, "claim", String(job.id));
const zip = crypto.randomBytes(70000);  // the node stores bytes; the runner makes real zips
const uploadPath = `/api/guts/runners/jobs/${job.id}/artifacts`;
const signed = (method, p) => tool("runner-header", status.node_did, chain, seed, method, p);
const up = await fetch(`${url}${uploadPath}?name=dist`, {
  method: "POST",
  headers: { "Content-Type": "application/zip", "X-Guts-Runner": signed("POST", uploadPath) },
  body: zip,
});
const upBody = await up.json();
assert.equal(up.status, 200, JSON.stringify(upBody));
const digest = crypto.createHash("sha256").update(zip).digest("hex");
assert.equal(upBody.sha256, digest);
assert.equal(upBody.size, zip.length);
const other = crypto.randomBytes(32).toString("hex");
const refused = await fetch(`${url}${uploadPath}?name=x`, {
  method: "POST",
  headers: { "X-Guts-Runner": tool("runner-header", status.node_did, chain, other, "POST", uploadPath) },
  body: zip,
});
assert.equal(refused.status, 403, "a runner that does not hold the job uploads");
await runnerTx(seed, "artifact", String(created.data.id), String(job.id), "dist", digest, String(zip.length));

log("listArtifactsForRepo / listWorkflowRunArtifacts / getArtifact");
const all = await alice.rest.actions.listArtifactsForRepo({ owner, repo });
assert.equal(all.data.total_count, 1);
const art = all.data.artifacts[0];
assert.equal(art.name, "dist");
assert.equal(art.size_in_bytes, zip.length);
assert.equal(art.expired, false);
assert.equal(art.digest, `sha256:${digest}`);
assert.equal(art.workflow_run.id, run.id);
assert.equal(art.workflow_run.head_sha, run.head_sha);
const days = (Date.parse(art.expires_at) - Date.parse(art.created_at)) / 86400000;
assert.equal(days, 90, "the default retention");
assert.equal((await alice.rest.actions.listWorkflowRunArtifacts({ owner, repo, run_id: run.id })).data.total_count, 1);
assert.equal((await alice.rest.actions.listArtifactsForRepo({ owner, repo, name: "nope" })).data.total_count, 0);
assert.equal((await bob.rest.actions.getArtifact({ owner, repo, artifact_id: art.id })).data.id, art.id);
await expectStatus(alice.rest.actions.getArtifact({ owner, repo, artifact_id: 999999 }), 404, "unknown artifact");

log("downloadArtifact: the same bytes");
const dl = await alice.rest.actions.downloadArtifact({ owner, repo, artifact_id: art.id, archive_format: "zip" });
assert.equal(dl.status, 200);
assert.ok(Buffer.from(dl.data).equals(zip), "downloaded bytes differ");

log("deleteArtifact: write permission; then gone");
await expectStatus(bob.rest.actions.deleteArtifact({ owner, repo, artifact_id: art.id }), 403, "a reader deletes");
assert.equal((await alice.rest.actions.deleteArtifact({ owner, repo, artifact_id: art.id })).status, 204);
await expectStatus(alice.rest.actions.getArtifact({ owner, repo, artifact_id: art.id }), 404, "a deleted artifact");
assert.equal((await alice.rest.actions.listArtifactsForRepo({ owner, repo })).data.total_count, 0);
await runnerTx(seed, "complete", String(job.id), "success");
log("artifacts: ok");
