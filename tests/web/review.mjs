// Browser test of review and merge (docs/web.md "Review and merge in the browser"): Debian's
// chromium driven by playwright-core against a running guts-node (run.sh). alice pushes a
// repository with the stock git, including a file whose name and content hold <script>, '"' and
// invalid UTF-8; the blame page names the right commit per line; she opens a pull request from
// the compare page; bob (a writer) switches the files tab to the split diff, comments on a line
// (pending) and submits an approving review; the merge box shows the protection's required
// approval met; alice squash-merges; the pull request is merged and `git ls-remote` shows main
// at the squash commit. Nothing user-controlled executes anywhere (no dialog, no console error).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const base = process.env.GUTS_URL;
const work = process.env.WORK;
const token = process.env.ALICE_TOKEN;
const bin = process.env.GUTS_BIN;
const host = new URL(base).host;
let step = "";
const shots = process.env.SCREENSHOT_DIR;
async function shot(page, name) {
  if (shots) await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}
const log = (s) => {
  step = s;
  console.log(`# ${s}`);
};
const gitEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: work,
  GIT_AUTHOR_NAME: "Alice",
  GIT_AUTHOR_EMAIL: "alice@example.com",
  GIT_COMMITTER_NAME: "Alice",
  GIT_COMMITTER_EMAIL: "alice@example.com",
};
function git(cwd, ...args) {
  return execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}
function guts(home, ...args) {
  return execFileSync(path.join(bin, "guts"), ["--node", base, ...args], {
    env: { ...process.env, GUTS_HOME: path.join(work, home) },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}
async function api(method, url, body, auth = token) {
  const r = await fetch(base + url, {
    method,
    headers: { Authorization: `token ${auth}`, "Content-Type": "application/json", Accept: "application/vnd.github+json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, data: await r.json().catch(() => null) };
}
async function until(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const hostileName = '<script>alert(1)<b>"><img src=x onerror=alert(6)>.txt';

async function main() {
  log("bob signs up with the CLI; alice creates alice/rev, makes bob a writer, protects main");
  guts("bob", "identity", "new");
  guts("bob", "auth", "login", "--username", "bob");
  const bobToken = JSON.parse(fs.readFileSync(path.join(work, "bob", "config.json"), "utf8")).logins[base].token;
  let r = await api("POST", "/api/v3/user/repos", { name: "rev" });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  r = await api("PUT", "/api/v3/repos/alice/rev/collaborators/bob", { permission: "push" });
  assert.ok(r.status === 201 || r.status === 204, JSON.stringify(r.data));

  log("alice pushes main (two commits) and a feature branch with the stock git");
  const dir = path.join(work, "rev");
  fs.mkdirSync(dir);
  git(dir, "init", "-q", "-b", "main");
  fs.writeFileSync(path.join(dir, "app.c"), "int one;\nint two;\nint three;\nint four;\n");
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "First");
  const first = git(dir, "rev-parse", "HEAD");
  fs.writeFileSync(path.join(dir, "app.c"), "int one;\nint TWO;\nint three;\nint four;\n");
  git(dir, "commit", "-q", "-am", "Second");
  const second = git(dir, "rev-parse", "HEAD");
  git(dir, "remote", "add", "origin", `http://alice:${token}@${host}/alice/rev.git`);
  git(dir, "push", "-q", "origin", "main");
  git(dir, "checkout", "-q", "-b", "feature");
  fs.writeFileSync(path.join(dir, "app.c"), "int one;\nint TWO;\nint 3;\nint 4;\nint five;\n");
  fs.writeFileSync(path.join(dir, hostileName), "<script>alert(2)</script>\n\"quoted\" <img src=x onerror=alert(3)>\n");
  // Invalid UTF-8 in a file name and in content.
  fs.writeFileSync(Buffer.concat([Buffer.from(dir + "/bad-"), Buffer.from([0xff, 0xfe]), Buffer.from(".txt")]),
    Buffer.concat([Buffer.from("bytes: "), Buffer.from([0xc0, 0xaf, 0xff]), Buffer.from("\n")]));
  fs.writeFileSync(path.join(dir, "logo.bin"), Buffer.from([0, 1, 2, 0, 255, 0]));
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "Feature <b>bold</b>");
  git(dir, "commit", "-q", "--allow-empty", "-m", "Second feature commit");
  git(dir, "push", "-q", "origin", "feature");
  r = await api("PUT", "/api/v3/repos/alice/rev/branches/main/protection", {
    required_status_checks: null,
    enforce_admins: false,
    required_pull_request_reviews: { required_approving_review_count: 1 },
    restrictions: null,
  });
  assert.equal(r.status, 200, JSON.stringify(r.data));

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  const problems = [];
  const watch = (page, name) => {
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`${name}: console error: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
    page.on("dialog", async (d) => {
      problems.push(`${name}: a dialog opened: ${d.message()}`);
      await d.dismiss();
    });
  };
  async function signIn(ctx, tok, who) {
    const page = await ctx.newPage();
    watch(page, who);
    await page.goto(base + "/-/signin");
    await page.fill("input[name=token]", tok);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(base + "/");
    await page.locator("header a.me", { hasText: who }).waitFor();
    return page;
  }
  try {
    const actx = await browser.newContext();
    const alice = await signIn(actx, token, "alice");

    log("blame: each line names the commit that last changed it; linked from the blob view");
    await alice.goto(base + "/alice/rev/blob/main/app.c");
    await alice.click("#blame-link");
    await alice.waitForURL(base + "/alice/rev/blame/main/app.c");
    const blameOf = async (n) => {
      // The commit cell is on the first line of each hunk: walk up to it.
      for (let i = n; i >= 1; --i) {
        const a = alice.locator(`tr#L${i} a.blame-sha`);
        if (await a.count()) return (await a.getAttribute("href")).split("/").pop();
      }
      return "";
    };
    assert.equal(await blameOf(1), first);
    assert.equal(await blameOf(2), second);
    assert.equal(await blameOf(3), first);
    await shot(alice, "blame");

    log("compare main...feature: commits, the diff, and the new pull request form");
    await alice.goto(base + "/alice/rev/compare/main...feature");
    await alice.locator("#compare-status", { hasText: "2 commits ahead" }).waitFor();
    await alice.locator(".commits strong", { hasText: "Feature <b>bold</b>" }).waitFor();
    await alice.locator(".diff-file code", { hasText: hostileName }).waitFor();
    await alice.locator(".diff-file .note", { hasText: "Binary file not shown" }).waitFor();
    await shot(alice, "compare");
    await alice.fill("#new-pull input[name=title]", "Feature with <script>alert(4)</script>");
    await alice.fill("#new-pull textarea[name=body]", "Please review.");
    await alice.click("#submit-pull");
    await alice.waitForURL(/\/alice\/rev\/pull\/\d+$/, { timeout: 30000 });
    const number = Number(alice.url().split("/").pop());
    await alice.locator("h1.issue-title", { hasText: "Feature with <script>alert(4)</script>" }).waitFor();
    r = await api("GET", `/api/v3/repos/alice/rev/pulls/${number}`);
    assert.equal(r.data.head.ref, "feature");
    assert.equal(r.data.user.login, "alice");
    const headSha = r.data.head.sha;

    log("the merge box shows what blocks: 0 of 1 required approvals");
    await alice.locator("#required-reviews", { hasText: "0 of 1 required approvals" }).waitFor();
    await alice.locator("#no-conflicts").waitFor();

    log("bob opens the files tab, switches to the split diff");
    const bctx = await browser.newContext();
    const bob = await signIn(bctx, bobToken, "bob");
    await bob.goto(base + `/alice/rev/pull/${number}`);
    await bob.click("#tab-files");
    await bob.waitForURL(base + `/alice/rev/pull/${number}/files`);
    await bob.locator("table.diff.unified").first().waitFor();
    await bob.click("#diff-split");
    await bob.waitForURL(/files\?diff=split$/);
    await bob.locator("table.diff.split").first().waitFor();
    // Hostile file name and content are text, escaped; invalid UTF-8 shown as U+FFFD.
    await bob.locator(".diff-file code", { hasText: hostileName }).waitFor();
    await bob.locator("td.code.add", { hasText: "<script>alert(2)</script>" }).waitFor();
    await bob.locator(".diff-file code", { hasText: "bad-\ufffd\ufffd.txt" }).waitFor();
    assert.equal(await bob.locator("img[src=x]").count(), 0);

    log("bob comments on app.c line 3 (new side): a pending comment");
    const file = bob.locator(".diff-file", { has: bob.locator(".head code", { hasText: /^app\.c$/ }) });
    const fileId = await file.getAttribute("id");
    const index = fileId.replace("file-", "");
    // Split view: the row of new line 3 pairs old line 3 (removed) with new line 3 (added).
    await bob.locator(`tr#d${index}-R3 td.ln a[href*="side=R&line=3"]`).click();
    await bob.locator("#line-comment-form").waitFor();
    await bob.fill("#line-comment-form textarea[name=body]", "Why a **number** here? <script>alert(5)</script>");
    await bob.click("#add-line-comment");
    await bob.waitForURL(/files\?diff=split/);
    await bob.locator(".thread .pill", { hasText: "Pending" }).waitFor();
    await bob.locator("#pending-count", { hasText: "1 pending comment" }).waitFor();
    await shot(bob, "pull-files-split");

    log("bob submits an approving review with the pending comment");
    await bob.fill("#review-form textarea[name=body]", "Looks good.");
    await bob.check("#event-approve");
    await bob.click("#submit-review");
    await bob.waitForURL(base + `/alice/rev/pull/${number}`, { timeout: 30000 });
    r = await api("GET", `/api/v3/repos/alice/rev/pulls/${number}/reviews`);
    assert.equal(r.data.length, 1, JSON.stringify(r.data));
    assert.equal(r.data[0].state, "APPROVED");
    assert.equal(r.data[0].user.login, "bob");
    assert.equal(r.data[0].body, "Looks good.");
    r = await api("GET", `/api/v3/repos/alice/rev/pulls/${number}/comments`);
    assert.equal(r.data.length, 1, JSON.stringify(r.data));
    assert.equal(r.data[0].path, "app.c");
    assert.equal(r.data[0].line, 3);
    assert.equal(r.data[0].side, "RIGHT");
    assert.equal(r.data[0].user.login, "bob");
    // The thread is shown at its line (unified view this time), no longer pending.
    await bob.goto(base + `/alice/rev/pull/${number}/files`);
    const thread = bob.locator(`tr#d${index}-R3 + tr.inline .thread`);
    await thread.locator(".review-comment", { hasText: "Why a number here?" }).waitFor();
    assert.equal(await bob.locator(".thread .pill", { hasText: "Pending" }).count(), 0);
    await shot(bob, "pull-files-unified");
    log("alice sees 1 of 1 required approvals and squash-merges");
    await alice.goto(base + `/alice/rev/pull/${number}`);
    await alice.locator("#required-reviews", { hasText: "1 of 1 required approvals" }).waitFor();
    await shot(alice, "pull-merge-box");
    await alice.check("#method-squash");
    await alice.click("#merge-button");
    await alice.waitForURL(base + `/alice/rev/pull/${number}`, { timeout: 30000 });
    await alice.locator(".label.state-closed", { hasText: "merged" }).first().waitFor();
    await alice.locator("#merged-as").waitFor();
    r = await api("GET", `/api/v3/repos/alice/rev/pulls/${number}`);
    assert.equal(r.data.merged, true);
    const mergeSha = r.data.merge_commit_sha;
    assert.ok(mergeSha && mergeSha !== headSha);
    await shot(alice, "pull-merged");

    log("git ls-remote: main moved to the squash commit, whose only parent is the old main");
    const lsRemote = () => git(dir, "ls-remote", "origin", "refs/heads/main").split(/\s+/)[0];
    await until("main at the merge", () => lsRemote() === mergeSha);
    git(dir, "fetch", "-q", "origin", "main");
    assert.equal(git(dir, "rev-parse", `${mergeSha}^`), second);
    assert.throws(() => git(dir, "rev-parse", "--verify", "-q", `${mergeSha}^2`));
    assert.equal(git(dir, "show", "-s", "--format=%s", mergeSha), `Feature with <script>alert(4)</script> (#${number})`);

    log("the commit page draws its diff with the same renderer (split too)");
    await alice.goto(base + `/alice/rev/commit/${mergeSha}?diff=split`);
    await alice.locator("table.diff.split").first().waitFor();
    await alice.locator("a.raw-diff, nav.diff-toggle a", { hasText: "Raw diff" }).first().click();
    await alice.waitForURL(new RegExp(`/rawdiff/${second}/${mergeSha}$`));
    assert.match(await alice.locator("body").innerText(), /\+int five;/);

    log("the OpenAPI document and the API page");
    const oa = await fetch(base + "/api/openapi.json");
    assert.equal(oa.status, 200);
    assert.match(oa.headers.get("content-type"), /application\/json/);
    const doc = await oa.json();
    assert.equal(doc.openapi, "3.0.3");
    const merge = doc.paths["/api/v3/repos/{owner}/{repo}/pulls/{number}/merge"];
    assert.equal(merge.put["x-guts-access"], "repo:write");
    assert.ok(doc.paths["/api/guts/status"].get, "the /api/guts routes too");
    assert.ok(Object.keys(doc.paths).length > 100, "every API route");
    await alice.goto(base + "/api");
    await alice.locator("#openapi-link").waitFor();
    await alice.locator("#tag-pulls code", { hasText: "/api/v3/repos/{owner}/{repo}/pulls/{number}/merge" }).first().waitFor();
    await shot(alice, "api");

    assert.deepEqual(problems, [], "no console errors, no dialogs");
    console.log("review: ok");
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`FAILED at step: ${step}`);
  console.error(e);
  process.exit(1);
});
