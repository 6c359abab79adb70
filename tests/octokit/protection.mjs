// Branch protection and commit statuses (docs/governance.md "Branch protection") with the real
// @octokit/rest client: updateBranchProtection / getBranchProtection / deleteBranchProtection,
// createCommitStatus / listCommitStatusesForRef / getCombinedStatusForRef, and a push the rule
// refuses with the stock git client. Run by run.sh after governance.mjs, on the same node.
import { Octokit } from "@octokit/rest";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const url = process.env.GUTS_URL;
const work = process.env.WORK;
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
  GIT_AUTHOR_NAME: "Prot Test",
  GIT_AUTHOR_EMAIL: "prot@example.com",
  GIT_COMMITTER_NAME: "Prot Test",
  GIT_COMMITTER_EMAIL: "prot@example.com",
};
const git = (cwd, ...args) =>
  execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
async function expectStatus(promise, status, what) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.status, status, `${what}: expected ${status}, got ${e.status} ${JSON.stringify(e.response?.data)}`);
    return e;
  }
  assert.fail(`${what}: expected HTTP ${status}, but the request succeeded`);
}

const owner = "alice", repo = "protected-app";
await alice.rest.repos.createForAuthenticatedUser({ name: repo });
const dir = path.join(work, "protected-app");
fs.rmSync(dir, { recursive: true, force: true });
git(work, "init", "-q", "-b", "main", dir);
fs.writeFileSync(path.join(dir, "README.md"), "# protected\n");
git(dir, "add", "README.md");
git(dir, "commit", "-q", "-m", "initial");
git(dir, "push", "-q", `http://alice:${tokens.alice}@${host}/${owner}/${repo}.git`, "main");
const sha = git(dir, "rev-parse", "HEAD");

log("updateBranchProtection / getBranchProtection");
const put = await alice.rest.repos.updateBranchProtection({
  owner, repo, branch: "main",
  required_status_checks: { strict: false, contexts: ["ci/test"] },
  enforce_admins: true,
  required_pull_request_reviews: { dismiss_stale_reviews: true, required_approving_review_count: 2 },
  restrictions: null,
});
assert.equal(put.status, 200);
const got = await alice.rest.repos.getBranchProtection({ owner, repo, branch: "main" });
assert.deepEqual(got.data.required_status_checks.contexts, ["ci/test"]);
assert.equal(got.data.required_pull_request_reviews.required_approving_review_count, 2);
assert.equal(got.data.required_pull_request_reviews.dismiss_stale_reviews, true);
assert.equal(got.data.enforce_admins.enabled, true);
assert.equal(got.data.allow_force_pushes.enabled, false);
const b = await alice.rest.repos.getBranch({ owner, repo, branch: "main" });
assert.equal(b.data.protected, true);

log("403 for a reader, 422 for restrictions on a user repository, 404 for no rule");
const e403 = await expectStatus(bob.rest.repos.getBranchProtection({ owner, repo, branch: "main" }), 403, "reader");
assert.equal(e403.response.data.message, "Must have admin rights to Repository.");
await expectStatus(alice.rest.repos.updateBranchProtection({
  owner, repo, branch: "main", required_status_checks: null, enforce_admins: null,
  required_pull_request_reviews: null, restrictions: { users: ["bob"], teams: [] },
}), 422, "restrictions on a user repository");
await expectStatus(alice.rest.repos.updateBranchProtection({
  owner, repo, branch: "main", required_status_checks: null, enforce_admins: null,
  required_pull_request_reviews: { required_approving_review_count: 9 }, restrictions: null,
}), 422, "too many reviews");
await expectStatus(alice.rest.repos.getBranchProtection({ owner, repo, branch: "dev" }), 404, "no rule");

log("a direct push is refused with the rule's reason");
fs.writeFileSync(path.join(dir, "more.txt"), "more\n");
git(dir, "add", "more.txt");
git(dir, "commit", "-q", "-m", "more");
const r = spawnSync("git", ["push", `http://alice:${tokens.alice}@${host}/${owner}/${repo}.git`, "main"],
  { cwd: dir, env: gitEnv, encoding: "utf8" });
assert.notEqual(r.status, 0);
assert.match(r.stderr, /! \[remote rejected\] main -> main \(protected branch: 2 approving reviews required\)/);

log("createCommitStatus / listCommitStatusesForRef / getCombinedStatusForRef");
const st = await alice.rest.repos.createCommitStatus({
  owner, repo, sha, state: "pending", context: "ci/test", description: "running",
});
assert.equal(st.status, 201);
assert.equal(st.data.state, "pending");
let combined = await alice.rest.repos.getCombinedStatusForRef({ owner, repo, ref: "main" });
assert.equal(combined.data.state, "pending");
await alice.rest.repos.createCommitStatus({ owner, repo, sha, state: "success", context: "ci/test" });
await alice.rest.repos.createCommitStatus({ owner, repo, sha, state: "success", context: "lint" });
combined = await alice.rest.repos.getCombinedStatusForRef({ owner, repo, ref: sha });
assert.equal(combined.data.state, "success");
assert.equal(combined.data.total_count, 2);
assert.equal(combined.data.sha, sha);
const list = await alice.rest.repos.listCommitStatusesForRef({ owner, repo, ref: "main" });
assert.deepEqual(list.data.map((s) => s.context).sort(), ["ci/test", "lint"]);
await expectStatus(alice.rest.repos.createCommitStatus({ owner, repo, sha, state: "bogus" }), 422, "bad state");

log("deleteBranchProtection");
assert.equal((await alice.rest.repos.deleteBranchProtection({ owner, repo, branch: "main" })).status, 204);
await expectStatus(alice.rest.repos.getBranchProtection({ owner, repo, branch: "main" }), 404, "deleted");
git(dir, "push", "-q", `http://alice:${tokens.alice}@${host}/${owner}/${repo}.git`, "main");
log("protection: ok");
