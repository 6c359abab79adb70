// Merging a pull request by quorum (docs/governance.md "Merging a pull request by quorum") with
// the real @octokit/rest client and the guts CLI: main is protected and a 2-of-3 policy covers
// merging into it. `guts pr merge` (PUT .../pulls/1/merge) answers 202 with the proposal it
// created (the merger's approval first), a repeated merge by the same maintainer changes
// nothing, a reader gets 403, and the second maintainer's `pulls.merge` approves the proposal,
// which executes the merge (200, merged). Run by run.sh with BIN set, on the shared node.
import { Octokit } from "@octokit/rest";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const url = process.env.GUTS_URL;
const work = process.env.WORK;
const bin = process.env.BIN;
const baseUrl = `${url}/api/v3`;
const host = url.replace(/^http:\/\//, "");
const tokens = { alice: process.env.ALICE_TOKEN, bob: process.env.BOB_TOKEN, carol: process.env.CAROL_TOKEN, dave: process.env.DAVE_TOKEN };
const alice = new Octokit({ baseUrl, auth: tokens.alice });
const bob = new Octokit({ baseUrl, auth: tokens.bob });
const dave = new Octokit({ baseUrl, auth: tokens.dave });
const log = (s) => console.log(`# ${s}`);
const gitEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: work,
  GIT_AUTHOR_NAME: "Quorum Test",
  GIT_AUTHOR_EMAIL: "quorum@example.com",
  GIT_COMMITTER_NAME: "Quorum Test",
  GIT_COMMITTER_EMAIL: "quorum@example.com",
};
const git = (cwd, ...args) =>
  execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
const guts = (user, ...args) => {
  const r = spawnSync(path.join(bin, "guts"), ["--node", url, ...args], {
    env: { ...process.env, GUTS_HOME: path.join(work, user) }, encoding: "utf8",
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};
async function guts_api(user, method, route, body) {
  const res = await fetch(`${url}/api/guts${route}`, {
    method,
    headers: { authorization: `token ${tokens[user]}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, data: await res.json().catch(() => null) };
}
async function expectStatus(promise, status, what) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.status, status, `${what}: expected ${status}, got ${e.status} ${JSON.stringify(e.response?.data)}`);
    return e;
  }
  assert.fail(`${what}: expected HTTP ${status}, but the request succeeded`);
}

const owner = "alice", repo = "quorum-app";
await alice.rest.repos.createForAuthenticatedUser({ name: repo });
const dir = path.join(work, repo);
fs.rmSync(dir, { recursive: true, force: true });
git(work, "init", "-q", "-b", "main", dir);
fs.writeFileSync(path.join(dir, "README.md"), "# quorum\n");
git(dir, "add", "README.md");
git(dir, "commit", "-q", "-m", "initial");
const remote = `http://alice:${tokens.alice}@${host}/${owner}/${repo}.git`;
git(dir, "push", "-q", remote, "main");
const base = git(dir, "rev-parse", "HEAD");
git(dir, "checkout", "-q", "-b", "topic");
fs.writeFileSync(path.join(dir, "feature.txt"), "feature\n");
git(dir, "add", "feature.txt");
git(dir, "commit", "-q", "-m", "add feature");
git(dir, "push", "-q", remote, "topic");
const lsMain = () => git(dir, "ls-remote", remote, "refs/heads/main").split(/\s+/)[0];

log("bob and carol maintain; main is protected; merging into it needs 2 of 3 maintainers");
for (const username of ["bob", "carol"])
  await alice.rest.repos.addCollaborator({ owner, repo, username, permission: "maintain" });
await alice.rest.repos.updateBranchProtection({
  owner, repo, branch: "main", required_status_checks: null, enforce_admins: null,
  required_pull_request_reviews: null, restrictions: null,
});
const policy = await guts_api("alice", "PUT", `/repos/${owner}/${repo}/quorum`,
  { rules: [{ action: "merge_protected_branch", threshold: 2 }] });
assert.equal(policy.status, 200, JSON.stringify(policy.data));
assert.equal(policy.data.eligible.length, 3);

const pr = await alice.rest.pulls.create({ owner, repo, title: "Feature", head: "topic", base: "main" });
const pull_number = pr.data.number;

log("guts pr merge: the merge becomes a proposal with alice's approval");
const first = guts("alice", "pr", "merge", String(pull_number), "-R", `${owner}/${repo}`);
assert.equal(first.status, 0, first.out);
assert.match(first.out, /is not merged yet: merging needs a quorum/);
assert.match(first.out, /merge_protected_branch requires a proposal approved by 2 of 3 maintainers/);
assert.match(first.out, /\(1 of 2 approvals, expires /);
assert.match(first.out, /guts proposal approve \d+/);
const id = Number(first.out.match(/Proposal (\d+) /)[1]);
await expectStatus(alice.rest.pulls.checkIfMerged({ owner, repo, pull_number }), 404, "not merged yet");
assert.equal(lsMain(), base);

log("Octokit pulls.merge by alice again: 202, the same proposal, still one approval");
const again = await alice.rest.pulls.merge({ owner, repo, pull_number });
assert.equal(again.status, 202);
assert.equal(again.data.merged, false);
assert.equal(again.data.proposal.id, id);
assert.equal(again.data.proposal.approvals, 1);
assert.equal(again.data.proposal.threshold, 2);
assert.equal(again.data.proposal.state, "open");
assert.equal(again.data.proposal.action.type, "merge_protected_branch");
assert.equal(again.data.proposal.action.pull_number, pull_number);
assert.equal(again.headers.location, `${url}/api/guts/proposals/${id}`);

log("a reader may not merge (403), and the proposal is listed for the repository");
await expectStatus(dave.rest.pulls.merge({ owner, repo, pull_number }), 403, "reader merges");
const listed = await guts_api("dave", "GET", `/proposals?repo=${owner}/${repo}&state=open`);
assert.equal(listed.status, 200);
assert.deepEqual(listed.data.map((p) => p.id), [id]);

log("bob's pulls.merge approves the proposal: the merge runs (200)");
const merged = await bob.rest.pulls.merge({ owner, repo, pull_number });
assert.equal(merged.status, 200, JSON.stringify(merged.data));
assert.equal(merged.data.merged, true);
assert.equal(merged.data.proposal.state, "executed");
assert.equal(merged.data.proposal.approvals, 2);
const check = await alice.rest.pulls.checkIfMerged({ owner, repo, pull_number });
assert.equal(check.status, 204);
const branch = await alice.rest.repos.getBranch({ owner, repo, branch: "main" });
assert.equal(branch.data.commit.sha, merged.data.sha);
assert.equal(lsMain(), merged.data.sha);
const shown = guts("carol", "proposal", "show", String(id));
assert.equal(shown.status, 0, shown.out);
assert.match(shown.out, /executed/);
assert.match(shown.out, /bob approved/);
console.log("ok: quorum_merge.mjs");
