// Browser test of the web interface: Debian's chromium driven by playwright-core against a
// running guts-node (run.sh), with a repository pushed by the stock git. Reading works without
// JavaScript; no page logs a console error (CSP violations included) or opens a dialog.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const base = process.env.GUTS_URL;
const work = process.env.WORK;
const token = process.env.ALICE_TOKEN;
const host = new URL(base).host;
let step = "";
let expect404 = false;
let expect422 = false;  // the search step's invalid query
// Screenshots of the main pages (for docs/web.md), in the build tree.
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
  GIT_AUTHOR_NAME: "Alice <Author>",
  GIT_AUTHOR_EMAIL: "alice@example.com",
  GIT_COMMITTER_NAME: "Alice <Author>",
  GIT_COMMITTER_EMAIL: "alice@example.com",
};
function git(cwd, ...args) {
  return execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}
function write(dir, file, content) {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), content);
}
async function api(method, url, body) {
  const r = await fetch(base + url, {
    method,
    headers: { Authorization: `token ${token}`, "Content-Type": "application/json", Accept: "application/vnd.github+json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, data: await r.json().catch(() => null) };
}

// A 1x1 PNG.
const png = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

async function main() {
  log("alice creates alice/proj (and a private alice/secret) and pushes with git");
  let r = await api("POST", "/api/v3/user/repos", { name: "proj", description: "A <b>web</b> test \"repo\"" });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  r = await api("POST", "/api/v3/user/repos", { name: "secret", private: true });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  const dir = path.join(work, "proj");
  fs.mkdirSync(dir);
  git(dir, "init", "-q", "-b", "main");
  write(dir, "README.md",
    "# Proj\n\nSee the [guide](docs/guide.md) and ![logo](img/logo.png).\n\n" +
    "| col | val |\n|-----|-----|\n| a | 1 |\n\n- [x] done\n- [ ] todo\n\n" +
    "<script>window.__pwned = 1; alert('xss')</script>\n\n[bad](javascript:alert(1))\n");
  write(dir, "docs/guide.md", "# Guide\n\nBack to the [readme](../README.md).\n");
  fs.mkdirSync(path.join(dir, "img"));
  fs.writeFileSync(path.join(dir, "img/logo.png"), png);
  let c = "#include <stdio.h>\n\n";
  for (let i = 1; i <= 20; i++) c += `int f${i}(void) { return ${i}; }\n`;
  c += "int main(void) {\n  printf(\"<script>\\n\");\n  return 0;\n}\n";
  write(dir, "src/main.c", c);
  const evilName = `"><img src=x onerror=alert(1)>.txt`;
  write(dir, "src/" + evilName, "<script>alert(2)</script>\n");
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "Initial commit <script>alert(3)</script>");
  write(dir, "src/main.c", c.replace("return 0;", "return f1() - 1; /* web diff */"));
  git(dir, "commit", "-q", "-am", "Return through f1\n\nA body line.");
  const head = git(dir, "rev-parse", "HEAD");
  git(dir, "remote", "add", "origin", `http://alice:${token}@${host}/alice/proj.git`);
  git(dir, "push", "-q", "origin", "main");

  log("a branch with a slash, a pull request, an issue with a comment (through the REST API)");
  git(dir, "checkout", "-q", "-b", "feature/x");
  write(dir, "src/feature.c", "int feature(void) { return 42; }\n");
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "Add feature");
  git(dir, "push", "-q", "origin", "feature/x");
  git(dir, "checkout", "-q", "main");
  r = await api("POST", "/api/v3/repos/alice/proj/issues", {
    title: "Crash on <script>alert(4)</script>",
    body: "Steps:\n\n1. run `main`\n2. <img src=x onerror=alert(5)>\n\n- [ ] fix it",
  });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  const issueNo = r.data.number;
  r = await api("POST", `/api/v3/repos/alice/proj/issues/${issueNo}/comments`, { body: "**Confirmed** on main." });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  r = await api("POST", "/api/v3/repos/alice/proj/pulls", { title: "Add the feature", head: "feature/x", base: "main", body: "Adds `feature()`." });
  assert.equal(r.status, 201, JSON.stringify(r.data));
  const pullNo = r.data.number;

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  const problems = [];
  const watch = (page, name) => {
    page.on("console", (m) => {
      // The error-page step loads 404s on purpose; Chromium logs each one.
      if (m.type() === "error" && !(expect404 && /status of 404/.test(m.text())) &&
          !(expect422 && /status of 422/.test(m.text())))
        problems.push(`${name}: console error: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
    page.on("dialog", async (d) => {
      problems.push(`${name}: a dialog opened: ${d.message()}`);
      await d.dismiss();
    });
  };
  try {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    watch(page, "js");

    log("home lists the repository; security headers present");
    let resp = await page.goto(base + "/");
    assert.equal(resp.status(), 200);
    const h = resp.headers();
    assert.match(h["content-security-policy"] || "", /default-src 'none'/);
    assert.doesNotMatch(h["content-security-policy"], /unsafe-inline/);
    assert.equal(h["x-content-type-options"], "nosniff");
    assert.match(h["content-type"], /^text\/html/);
    await page.getByRole("link", { name: "alice/proj" }).click();
    await page.waitForURL(base + "/alice/proj");

    log("repository home: README rendered, raw HTML dropped, relative links resolved");
    const readme = page.locator("#readme");
    await readme.locator("table td", { hasText: "1" }).first().waitFor();
    assert.equal(await readme.locator("input[type=checkbox]").count(), 2);
    // Only the live-update script (docs/web.md "Live updates"); nothing from the README.
    assert.equal(await page.locator("script:not([src^=\"/-/static/live.\"])").count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await readme.getByRole("link", { name: "guide" }).getAttribute("href"), "/alice/proj/blob/main/docs/guide.md");
    assert.equal(await readme.locator("img").getAttribute("src"), "/alice/proj/raw/main/img/logo.png");
    assert.ok(await readme.locator("img").evaluate((img) => img.complete && img.naturalWidth === 1), "README image loads");
    const bad = await readme.getByRole("link", { name: "bad" }).count();
    if (bad) assert.doesNotMatch((await readme.getByRole("link", { name: "bad" }).getAttribute("href")) || "", /javascript:/i);
    const text = await page.locator("main").innerText();
    assert.match(text, /A <b>web<\/b> test "repo"/, "the description is shown as text");
    assert.match(await page.locator(".clone input").inputValue(), new RegExp(`/alice/proj\\.git$`));
    await shot(page, "repository");

    log("navigate tree -> blob; highlighting and line anchors");
    await page.getByRole("link", { name: "src/", exact: true }).click();
    await page.waitForURL(base + "/alice/proj/tree/main/src");
    await page.getByRole("link", { name: evilName }).click();
    await page.locator("table.code td.code", { hasText: "<script>alert(2)</script>" }).waitFor();
    assert.equal(await page.locator("main img").count(), 0, "a file name never becomes markup");
    await page.goBack();
    await page.getByRole("link", { name: "main.c" }).click();
    await page.waitForURL(base + "/alice/proj/blob/main/src/main.c");
    assert.ok((await page.locator("table.code tr").count()) >= 25);
    assert.ok((await page.locator("table.code span.hl").count()) > 0, "syntax highlighted");
    // Only the live-update script (docs/web.md "Live updates"); nothing from the README.
    assert.equal(await page.locator("script:not([src^=\"/-/static/live.\"])").count(), 0);
    await page.locator("tr#L12 td.ln a").click();
    assert.ok(page.url().endsWith("#L12"));
    const bg = await page.locator("tr#L12").evaluate((e) => getComputedStyle(e).backgroundColor);
    const other = await page.locator("tr#L11").evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.notEqual(bg, other, "the targeted line is highlighted");
    await shot(page, "blob");

    log("raw file: text/plain, nosniff");
    const raw = await page.request.get(base + "/alice/proj/raw/main/src/main.c");
    assert.equal(raw.status(), 200);
    assert.match(raw.headers()["content-type"], /^text\/plain/);
    assert.equal(raw.headers()["x-content-type-options"], "nosniff");
    assert.ok((await raw.text()).includes("web diff"));

    log("commits -> commit page shows the diff");
    await page.goto(base + "/alice/proj");
    await page.getByRole("link", { name: "Commits", exact: true }).click();
    await page.getByRole("link", { name: "Return through f1" }).click();
    await page.waitForURL(base + "/alice/proj/commit/" + head);
    await page.locator("table.diff td.add", { hasText: "web diff" }).waitFor();
    await page.locator("table.diff td.del", { hasText: "return 0;" }).waitFor();
    assert.match(await page.locator("main").innerText(), /A body line\./);
    await shot(page, "commit");

    log("issues and pull requests, read-only");
    await page.goto(base + "/alice/proj");
    await page.getByRole("link", { name: "Issues", exact: true }).click();
    await page.getByRole("link", { name: "Crash on <script>alert(4)</script>" }).click();
    await page.waitForURL(base + `/alice/proj/issues/${issueNo}`);
    await page.locator(".comment strong", { hasText: "Confirmed" }).waitFor();
    assert.equal(await page.locator("main .comment img").count(), 0, "raw HTML in an issue body is dropped");
    assert.equal(await page.locator(".comment input[type=checkbox]").count(), 1);
    await page.getByRole("link", { name: "Pull requests", exact: true }).click();
    assert.equal(await page.locator("ul.issues li").count(), 1);
    await page.getByRole("link", { name: "Add the feature" }).click();
    await page.waitForURL(base + `/alice/proj/pull/${pullNo}`);
    assert.match(await page.locator("main").innerText(), /wants to merge feature\/x into main/);
    await page.goto(base + "/alice/proj/issues");
    assert.equal(await page.locator("ul.issues li").count(), 1, "the issue list leaves pulls out");
    await page.goto(base + "/alice/proj/tree/feature/x/src");
    await page.getByRole("link", { name: "feature.c" }).click();
    await page.waitForURL(base + "/alice/proj/blob/feature/x/src/feature.c");
    await page.locator("td.code", { hasText: "return 42" }).waitFor();

    log("branches, user and network pages");
    await page.goto(base + "/alice/proj/branches");
    await page.locator("main", { hasText: "default" }).waitFor();
    resp = await page.goto(base + "/alice");
    assert.equal(resp.status(), 200);
    assert.equal(await page.getByRole("link", { name: "alice/secret" }).count(), 0, "private repo hidden from anonymous");
    resp = await page.goto(base + "/network");
    assert.equal(resp.status(), 200);
    assert.ok((await page.locator("table.blocks tr").count()) >= 1);
    assert.ok((await page.locator("ul.validators li").count()) >= 1);

    log("HTML errors for browsers, JSON for API clients");
    expect404 = true;
    resp = await page.goto(base + "/alice/nope");
    assert.equal(resp.status(), 404);
    await page.getByRole("link", { name: "Back to the repositories" }).waitFor();
    resp = await page.goto(base + "/alice/secret");
    assert.equal(resp.status(), 404, "a private repository is 404 for anonymous readers");
    await page.getByRole("heading", { name: "Not Found" }).waitFor();
    resp = await page.goto(base + "/alice/proj/blob/main/nope.txt");
    assert.equal(resp.status(), 404);
    let f = await fetch(base + "/api/v3/repos/alice/nope", { headers: { Accept: "text/html" } });
    assert.equal(f.status, 404);
    assert.match(f.headers.get("content-type"), /json/);
    f = await fetch(base + "/nobody");
    assert.equal(f.status, 404);
    assert.match(f.headers.get("content-type"), /json/, "a page's own 404 is JSON for non-browsers");
    f = await fetch(base + "/nobody", { headers: { Accept: "text/html,*/*" } });
    assert.match(f.headers.get("content-type"), /text\/html/);
    f = await fetch(base + "/no/such/page/here");
    assert.equal(f.status, 404);
    assert.match(f.headers.get("content-type"), /json/, "non-browser clients keep JSON");
    f = await fetch(base + "/no/such/page/here", { headers: { Accept: "text/html" } });
    assert.match(f.headers.get("content-type"), /text\/html/);
    f = await fetch(base + "/alice/proj.git/info/refs?service=git-upload-pack");
    assert.equal(f.status, 200);
    assert.match(f.headers.get("content-type"), /git-upload-pack-advertisement/);

    expect404 = false;
    log("search from the header: issues, code; private repositories stay hidden");
    for (const deadline = Date.now() + 30000; ; ) {
      const st = await (await fetch(base + "/api/guts/search")).json();
      if (st.indexed_height >= st.height) break;
      assert.ok(Date.now() < deadline, `search index stuck: ${JSON.stringify(st)}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    await page.goto(base + "/");
    await page.getByRole("searchbox", { name: "Search" }).fill("crash");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/search\?q=crash/);
    await page.getByRole("link", { name: /Issues and pull requests/ }).click();
    await page.getByRole("link", { name: "Crash on <script>alert(4)</script>" }).click();
    await page.waitForURL(base + `/alice/proj/issues/${issueNo}`);
    await page.goto(base + "/search?q=" + encodeURIComponent("web diff") + "&type=code");
    await page.getByRole("link", { name: "src/main.c" }).waitFor();
    assert.match(await page.locator("pre.fragment").first().textContent(), /web diff/);
    await shot(page, "search");
    await page.goto(base + "/search?q=secret&type=repositories");
    await page.locator("li", { hasText: "Nothing found." }).waitFor();
    expect422 = true;
    await page.goto(base + "/search?q=" + encodeURIComponent('"unterminated'));
    await page.locator(".flash.error", { hasText: "unterminated quote" }).waitFor();
    expect422 = false;
    log("everything reads without JavaScript");
    const noJs = await browser.newContext({ javaScriptEnabled: false });
    const p2 = await noJs.newPage();
    watch(p2, "nojs");
    await p2.goto(base + "/");
    await p2.getByRole("link", { name: "alice/proj" }).click();
    await p2.locator("#readme h1", { hasText: "Proj" }).waitFor();
    await p2.getByRole("link", { name: "guide" }).click();
    await p2.waitForURL(base + "/alice/proj/blob/main/docs/guide.md");
    await p2.locator(".markdown h1", { hasText: "Guide" }).waitFor();
    await p2.goto(base + "/alice/proj/blob/main/src/main.c#L5");
    assert.equal(await p2.locator(":target").getAttribute("id"), "L5");
    await p2.goto(base + "/alice/proj/commits/main");
    assert.equal(await p2.locator("ul.commits li").count(), 2);
    await p2.getByRole("link", { name: "Initial commit <script>alert(3)</script>" }).waitFor();
    await noJs.close();
    await ctx.close();
  } finally {
    await browser.close();
  }
  assert.deepEqual(problems, [], "no console errors or dialogs");
  console.log("ok: web interface in chromium");
}

main().catch((e) => {
  console.error(`FAILED at step: ${step}`);
  console.error(e);
  process.exit(1);
});
