// Browser test of the Actions tab (docs/web.md, docs/ci.md "Web"): Debian's chromium driven by
// playwright-core against a running guts-node (run.sh). A workflow pushed with the stock git is
// dispatched through the REST API; anonymous readers see the run in the list and its page
// (jobs, steps), without buttons; alice, signed in with a pasted token and JavaScript off,
// cancels it and re-runs it with the page's forms (CSRF token), and the REST API agrees.
// Then the job page (docs/web.md "Job page"): a real guts-runner runs a job that prints for a
// few seconds; the page, opened while the job runs, shows the lines as they come (over the
// live log WebSocket, through one forced drop resumed with ?line=N) and the conclusion at the
// end without a reload; `<script>` in the log is text; without JavaScript the whole log is
// rendered with #L<n> anchors; a private repository's job page polls through the web path.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
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

let runner = null;

// Waits until `fn` returns a truthy value (polled every 200 ms), or throws after `ms`.
async function until(what, fn, ms = 60000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// The id of the first job of the newest run of workflow `file`.
async function jobOf(repo, file) {
  return until(`a job of ${file}`, async () => {
    const runs = await api("GET", `/api/v3/repos/${repo}/actions/runs`);
    const run = (runs.data?.workflow_runs || []).find((w) => w.path?.endsWith(file) || w.name === file);
    if (!run) return null;
    const jobs = await api("GET", `/api/v3/repos/${repo}/actions/runs/${run.id}/jobs`);
    return jobs.data?.jobs?.[0]?.id ?? null;
  });
}

async function jobPage(browser, anon, alice, dir) {
  log("a registered guts-runner; a workflow that prints for a few seconds is dispatched");
  // The first run stays out of the runner's way.
  let r = await api("GET", "/api/v3/repos/alice/ci-web/actions/runs");
  for (const w of r.data.workflow_runs)
    if (w.status !== "completed") await api("POST", `/api/v3/repos/alice/ci-web/actions/runs/${w.id}/cancel`);
  fs.writeFileSync(
    path.join(dir, ".guts", "workflows", "live.yml"),
    [
      "name: Live",
      "on: workflow_dispatch",
      "jobs:",
      "  stream:",
      "    runs-on: linux",
      "    steps:",
      "      - name: Greet",
      "        run: |",
      "          echo '<script>alert(\"log\")</script> & <b>bold</b>'",
      "      - name: Tick",
      "        run: |",
      "          for i in 1 2 3 4 5 6 7 8; do echo \"tick $i\"; sleep 1; done",
      "",
    ].join("\n"),
  );
  git(dir, "add", ".");
  git(dir, "commit", "-q", "-m", "live");
  git(dir, "push", "-q", `http://alice:${token}@${host}/alice/ci-web.git`, "main");
  const repo = await api("GET", "/api/v3/repos/alice/ci-web");
  r = await api("POST", "/api/v3/repos/alice/ci-web/actions/runners/registration-token", {});
  assert.equal(r.status, 201, JSON.stringify(r.data));
  const runnerDir = path.join(work, "runner");
  execFileSync(
    path.join(process.env.GUTS_BIN, "guts-runner"),
    ["register", "--node", base, "--repo", "alice/ci-web", "--repo-id", String(repo.data.id), "--token", r.data.token,
     "--name", "web-runner", "--labels", "linux", "--dir", runnerDir],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  const runnerLog = fs.openSync(path.join(work, "runner.log"), "a");
  runner = spawn(path.join(process.env.GUTS_BIN, "guts-runner"),
                 ["run", "--dir", runnerDir, "--poll-ms", "100", "--heartbeat-seconds", "5"],
                 { stdio: ["ignore", runnerLog, runnerLog] });
  r = await api("POST", "/api/v3/repos/alice/ci-web/actions/workflows/live.yml/dispatches", { ref: "main" });
  assert.equal(r.status, 204, JSON.stringify(r.data));
  const jobId = await jobOf("alice/ci-web", "live.yml");
  const jobUrl = `${base}/alice/ci-web/actions/jobs/${jobId}`;

  log("the job page, opened while the job runs, follows its log live (one drop, resumed)");
  const live = await (await browser.newContext()).newPage();
  const problems = [];
  live.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  live.on("pageerror", (e) => problems.push(String(e)));
  live.on("dialog", (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss(); });
  // Every WebSocket of the page goes through here: the first one is cut right after the first
  // "tick" line it carries (the page may have rendered some already).
  const sockets = [];
  let droppedAfter = 0;
  await live.routeWebSocket(/\/logs\/live/, (ws) => {
    sockets.push(ws.url());
    const server = ws.connectToServer();
    const first = sockets.length === 1;
    server.onMessage((m) => {
      ws.send(m);
      const f = JSON.parse(String(m));
      if (first && !droppedAfter && f.type === "line" && f.text.startsWith("tick ")) {
        droppedAfter = f.line;
        ws.close({ code: 4000, reason: "test drop" });
        server.close();
      }
    });
    ws.onMessage((m) => server.send(m));
  });
  const resp = await live.goto(jobUrl);
  assert.equal(resp.status(), 200);
  assert.match(resp.headers()["content-security-policy"], /script-src 'self'/);
  await live.evaluate(() => { window.guts_no_reload = true; });
  const first = await live.locator("#job-log").textContent();
  assert.ok(!first.includes("tick 8"), "the job had not finished when the page opened");
  const shownAtFirst = await live.locator("#job-log tr").count();
  const logBox = live.locator("#job-log");
  assert.match((await logBox.getAttribute("data-ws")) || "", /\/api\/v3\/repos\/alice\/ci-web\/actions\/jobs\/\d+\/logs\/live$/);
  await logBox.locator("td.lt", { hasText: "tick 3" }).waitFor({ timeout: 90000 });
  await shot(live, "actions-job-live");
  await logBox.locator("td.lt", { hasText: "tick 8" }).waitFor({ timeout: 90000 });
  await live.locator("#job-state", { hasText: "success" }).waitFor({ timeout: 60000 });
  assert.equal(await logBox.getAttribute("data-live-state"), "ended");
  assert.equal(await live.evaluate(() => window.guts_no_reload), true, "no reload");
  assert.ok((await live.locator("#job-log tr").count()) > shownAtFirst, "lines were appended");
  // The drop: a second WebSocket resumed after the last line the page had.
  assert.ok(sockets.length >= 2, `reconnected: ${sockets.join(" ")}`);
  const resumed = Number(new URL(sockets[1]).searchParams.get("line"));
  assert.ok(droppedAfter > 0, "a tick line came over the first WebSocket");
  assert.equal(resumed, droppedAfter, `resumed after the last line it had: ${sockets[1]}`);
  assert.ok(new URL(sockets[0]).searchParams.has("line"));
  // Every line once: no gap, nothing twice, across the drop.
  const ids = await live.locator("#job-log [id^=L]").evaluateAll((els) => els.map((e) => Number(e.id.slice(1))));
  assert.equal(new Set(ids).size, ids.length, `no line twice: ${ids}`);
  for (let i = 1; i <= 8; i++)
    assert.equal(await logBox.locator("td.lt", { hasText: new RegExp(`^tick ${i}$`) }).count(), 1, `tick ${i} once`);
  // The log's markup is text: the <script> and <b> of the log are shown, never run or parsed.
  const greet = logBox.locator("td.lt", { hasText: '<script>alert("log")</script> & <b>bold</b>' });
  assert.equal(await greet.count(), 1);
  assert.equal(await logBox.locator("script, b").count(), 0);
  // Grouped by step: a section per step, its summary the ##[group] line.
  await logBox.locator("details.log-group[data-group=Tick] > summary", { hasText: "Tick" }).waitFor();
  // The head and the steps were fetched again at the end.
  await live.locator("#job-steps li", { hasText: "Tick" }).locator(".run-state", { hasText: "success" }).waitFor();
  await shot(live, "actions-job");
  assert.deepEqual(problems, []);

  log("without JavaScript: the whole log rendered, escaped, with line anchors");
  let page = await anon.goto(`${jobUrl}#L3`);
  assert.equal(page.status(), 200);
  const html = await page.text();
  assert.ok(html.includes("&lt;script&gt;alert(&quot;log&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"), "escaped");
  assert.ok(!html.includes('<script>alert("log")'));
  assert.equal(await anon.locator("#job-log td.lt", { hasText: /^tick 8$/ }).count(), 1);
  assert.equal(await anon.locator("#job-log").getAttribute("data-ws"), null, "a completed job is not followed");
  const rawLog = await anon.locator(".box .head a", { hasText: "raw" }).getAttribute("href");
  assert.equal(rawLog, `/api/v3/repos/alice/ci-web/actions/jobs/${jobId}/logs`);
  assert.match(await (await fetch(base + rawLog)).text(), /tick 8/);
  const anchor = anon.locator("#job-log a[href='#L3']");
  assert.equal(await anchor.count(), 1);
  assert.match(await anon.locator("#job-state").textContent(), /success/);
  assert.match(await anon.locator("#job-summary").textContent(), /runner web-runner/);
  // The step links to its section.
  const stepLink = anon.locator("#job-steps a", { hasText: "Tick" });
  assert.match(await stepLink.getAttribute("href"), /^#L\d+$/);
  // The run page links each job to its page.
  const runOfJob = (await api("GET", `/api/v3/repos/alice/ci-web/actions/jobs/${jobId}`)).data.run_id;
  await anon.goto(`${base}/alice/ci-web/actions/runs/${runOfJob}`);
  await anon.locator(".job a", { hasText: "stream" }).click();
  await anon.waitForURL(jobUrl);
  page = await anon.goto(`${base}/alice/ci-web/actions/jobs/999999`);
  assert.equal(page.status(), 404);

  log("the lines as JSON on the web path (what a private repository's page polls)");
  let j = await fetch(`${jobUrl}/lines?line=2`, { headers: { Accept: "application/json" } });
  assert.equal(j.status, 200);
  const lines = await j.json();
  assert.equal(lines.complete, true);
  assert.equal(lines.conclusion, "success");
  assert.equal(lines.lines[0].line, 3);
  j = await fetch(`${jobUrl}/lines?line=x`, { headers: { Accept: "application/json" } });
  assert.equal(j.status, 422);

  log("a private repository's job page polls through the web path with the session cookie");
  r = await api("POST", "/api/v3/user/repos", { name: "ci-secret", private: true });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  git(dir, "push", "-q", `http://alice:${token}@${host}/alice/ci-secret.git`, "main");
  r = await api("POST", "/api/v3/repos/alice/ci-secret/actions/workflows/live.yml/dispatches", { ref: "main" });
  assert.equal(r.status, 204, JSON.stringify(r.data));
  const secretJob = await jobOf("alice/ci-secret", "live.yml");
  const secretUrl = `${base}/alice/ci-secret/actions/jobs/${secretJob}`;
  const ctxJs = await browser.newContext();
  await ctxJs.addCookies(await alice.cookies());
  const polling = await ctxJs.newPage();
  await polling.goto(secretUrl);
  const secretLog = polling.locator("#job-log");
  assert.equal(await secretLog.getAttribute("data-ws"), null, "no WebSocket: it takes no cookie");
  assert.equal(await polling.locator(".box .head a", { hasText: "raw" }).count(), 0);
  await polling.locator("#job-log-empty", { hasText: "No log lines yet" }).waitFor();
  await until("polling", async () => (await secretLog.getAttribute("data-live-state")) === "polling", 15000);
  j = await fetch(`${secretUrl}/lines?line=0`, { headers: { Accept: "application/json" } });
  assert.equal(j.status, 404, "anonymous readers do not see a private job's lines");
  const cookie = (await alice.cookies()).find((c) => c.name === "guts_session").value;
  j = await fetch(`${secretUrl}/lines?line=0`, { headers: { Accept: "application/json", Cookie: `guts_session=${cookie}` } });
  assert.equal(j.status, 200);
  assert.equal((await j.json()).complete, false);
}

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

    await jobPage(browser, anon, ctx, dir);
  } finally {
    await browser.close();
    if (runner) runner.kill("SIGTERM");
  }
  console.log("ok: web Actions tab");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
