// Browser test of sign-in and browser writes (docs/web.md "Sign-in and sessions", "Writes from
// the browser"): Debian's chromium driven by playwright-core against a running guts-node
// (run.sh). With JavaScript off, alice signs in by the device-code flow approved by the real
// `guts auth web` CLI, opens an issue with the form, comments, closes it; the REST API shows
// each change made by alice. A POST without the CSRF token (or with a wrong one) is refused and
// changes nothing; a session signed in with a pasted token and then revoked from the sessions
// page, a signed-out session and an unknown cookie are refused.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { chromium } from "playwright-core";

const base = process.env.GUTS_URL;
const work = process.env.WORK;
const token = process.env.ALICE_TOKEN;
const bin = process.env.GUTS_BIN;
let step = "";
const shots = process.env.SCREENSHOT_DIR;
async function shot(page, name) {
  if (shots) await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}
const log = (s) => {
  step = s;
  console.log(`# ${s}`);
};
async function api(method, url, body) {
  const r = await fetch(base + url, {
    method,
    headers: { Authorization: `token ${token}`, "Content-Type": "application/json", Accept: "application/vnd.github+json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, data: await r.json().catch(() => null) };
}
function guts(...args) {
  return execFileSync(path.join(bin, "guts"), ["--node", base, ...args], {
    env: { ...process.env, GUTS_HOME: path.join(work, "alice") },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

async function main() {
  log("alice creates alice/proj through the API");
  let r = await api("POST", "/api/v3/user/repos", { name: "proj" });
  assert.equal(r.status, 201, JSON.stringify(r.data));

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  const problems = [];
  const watch = (page, name) => {
    page.on("console", (m) => {
      // Refusals (403, 401) are loaded on purpose; Chromium logs each one.
      if (m.type() === "error" && !/status of 40[13]/.test(m.text())) problems.push(`${name}: console error: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
  };
  try {
    // No JavaScript at all: sign-in and writes are plain forms and a refreshing page.
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    watch(page, "device");

    log("the sign-in page sets only HttpOnly, SameSite=Lax cookies, keeps the strict CSP");
    let resp = await page.goto(base + "/-/signin");
    assert.equal(resp.status(), 200);
    assert.match(resp.headers()["content-security-policy"], /default-src 'none'/);
    assert.doesNotMatch(resp.headers()["content-security-policy"], /unsafe-inline/);
    await shot(page, "signin");
    await page.getByRole("link", { name: "Sign in" }).waitFor();

    log("device code: the page shows a code; the real `guts auth web` approves it");
    await page.click("#device-start");
    await page.waitForURL(base + "/-/signin/device");
    const code = (await page.locator("#user-code").textContent()).trim();
    assert.match(code, /^[A-Z]{4}-[A-Z]{4}$/);
    await shot(page, "signin-device");
    const out = guts("auth", "web", code);
    assert.match(out, /Approved .* as alice/);
    // The page refreshes itself (meta refresh) and lands home, signed in.
    await page.waitForURL(base + "/", { timeout: 20000 });
    await page.locator("header a.me", { hasText: "alice" }).waitFor();
    const cookies = await ctx.cookies();
    const session = cookies.find((c) => c.name === "guts_session");
    assert.ok(session, "a session cookie");
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, "Lax");
    assert.equal(session.secure, false); // plain HTTP here; Secure over TLS
    assert.ok(session.expires > Date.now() / 1000 + 3600, "the session expires, later");
    assert.throws(() => guts("auth", "web", code), /No sign-in is waiting/, "a code is approved once");

    log("the session cookie is no credential for /api/v3 (only web paths accept it)");
    const apiUser = await ctx.request.get(base + "/api/v3/user");
    assert.equal(apiUser.status(), 401);

    log("open an issue with the form");
    await page.goto(base + "/alice/proj/issues");
    await page.click("#new-issue");
    await page.waitForURL(base + "/alice/proj/issues/new");
    await page.fill("input[name=title]", "Opened in a <browser>");
    await page.fill("textarea[name=body]", "Typed into a **form**.");
    await shot(page, "issue-new");
    await page.click("#submit-issue");
    await page.waitForURL(/\/alice\/proj\/issues\/\d+$/);
    const number = Number(page.url().split("/").pop());
    await page.locator("h1.issue-title", { hasText: "Opened in a <browser>" }).waitFor();
    r = await api("GET", `/api/v3/repos/alice/proj/issues/${number}`);
    assert.equal(r.status, 200);
    assert.equal(r.data.title, "Opened in a <browser>");
    assert.equal(r.data.body, "Typed into a **form**.");
    assert.equal(r.data.user.login, "alice");
    assert.equal(r.data.state, "open");

    log("comment, then close, from the issue page");
    await page.fill("#comment-form textarea[name=body]", "A comment from the browser");
    await page.click("#submit-comment");
    await page.locator(".comment .body", { hasText: "A comment from the browser" }).waitFor();
    await page.getByRole("button", { name: "Close issue" }).click();
    await page.locator(".label.state-closed").first().waitFor();
    await shot(page, "issue-closed");
    r = await api("GET", `/api/v3/repos/alice/proj/issues/${number}`);
    assert.equal(r.data.state, "closed");
    assert.equal(r.data.comments, 1);
    r = await api("GET", `/api/v3/repos/alice/proj/issues/${number}/comments`);
    assert.equal(r.data.length, 1);
    assert.equal(r.data[0].body, "A comment from the browser");
    assert.equal(r.data[0].user.login, "alice");

    log("edit the title, then reopen");
    await page.getByRole("link", { name: "Edit title and description" }).click();
    await page.fill("input[name=title]", "Edited in the browser");
    await page.click("#submit-edit");
    await page.locator("h1.issue-title", { hasText: "Edited in the browser" }).waitFor();
    await page.getByRole("button", { name: "Reopen" }).click();
    await page.locator(".label.state-open").first().waitFor();
    r = await api("GET", `/api/v3/repos/alice/proj/issues/${number}`);
    assert.equal(r.data.title, "Edited in the browser");
    assert.equal(r.data.state, "open");

    log("a POST without the CSRF token, or with a wrong one, is refused and changes nothing");
    const target = `${base}/alice/proj/issues/${number}/comments`;
    let bad = await ctx.request.post(target, { form: { body: "forged" } });
    assert.equal(bad.status(), 403);
    bad = await ctx.request.post(target, { form: { body: "forged", csrf: "0".repeat(64) } });
    assert.equal(bad.status(), 403);
    bad = await ctx.request.post(`${base}/alice/proj/issues/${number}/state`, { form: { state: "closed" } });
    assert.equal(bad.status(), 403);
    r = await api("GET", `/api/v3/repos/alice/proj/issues/${number}`);
    assert.equal(r.data.comments, 1);
    assert.equal(r.data.state, "open");

    log("a second browser signs in by pasting a token");
    const ctx2 = await browser.newContext({ javaScriptEnabled: false });
    const page2 = await ctx2.newPage();
    watch(page2, "token");
    await page2.goto(base + "/-/signin");
    await page2.fill("input[name=token]", token);
    await page2.getByRole("button", { name: "Sign in", exact: true }).click();
    await page2.waitForURL(base + "/");
    await page2.locator("header a.me", { hasText: "alice" }).waitFor();
    const stale2 = (await ctx2.cookies()).find((c) => c.name === "guts_session").value;

    log("the sessions page lists both; the first revokes the second");
    await page.goto(base + "/-/sessions");
    const rows = page.locator("table.sessions tbody tr");
    assert.equal(await rows.count(), 2);
    await shot(page, "sessions");
    const other = rows.filter({ hasNotText: "this browser" });
    await other.getByRole("button", { name: "Revoke" }).click();
    await until(async () => (await page.locator("table.sessions tbody tr").count()) === 1, "one session left");
    await page.locator("table.sessions tbody tr", { hasText: "this browser" }).waitFor();

    log("the revoked session is refused: signed out, its writes refused");
    resp = await page2.goto(base + "/-/sessions");
    assert.equal(resp.status(), 401);
    await page2.goto(base + `/alice/proj/issues/${number}`);
    await page2.getByRole("link", { name: "Sign in" }).first().waitFor();
    // Even with the right CSRF token for the revoked cookie, a write is anonymous: refused.
    const forged = await fetch(target, {
      method: "POST",
      headers: { Cookie: `guts_session=${stale2}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: `body=late&csrf=${await csrfOf(stale2)}`,
      redirect: "manual",
    });
    assert.equal(forged.status, 401);
    r = await api("GET", `/api/v3/repos/alice/proj/issues/${number}`);
    assert.equal(r.data.comments, 1);

    log("an unknown or expired session cookie is anonymous");
    const unknown = await fetch(base + "/-/sessions", { headers: { Cookie: `guts_session=${"ab".repeat(32)}` } });
    assert.equal(unknown.status, 401);

    log("sign out ends the session");
    const stale1 = (await ctx.cookies()).find((c) => c.name === "guts_session").value;
    await page.goto(base + "/");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(base + "/");
    await page.getByRole("link", { name: "Sign in" }).waitFor();
    const after = await fetch(base + "/-/sessions", { headers: { Cookie: `guts_session=${stale1}` } });
    assert.equal(after.status, 401);
    await ctx2.close();
    await ctx.close();
  } finally {
    await browser.close();
  }
  assert.deepEqual(problems, [], "no console errors");
  console.log("ok: sign-in, sessions, CSRF and browser writes in chromium");
}

// Polls `cond` until it holds, for at most 10 s.
async function until(cond, what) {
  const deadline = Date.now() + 10000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

// The CSRF token bound to a cookie value (api/auth.h): HMAC-SHA256 keyed by the value.
async function csrfOf(cookie) {
  const { createHmac } = await import("node:crypto");
  return createHmac("sha256", cookie).update("guts/csrf").digest("hex");
}

main().catch((e) => {
  console.error(`FAILED at step: ${step}`);
  console.error(e);
  process.exit(1);
});
