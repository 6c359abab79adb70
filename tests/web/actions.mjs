// Browser test of the Actions tab (docs/web.md, docs/ci.md "Web"): Debian's chromium driven by
// playwright-core against a running guts-node (run.sh). A workflow pushed with the stock git is
// dispatched through the REST API; anonymous readers see the run in the list and its page
// (jobs, steps), without buttons; alice, signed in with a pasted token and JavaScript off,
// cancels it and re-runs it with the page's forms (CSRF token), and the REST API agrees.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const base = process.env.GUTS_URL;
const work = process.env.WORK;
const token = process.env.ALICE_TOKEN;
const shots = process.env.SCREENSHOT_DIR;
const host = base.replace(/^http:\/\//, "");
async function shot(page, name) {
  if (shots) await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}
const log = (s) => console.log(`# ${s}`);
async function api(method, url, body) {
  const r = await fetch(base + url, {
    method,
    headers: { Authorization: `token ${token}`, "Content-Type": "application/json", Accept: "application/vnd.github+json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, data: await r.json().catch(() => null) };
}
const gitEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: work,
  GIT_AUTHOR_NAME: "Web CI",
  GIT_AUTHOR_EMAIL: "web@example.com",
  GIT_COMMITTER_NAME: "Web CI",
  GIT_COMMITTER_EMAIL: "web@example.com",
};
const git = (cwd, ...args) => execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

async function main() {
  log("alice pushes a workflow and dispatches it");
  let r = await api("POST", "/api/v3/user/repos", { name: "ci-web" });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  const dir = path.join(work, "ci-web");
  git(work, "init", "-q", "-b", "main", dir);
  fs.mkdirSync(path.join(dir, ".guts", "workflows"), { recursive: true });
  fs.writeFileSync(
    path.join(dir, ".guts", "workflows", "ci.yml"),
    "name: Web <CI>\non: workflow_dispatch\njobs:\n  build:\n    runs-on: linux\n    steps:\n      - name: Compile\n        run: make\n",
  );
  git(dir, "add", ".");
  git(dir, "commit", "-q", "-m", "ci");
  git(dir, "push", "-q", `http://alice:${token}@${host}/alice/ci-web.git`, "main");
  r = await api("POST", "/api/v3/repos/alice/ci-web/actions/workflows/ci.yml/dispatches", { ref: "main" });
  assert.equal(r.status, 204, JSON.stringify(r.data));
  r = await api("GET", "/api/v3/repos/alice/ci-web/actions/runs");
  const runId = r.data.workflow_runs[0].id;

  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  try {
    log("an anonymous reader: the Actions tab lists the run; its page shows the job, no buttons");
    const anon = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
    let resp = await anon.goto(`${base}/alice/ci-web/actions`);
    assert.equal(resp.status(), 200);
    assert.match(resp.headers()["content-security-policy"], /default-src 'none'/);
    await anon.locator("nav.tabs a.on", { hasText: "Actions" }).waitFor();
    const item = anon.locator("ul.runs li", { hasText: "Web <CI>" });
    await item.waitFor();
    assert.match(await item.textContent(), /queued/);
    assert.match(await item.textContent(), /workflow_dispatch/);
    await shot(anon, "actions-list");
    await item.locator("a", { hasText: "Web <CI>" }).click();
    await anon.waitForURL(`${base}/alice/ci-web/actions/runs/${runId}`);
    await anon.locator(".job", { hasText: "build" }).waitFor();
    assert.equal(await anon.locator("#run-actions").count(), 0, "no buttons for readers");
    resp = await anon.goto(`${base}/alice/ci-web/actions/runs/999999`);
    assert.equal(resp.status(), 404);

    log("alice (token sign-in, no JavaScript) cancels, then re-runs with the page's forms");
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto(base + "/-/signin");
    await page.fill("input[name=token]", token);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(base + "/");
    await page.goto(`${base}/alice/ci-web/actions/runs/${runId}`);
    await page.getByRole("button", { name: "Cancel run" }).click();
    await page.waitForURL(`${base}/alice/ci-web/actions/runs/${runId}`);
    await page.locator("#run-title", { hasText: "cancelled" }).waitFor();
    r = await api("GET", `/api/v3/repos/alice/ci-web/actions/runs/${runId}`);
    assert.equal(r.data.conclusion, "cancelled");
    await shot(page, "actions-run-cancelled");
    await page.getByRole("button", { name: "Re-run all jobs" }).click();
    await page.locator("#run-title", { hasText: "queued" }).waitFor();
    r = await api("GET", `/api/v3/repos/alice/ci-web/actions/runs/${runId}`);
    assert.equal(r.data.status, "queued");
    assert.equal(r.data.run_attempt, 2);

    log("a POST without the CSRF token is refused and changes nothing");
    const cookie = (await ctx.cookies()).find((c) => c.name === "guts_session").value;
    const forged = await fetch(`${base}/alice/ci-web/actions/runs/${runId}/cancel`, {
      method: "POST",
      headers: { Cookie: `guts_session=${cookie}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: "",
      redirect: "manual",
    });
    assert.equal(forged.status, 403);
    r = await api("GET", `/api/v3/repos/alice/ci-web/actions/runs/${runId}`);
    assert.equal(r.data.status, "queued");
  } finally {
    await browser.close();
  }
  console.log("ok: web Actions tab");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
