// End-to-end: the real @octokit/rest client against a running guts-node (GUTS_URL), two users
// (ALICE_TOKEN, BOB_TOKEN) and the stock git client. Run by run.sh (ctest: octokit_e2e).
//
// Alice owns alice/proj; Bob forks it, pushes branches with git, opens pull requests; Alice
// reviews with inline comments and merges them with each method; the resulting history is
// checked with git. Bad input (404, 403, 405, 409, 422, 304) is checked along the way.
import { Octokit } from "@octokit/rest";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const url = process.env.GUTS_URL;
const work = process.env.WORK;
const baseUrl = `${url}/api/v3`;
const host = url.replace(/^http:\/\//, "");
const alice = new Octokit({ baseUrl, auth: process.env.ALICE_TOKEN });
const bob = new Octokit({ baseUrl, auth: process.env.BOB_TOKEN });
const anon = new Octokit({ baseUrl });
const owner = "alice";
const repo = "proj";

let step = "";
const log = (s) => {
  step = s;
  console.log(`# ${s}`);
};

const gitEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: work,
  GIT_AUTHOR_NAME: "Bob Builder",
  GIT_AUTHOR_EMAIL: "bob@example.com",
  GIT_COMMITTER_NAME: "Bob Builder",
  GIT_COMMITTER_EMAIL: "bob@example.com",
};
function git(cwd, ...args) {
  return execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}
function remote(user, token, o, r) {
  return `http://${user}:${token}@${host}/${o}/${r}.git`;
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
function commitFile(dir, file, content, message) {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), content);
  git(dir, "add", file);
  git(dir, "commit", "-q", "-m", message);
  return git(dir, "rev-parse", "HEAD");
}

async function main() {
  log("alice creates alice/proj and pushes main with git");
  const created = await alice.repos.createForAuthenticatedUser({ name: repo, description: "Octokit e2e" });
  assert.equal(created.status, 201);
  assert.equal(created.data.full_name, "alice/proj");
  const aliceDir = path.join(work, "alice-proj");
  fs.mkdirSync(aliceDir);
  git(aliceDir, "init", "-q", "-b", "main");
  commitFile(aliceDir, "README.md", "# proj\n", "Initial commit");
  commitFile(aliceDir, "conflict.txt", "base\n", "Add conflict.txt");
  git(aliceDir, "remote", "add", "origin", remote("alice", process.env.ALICE_TOKEN, owner, repo));
  git(aliceDir, "push", "-q", "origin", "main");

  log("issues: open, label, comment, react, filter, close, reopen");
  const issue = await alice.issues.create({ owner, repo, title: "Crash on start", body: "Steps: run it", labels: ["bug"] });
  assert.equal(issue.status, 201);
  assert.equal(issue.data.number, 1);
  assert.equal(issue.data.state, "open");
  assert.deepEqual(issue.data.labels.map((l) => l.name), ["bug"]);
  assert.equal(issue.data.user.login, "alice");
  const label = await alice.issues.createLabel({ owner, repo, name: "priority", color: "#ff0000", description: "Urgent" });
  assert.equal(label.status, 201);
  assert.equal(label.data.color, "ff0000");
  const added = await alice.issues.addLabels({ owner, repo, issue_number: 1, labels: ["priority"] });
  assert.deepEqual(added.data.map((l) => l.name).sort(), ["bug", "priority"]);
  const comment = await bob.issues.createComment({ owner, repo, issue_number: 1, body: "Same here" });
  assert.equal(comment.status, 201);
  assert.equal(comment.data.user.login, "bob");
  const edited = await bob.issues.updateComment({ owner, repo, comment_id: comment.data.id, body: "Same here (v2)" });
  assert.equal(edited.data.body, "Same here (v2)");
  const reaction = await bob.reactions.createForIssue({ owner, repo, issue_number: 1, content: "+1" });
  assert.equal(reaction.status, 201);
  const comments = await anon.issues.listComments({ owner, repo, issue_number: 1 });
  assert.equal(comments.data.length, 1);
  const byLabel = await anon.issues.listForRepo({ owner, repo, labels: "bug,priority" });
  assert.deepEqual(byLabel.data.map((i) => i.number), [1]);
  const got = await anon.issues.get({ owner, repo, issue_number: 1 });
  assert.equal(got.data.comments, 1);
  assert.equal(got.data.reactions["+1"], 1);
  const closed = await bob.issues.update({ owner, repo, issue_number: 1, state: "closed", state_reason: "not_planned" })
    .catch((e) => e);
  assert.equal(closed.status, 403, "bob (read) cannot close alice's issue");
  const closedByAlice = await alice.issues.update({ owner, repo, issue_number: 1, state: "closed", state_reason: "not_planned" });
  assert.equal(closedByAlice.data.state, "closed");
  assert.equal(closedByAlice.data.state_reason, "not_planned");
  const reopened = await alice.issues.update({ owner, repo, issue_number: 1, state: "open" });
  assert.equal(reopened.data.state_reason, "reopened");
  const ms = await alice.issues.createMilestone({ owner, repo, title: "v1.0" });
  await alice.issues.update({ owner, repo, issue_number: 1, milestone: ms.data.number, assignees: ["alice"] });
  const withMs = await anon.issues.get({ owner, repo, issue_number: 1 });
  assert.equal(withMs.data.milestone.title, "v1.0");
  assert.equal(withMs.data.assignee.login, "alice");

  log("bad input: 404, 403, 422, 304 — and nothing changed");
  await expectStatus(anon.issues.get({ owner, repo: "nope", issue_number: 1 }), 404, "unknown repository");
  await expectStatus(anon.issues.get({ owner, repo, issue_number: 999 }), 404, "unknown issue");
  await expectStatus(bob.issues.addLabels({ owner, repo, issue_number: 1, labels: ["wontfix"] }), 403, "bob labels");
  const e422 = await expectStatus(alice.issues.createLabel({ owner, repo, name: "bad,name" }), 422, "invalid label");
  assert.equal(e422.response.data.errors[0].field, "name");
  await expectStatus(alice.issues.create({ owner, repo, title: "big", body: "x".repeat(70000) }), 422, "huge body");
  await expectStatus(alice.issues.createLabel({ owner, repo, name: "Bug" }), 422, "duplicate label");
  const count = await anon.issues.listForRepo({ owner, repo, state: "all" });
  assert.equal(count.data.length, 1, "no issue was created by the rejected requests");
  const first = await anon.request("GET /repos/{owner}/{repo}/issues/{issue_number}", { owner, repo, issue_number: 1 });
  assert.ok(first.headers.etag, "ETag header");
  await expectStatus(
    anon.request("GET /repos/{owner}/{repo}/issues/{issue_number}", {
      owner, repo, issue_number: 1, headers: { "if-none-match": first.headers.etag },
    }),
    304, "conditional request");

  log("collaborators: bob gets triage and may label now");
  await alice.repos.addCollaborator({ owner, repo, username: "bob", permission: "triage" });
  const perm = await alice.repos.getCollaboratorPermissionLevel({ owner, repo, username: "bob" });
  assert.equal(perm.data.role_name, "triage");
  await bob.issues.addLabels({ owner, repo, issue_number: 1, labels: ["triaged"] });

  log("fork, then push branches to the fork with git");
  const fork = await bob.repos.createFork({ owner, repo });
  assert.equal(fork.status, 202);
  assert.equal(fork.data.full_name, "bob/proj");
  assert.equal(fork.data.fork, true);
  assert.equal(fork.data.parent.full_name, "alice/proj");
  const forks = await anon.repos.listForks({ owner, repo });
  assert.deepEqual(forks.data.map((f) => f.full_name), ["bob/proj"]);
  const bobDir = path.join(work, "bob-proj");
  execFileSync("git", ["clone", "-q", remote("bob", process.env.BOB_TOKEN, "bob", repo), bobDir], { env: gitEnv });
  const heads = {};
  for (const [branch, files] of Object.entries({
    "feature-merge": ["merge/a.txt", "merge/b.txt"],
    "feature-squash": ["squash/a.txt", "squash/b.txt"],
    "feature-rebase": ["rebase/a.txt", "rebase/b.txt"],
  })) {
    git(bobDir, "checkout", "-q", "-b", branch, "origin/main");
    for (const f of files) commitFile(bobDir, f, `${f}\n`.repeat(3), `Add ${f}`);
    git(bobDir, "push", "-q", "origin", branch);
    heads[branch] = git(bobDir, "rev-parse", "HEAD");
  }
  git(bobDir, "checkout", "-q", "-b", "feature-conflict", "origin/main");
  commitFile(bobDir, "conflict.txt", "bob's version\n", "Change conflict.txt (bob)");
  git(bobDir, "push", "-q", "origin", "feature-conflict");
  commitFile(aliceDir, "conflict.txt", "alice's version\n", "Change conflict.txt (alice)");
  git(aliceDir, "push", "-q", "origin", "main");

  log("pull requests from the fork: open, files, commits, review with inline comments");
  const prs = {};
  for (const branch of ["feature-merge", "feature-squash", "feature-rebase", "feature-conflict"]) {
    const pr = await bob.pulls.create({ owner, repo, title: `PR ${branch}`, body: "Please merge", head: `bob:${branch}`, base: "main" });
    assert.equal(pr.status, 201);
    assert.equal(pr.data.head.repo.full_name, "bob/proj");
    assert.equal(pr.data.base.repo.full_name, "alice/proj");
    prs[branch] = pr.data.number;
  }
  assert.equal(prs["feature-merge"], 2, "numbers are shared with issues");
  const mergePr = await anon.pulls.get({ owner, repo, pull_number: prs["feature-merge"] });
  assert.equal(mergePr.data.mergeable, true);
  assert.equal(mergePr.data.commits, 2);
  assert.equal(mergePr.data.changed_files, 2);
  assert.equal(mergePr.data.head.sha, heads["feature-merge"]);
  const conflictPr = await anon.pulls.get({ owner, repo, pull_number: prs["feature-conflict"] });
  assert.equal(conflictPr.data.mergeable, false);
  assert.equal(conflictPr.data.mergeable_state, "dirty");
  const files = await anon.pulls.listFiles({ owner, repo, pull_number: prs["feature-merge"] });
  assert.deepEqual(files.data.map((f) => f.filename), ["merge/a.txt", "merge/b.txt"]);
  assert.equal(files.data[0].status, "added");
  assert.match(files.data[0].patch, /^@@ /);
  const commits = await anon.pulls.listCommits({ owner, repo, pull_number: prs["feature-merge"] });
  assert.deepEqual(commits.data.map((c) => c.commit.message.trim()), ["Add merge/a.txt", "Add merge/b.txt"]);

  await alice.pulls.requestReviewers({ owner, repo, pull_number: prs["feature-merge"], reviewers: ["bob"] }).catch((e) => {
    // bob is the author: GitHub refuses too.
    assert.equal(e.status, 422);
  });
  const review = await alice.pulls.createReview({
    owner, repo, pull_number: prs["feature-merge"], event: "REQUEST_CHANGES", body: "Almost",
    comments: [{ path: "merge/a.txt", line: 2, side: "RIGHT", body: "Why three times?" }],
  });
  assert.equal(review.data.state, "CHANGES_REQUESTED");
  await expectStatus(
    alice.pulls.createReview({ owner, repo, pull_number: prs["feature-merge"], event: "COMMENT", body: "x",
      comments: [{ path: "not/in/diff.txt", line: 1, body: "?" }] }),
    422, "inline comment outside the diff");
  const inline = await anon.pulls.listReviewComments({ owner, repo, pull_number: prs["feature-merge"] });
  assert.equal(inline.data.length, 1);
  assert.equal(inline.data[0].path, "merge/a.txt");
  assert.equal(inline.data[0].line, 2);
  assert.equal(inline.data[0].side, "RIGHT");
  const reply = await bob.pulls.createReplyForReviewComment({
    owner, repo, pull_number: prs["feature-merge"], comment_id: inline.data[0].id, body: "It is a test",
  });
  assert.equal(reply.data.in_reply_to_id, inline.data[0].id);
  const dismissed = await alice.pulls.dismissReview({
    owner, repo, pull_number: prs["feature-merge"], review_id: review.data.id, message: "Explained",
  });
  assert.equal(dismissed.data.state, "DISMISSED");
  await expectStatus(
    bob.pulls.createReview({ owner, repo, pull_number: prs["feature-merge"], event: "APPROVE" }),
    422, "approving one's own pull request");
  const approve = await alice.pulls.createReview({ owner, repo, pull_number: prs["feature-merge"], event: "APPROVE" });
  assert.equal(approve.data.state, "APPROVED");
  const reviews = await anon.pulls.listReviews({ owner, repo, pull_number: prs["feature-merge"] });
  assert.deepEqual(reviews.data.map((r) => r.state), ["DISMISSED", "COMMENTED", "APPROVED"]);

  log("merges: 403 for bob, 409 for a stale sha, 405 on conflict, then merge / squash / rebase");
  await expectStatus(bob.pulls.merge({ owner, repo, pull_number: prs["feature-merge"] }), 403, "bob (triage) merging");
  await expectStatus(
    alice.pulls.merge({ owner, repo, pull_number: prs["feature-merge"], sha: "0".repeat(40) }), 409, "stale sha");
  const e405 = await expectStatus(alice.pulls.merge({ owner, repo, pull_number: prs["feature-conflict"] }), 405, "conflict");
  assert.equal(e405.response.data.message, "Pull Request is not mergeable");
  const mainBefore = git(aliceDir, "ls-remote", "origin", "refs/heads/main").split(/\s/)[0];

  const merged = await alice.pulls.merge({ owner, repo, pull_number: prs["feature-merge"], merge_method: "merge", sha: heads["feature-merge"] });
  assert.equal(merged.data.merged, true);
  const squashed = await alice.pulls.merge({ owner, repo, pull_number: prs["feature-squash"], merge_method: "squash" });
  const rebased = await alice.pulls.merge({ owner, repo, pull_number: prs["feature-rebase"], merge_method: "rebase" });
  await expectStatus(alice.pulls.merge({ owner, repo, pull_number: prs["feature-merge"] }), 405, "merging twice");
  const after = await anon.pulls.get({ owner, repo, pull_number: prs["feature-merge"] });
  assert.equal(after.data.merged, true);
  assert.equal(after.data.state, "closed");
  assert.equal(after.data.merged_by.login, "alice");
  assert.equal(after.data.merge_commit_sha, merged.data.sha);
  const checkMerged = await anon.request("GET /repos/{owner}/{repo}/pulls/{pull_number}/merge", { owner, repo, pull_number: prs["feature-merge"] });
  assert.equal(checkMerged.status, 204);
  const closedPrs = await anon.pulls.list({ owner, repo, state: "closed" });
  assert.equal(closedPrs.data.length, 3);

  log("the history, read with git");
  git(aliceDir, "fetch", "-q", "origin");
  const log1 = git(aliceDir, "log", "--format=%H %P|%s|%an", "--first-parent", "origin/main").split("\n");
  // newest first: two rebased commits, the squash commit, the merge commit, then main before.
  const [rb2, rb1, sq, mc] = log1.slice(0, 4).map((l) => {
    const [ids, subject, author] = l.split("|");
    const [sha, ...parents] = ids.split(" ");
    return { sha, parents, subject, author };
  });
  assert.equal(rb2.sha, rebased.data.sha);
  assert.equal(rb2.subject, "Add rebase/b.txt");
  assert.equal(rb1.subject, "Add rebase/a.txt");
  assert.equal(rb2.author, "Bob Builder", "rebase keeps the authors");
  assert.notEqual(rb2.sha, heads["feature-rebase"], "rebase rewrites the commits");
  assert.equal(rb2.parents.length, 1);
  assert.equal(sq.sha, squashed.data.sha);
  assert.equal(sq.parents.length, 1);
  assert.match(sq.subject, new RegExp(`\\(#${prs["feature-squash"]}\\)$`));
  assert.equal(mc.sha, merged.data.sha);
  assert.deepEqual(mc.parents, [mainBefore, heads["feature-merge"]]);
  assert.match(mc.subject, /^Merge pull request #2 from bob\/feature-merge/);
  assert.equal(git(aliceDir, "show", "origin/main:squash/b.txt"), "squash/b.txt\nsquash/b.txt\nsquash/b.txt");
  assert.equal(git(aliceDir, "show", "origin/main:merge/a.txt").split("\n").length, 3);
  git(aliceDir, "fsck", "--no-progress");

  log("a head that moves records a revision");
  git(bobDir, "checkout", "-q", "feature-conflict");
  git(bobDir, "fetch", "-q", remote("bob", process.env.BOB_TOKEN, owner, repo), "main");
  git(bobDir, "merge", "-q", "-X", "theirs", "-m", "Merge main", "FETCH_HEAD");
  git(bobDir, "push", "-q", "origin", "feature-conflict");
  const moved = await anon.pulls.get({ owner, repo, pull_number: prs["feature-conflict"] });
  assert.equal(moved.data.head.sha, git(bobDir, "rev-parse", "HEAD"));
  assert.equal(moved.data.revisions, 2);
  assert.equal(moved.data.mergeable, true, "mergeability follows the new head");
  await bob.pulls.update({ owner, repo, pull_number: prs["feature-conflict"], state: "closed" });
  const closedPr = await anon.pulls.get({ owner, repo, pull_number: prs["feature-conflict"] });
  assert.equal(closedPr.data.state, "closed");
  assert.equal(closedPr.data.merged, false);
  console.log("ok - octokit e2e passed");
}

main().catch((e) => {
  console.error(`not ok - step "${step}": ${e.stack || e}`);
  if (e.response) console.error(JSON.stringify(e.response.data, null, 2));
  process.exit(1);
});
