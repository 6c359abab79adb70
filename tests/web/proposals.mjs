// Browser test of quorum proposals (docs/governance.md "Quorum decisions", docs/web.md): Debian's
// chromium driven by playwright-core against a running guts-node (run.sh). alice protects main,
// requires 2 of 2 maintainers to merge into it and merges a pull request through REST: 202, a
// proposal with her approval. An anonymous reader sees it in the repository's Proposals tab and
// on its page (action, 1 of 2 approvals, expiry) without buttons; bob, a maintainer signed in
// with a pasted token and JavaScript off, approves with the page's form (CSRF token) and the
// merge runs; a POST without the token is refused. The organization page links its proposals.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const base = process.env.GUTS_URL;
const work = process.env.WORK;
const bin = process.env.GUTS_BIN;
const tokens = { alice: process.env.ALICE_TOKEN };
const shots = process.env.SCREENSHOT_DIR;
const host = base.replace(/^http:\/\//, "");
async function shot(page, name) {
  if (shots) await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}
const log = (s) => console.log(`# ${s}`);
async function api(who, method, url, body) {
  const r = await fetch(base + url, {
    method,
    headers: { Authorization: `token ${tokens[who]}`, "Content-Type": "application/json", Accept: "application/vnd.github+json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, data: await r.json().catch(() => null) };
}
const gitEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: work,
  GIT_AUTHOR_NAME: "Web Gov",
  GIT_AUTHOR_EMAIL: "gov@example.com",
  GIT_COMMITTER_NAME: "Web Gov",
  GIT_COMMITTER_EMAIL: "gov@example.com",
};
const git = (cwd, ...args) => execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

async function main() {
  log("bob signs up with the guts CLI");
  const bobHome = path.join(work, "bob");
  const cli = (...args) => execFileSync(path.join(bin, "guts"), args, { env: { ...process.env, GUTS_HOME: bobHome }, encoding: "utf8" });
  cli("identity", "new");
  cli("--node", base, "auth", "login", "--username", "bob");
  tokens.bob = JSON.parse(fs.readFileSync(path.join(bobHome, "config.json"), "utf8")).logins[base].token;

  log("alice: a protected main, 2 of 2 maintainers to merge into it, a pull request");
  let r = await api("alice", "POST", "/api/v3/user/repos", { name: "gov-web" });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  const dir = path.join(work, "gov-web");
  const remote = `http://alice:${tokens.alice}@${host}/alice/gov-web.git`;
  git(work, "init", "-q", "-b", "main", dir);
  fs.writeFileSync(path.join(dir, "README.md"), "# gov\n");
  git(dir, "add", ".");
  git(dir, "commit", "-q", "-m", "initial");
  git(dir, "push", "-q", remote, "main");
  git(dir, "checkout", "-q", "-b", "topic");
  fs.writeFileSync(path.join(dir, "feature.txt"), "feature\n");
  git(dir, "add", ".");
  git(dir, "commit", "-q", "-m", "feature");
  git(dir, "push", "-q", remote, "topic");
  r = await api("alice", "PUT", "/api/v3/repos/alice/gov-web/collaborators/bob", { permission: "maintain" });
  assert.ok(r.status === 201 || r.status === 204, JSON.stringify(r.data));
  r = await api("alice", "PUT", "/api/v3/repos/alice/gov-web/branches/main/protection", {
    required_status_checks: null, enforce_admins: null, required_pull_request_reviews: null, restrictions: null,
  });
  assert.equal(r.status, 200, JSON.stringify(r.data));
  r = await api("alice", "PUT", "/api/guts/repos/alice/gov-web/quorum", { rules: [{ action: "merge_protected_branch", threshold: 2 }] });
  assert.equal(r.status, 200, JSON.stringify(r.data));
  r = await api("alice", "POST", "/api/v3/repos/alice/gov-web/pulls", { title: "Feature <b>", head: "topic", base: "main" });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  r = await api("alice", "PUT", "/api/v3/repos/alice/gov-web/pulls/1/merge", {});
  assert.equal(r.status, 202, JSON.stringify(r.data));
  const id = r.data.proposal.id;
  r = await api("alice", "POST", "/api/guts/orgs", { login: "govweb" });
  assert.equal(r.status, 201, JSON.stringify(r.data));

  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  try {
    log("an anonymous reader: the Proposals tab lists it; its page shows the action, no buttons");
    const anon = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
    let resp = await anon.goto(`${base}/alice/gov-web/proposals`);
    assert.equal(resp.status(), 200);
    await anon.locator("nav.tabs a.on", { hasText: "Proposals" }).waitFor();
    assert.match(await anon.locator("#quorum-policy").textContent(), /merge_protected_branch needs 2 of 2 maintainers/);
    const item = anon.locator(`#proposal-${id}`);
    await item.waitFor();
    const text = await item.textContent();
    assert.match(text, /Merge pull request #1: Feature <b>/);
    assert.match(text, /1 of 2 approvals/);
    assert.match(text, /open/);
    await shot(anon, "proposals-list");
    await item.locator("a", { hasText: "Merge pull request #1" }).click();
    await anon.waitForURL(`${base}/-/proposals/${id}`);
    assert.match(await anon.locator("#proposal-action").textContent(), /merge pull request #1/);
    assert.match(await anon.locator("#proposal-tally").textContent(), /1 of 2 approvals · 2 eligible maintainers/);
    assert.match(await anon.locator("#proposal-expiry").textContent(), /^\d{4}-\d\d-\d\dT/);
    assert.match(await anon.locator("ul.votes").textContent(), /alice approved/);
    assert.equal(await anon.locator("#proposal-vote").count(), 0, "no buttons for readers");
    resp = await anon.goto(`${base}/-/proposals/999999`);
    assert.equal(resp.status(), 404);
    await anon.goto(`${base}/govweb`);
    await anon.locator("#org-proposals").click();
    await anon.waitForURL(`${base}/-/proposals?org=govweb`);
    await anon.locator("ul.proposals li", { hasText: "No proposals." }).waitFor();

    log("a POST without the CSRF token is refused and changes nothing");
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto(base + "/-/signin");
    await page.fill("input[name=token]", tokens.bob);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(base + "/");
    const cookie = (await ctx.cookies()).find((c) => c.name === "guts_session").value;
    const forged = await fetch(`${base}/-/proposals/${id}/approve`, {
      method: "POST",
      headers: { Cookie: `guts_session=${cookie}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: "",
      redirect: "manual",
    });
    assert.equal(forged.status, 403);
    r = await api("alice", "GET", `/api/guts/proposals/${id}`);
    assert.equal(r.data.state, "open");

    log("bob (token sign-in, no JavaScript) approves with the page's form: the merge runs");
    await page.goto(`${base}/-/proposals/${id}`);
    await page.locator("#proposal-vote").waitFor();
    await shot(page, "proposal-open");
    await page.getByRole("button", { name: "Approve" }).click();
    await page.waitForURL(`${base}/-/proposals/${id}`);
    await page.locator(".proposal-state", { hasText: "executed" }).waitFor();
    assert.match(await page.locator("#proposal-tally").textContent(), /2 of 2 approvals/);
    assert.equal(await page.locator("#proposal-vote").count(), 0, "no buttons once decided");
    await shot(page, "proposal-executed");
    r = await api("alice", "GET", "/api/v3/repos/alice/gov-web/pulls/1");
    assert.equal(r.data.merged, true);
  } finally {
    await browser.close();
  }
  console.log("ok: web proposals");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
