// Live updates and notifications in a real browser (docs/events.md, docs/web.md "Live updates",
// "Notifications"), run by run.sh against a running guts-node:
//  1. A real WebSocket client (Node's WebSocket, NODE_OPTIONS=--experimental-websocket) on
//     /api/guts/events: a comment made through REST arrives; after a disconnect and 3 more
//     changes, reconnecting with since=H delivers exactly the missed events, in order, once —
//     the same ones the polling answer gives. A private repository's events never reach an
//     anonymous subscriber (nor its poll), and do reach its owner's poll.
//  2. Two chromium contexts: alice on her issue page, bob (signed in by a pasted token)
//     comments with the form; the comment appears on alice's page without a reload, and her
//     header's unread-notification count goes from 0 to 1. The network page ticks with a block.
//     The inbox page lists the thread; Mark read clears the count. No console error (CSP).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { chromium } from "playwright-core";

const base = process.env.GUTS_URL;
const work = process.env.WORK;
const bin = process.env.GUTS_BIN;
const tokens = { alice: process.env.ALICE_TOKEN };
const shots = process.env.SCREENSHOT_DIR;
const wsBase = base.replace(/^http/, "ws");
const log = (s) => console.log(`# ${s}`);
async function shot(page, name) {
  if (shots) await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}
async function api(who, method, url, body) {
  const headers = { "Content-Type": "application/json", Accept: "application/vnd.github+json" };
  if (who) headers.Authorization = `token ${tokens[who]}`;
  const r = await fetch(base + url, { method, headers, body: body ? JSON.stringify(body) : undefined });
  return { status: r.status, data: await r.json().catch(() => null) };
}
async function until(fn, what, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A WebSocket subscriber that records every message.
function subscribe(query = "") {
  assert.equal(typeof WebSocket, "function", "run with NODE_OPTIONS=--experimental-websocket");
  const sub = { events: [], open: false, closed: false };
  sub.ws = new WebSocket(`${wsBase}/api/guts/events${query}`);
  sub.ws.onopen = () => (sub.open = true);
  sub.ws.onmessage = (m) => sub.events.push(JSON.parse(m.data));
  sub.ws.onclose = () => (sub.closed = true);
  sub.ws.onerror = () => {};
  sub.close = async () => {
    sub.ws.close();
    await until(() => sub.closed, "the socket to close");
  };
  return sub;
}
const repoEvents = (sub) => sub.events.filter((e) => e.repo);
const lastBlock = (sub) => Math.max(0, ...sub.events.filter((e) => e.type === "block").map((e) => e.height));

async function main() {
  log("bob gets an identity and a login token with the real CLI");
  const bobHome = path.join(work, "bob");
  const cli = (...args) =>
    execFileSync(path.join(bin, "guts"), ["--node", base, ...args], {
      env: { ...process.env, GUTS_HOME: bobHome },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  cli("identity", "new");
  cli("auth", "login", "--username", "bob");
  tokens.bob = JSON.parse(fs.readFileSync(path.join(bobHome, "config.json"), "utf8")).logins[base].token;

  log("alice/live with issue #1; alice/secret is private");
  assert.equal((await api("alice", "POST", "/api/v3/user/repos", { name: "live" })).status, 201);
  assert.equal((await api("alice", "POST", "/api/v3/user/repos", { name: "secret", private: true })).status, 201);
  let r = await api("alice", "POST", "/api/v3/repos/alice/live/issues", { title: "Live issue", body: "Watch me" });
  assert.equal(r.status, 201);

  log("a WebSocket subscriber gets hello, then the comment made through REST");
  const s1 = subscribe();
  await until(() => s1.events.length > 0, "hello");
  assert.equal(s1.events[0].type, "hello");
  r = await api("alice", "POST", "/api/v3/repos/alice/live/issues/1/comments", { body: "first <b>live</b>" });
  assert.equal(r.status, 201);
  await until(() => repoEvents(s1).some((e) => e.type === "comment.created"), "comment.created");
  const c1 = repoEvents(s1).find((e) => e.type === "comment.created");
  assert.equal(c1.repo, "alice/live");
  assert.equal(c1.actor, "alice");
  assert.equal(c1.issue.number, 1);
  assert.equal(c1.comment.body, "first <b>live</b>");
  assert.equal(c1.comment.id, r.data.id);
  const blockOfC1 = s1.events.find((e) => e.type === "block" && e.height === c1.height);
  assert.ok(blockOfC1, "the block event comes with its events");
  assert.ok(s1.events.indexOf(blockOfC1) < s1.events.indexOf(c1), "block first");

  log("a private repository's event does not reach the anonymous subscriber");
  r = await api("alice", "POST", "/api/v3/repos/alice/secret/issues", { title: "Hidden" });
  assert.equal(r.status, 201);
  const hiddenHeight = await (async () => {
    let h = 0;
    await until(async () => {
      const st = await (await fetch(`${base}/api/guts/status`)).json();
      h = st.height;
      return lastBlock(s1) >= h;
    }, "the block of the private issue");
    return h;
  })();
  assert.ok(!s1.events.some((e) => e.repo === "alice/secret"), "no private event to anonymous");
  const anonPoll = await (await fetch(`${base}/api/guts/events?since=${hiddenHeight - 1}`)).json();
  assert.ok(anonPoll.events.some((e) => e.type === "block"));
  assert.ok(!anonPoll.events.some((e) => e.repo === "alice/secret"));
  const ownerPoll = await (
    await fetch(`${base}/api/guts/events?since=${hiddenHeight - 1}`, {
      headers: { Authorization: `token ${tokens.alice}` },
    })
  ).json();
  assert.ok(ownerPoll.events.some((e) => e.type === "issue.opened" && e.repo === "alice/secret"));
  assert.equal((await fetch(`${base}/api/guts/events?repo=alice/secret`)).status, 404);

  log("disconnect, 3 changes, reconnect with since=H: exactly the missed events, in order");
  const H = lastBlock(s1);
  await s1.close();
  for (const body of ["second", "third"])
    assert.equal((await api("alice", "POST", "/api/v3/repos/alice/live/issues/1/comments", { body })).status, 201);
  assert.equal((await api("alice", "PATCH", "/api/v3/repos/alice/live/issues/1", { state: "closed" })).status, 200);
  const s2 = subscribe(`?since=${H}`);
  await until(() => repoEvents(s2).some((e) => e.type === "issue.closed"), "the missed events");
  assert.equal(s2.events[0].type, "hello");
  const missed = repoEvents(s2);
  assert.deepEqual(
    missed.map((e) => [e.type, e.comment ? e.comment.body : null]),
    [["comment.created", "second"], ["comment.created", "third"], ["issue.closed", null]],
  );
  const ids = s2.events.filter((e) => e.id).map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, "no duplicates");
  assert.ok(s2.events.filter((e) => e.id).every((e) => e.height > H), "nothing at or before H");
  const heights = s2.events.filter((e) => e.id).map((e) => e.height);
  assert.deepEqual(heights, [...heights].sort((a, b) => a - b), "in height order");
  log("the polling answer gives the same events");
  const poll = await (await fetch(`${base}/api/guts/events?since=${H}`)).json();
  assert.deepEqual(poll.events.map((e) => e.id), ids);
  await s2.close();

  // ---- the browser ----
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
  };
  async function signIn(who) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    watch(page, who);
    await page.goto(base + "/-/signin");
    await page.fill("input[name=token]", tokens[who]);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(base + "/");
    return page;
  }
  try {
    log("alice and bob sign in, in two browser contexts");
    const pa = await signIn("alice");
    const pb = await signIn("bob");
    assert.equal((await api("alice", "POST", "/api/v3/repos/alice/live/issues", { title: "Talk to me" })).status, 201);

    log("alice opens issue #2; her unread count is 0");
    await pa.goto(base + "/alice/live/issues/2");
    await pa.locator("body[data-live-state=open]").waitFor();
    assert.equal((await pa.locator("#notif-count").textContent()).trim(), "0");
    await pa.evaluate(() => (window.__notReloaded = true));

    log("bob comments with the form; it appears on alice's page without a reload");
    await pb.goto(base + "/alice/live/issues/2");
    await pb.fill("#comment-form textarea[name=body]", "Hello from **bob**");
    await pb.click("#submit-comment");
    await pb.waitForURL(base + "/alice/live/issues/2");
    await pa.locator("#conversation .comment", { hasText: "Hello from bob" }).waitFor({ timeout: 15000 });
    assert.equal(await pa.locator("#conversation strong", { hasText: "bob" }).count() > 0, true);
    log("alice's header count went to 1, live");
    await until(async () => (await pa.locator("#notif-count").textContent()).trim() === "1", "count 1");
    assert.equal(await pa.evaluate(() => window.__notReloaded === true), true, "no reload");
    await shot(pa, "live-issue-comment");

    log("the network page ticks with a block");
    await pa.goto(base + "/network");
    await pa.locator("body[data-live-state=open]").waitFor();
    const h0 = Number((await pa.locator("#live-height").textContent()).trim());
    await pa.evaluate(() => (window.__notReloaded = true));
    assert.equal((await api("alice", "POST", "/api/v3/repos/alice/live/issues/2/comments", { body: "tick" })).status, 201);
    await until(async () => Number((await pa.locator("#live-height").textContent()).trim()) > h0, "height");
    await until(
      async () => (await pa.locator("#network table.files a", { hasText: `#${h0 + 1}` }).count()) > 0,
      "the new block in the latest blocks",
    );
    assert.equal(await pa.evaluate(() => window.__notReloaded === true), true, "no reload");
    await shot(pa, "live-network");

    log("the inbox lists the thread; Mark read clears the count");
    await pa.goto(base + "/notifications");
    const item = pa.locator("ul.notifications li.unread", { hasText: "Talk to me" });
    await item.waitFor();
    await shot(pa, "notifications");
    await item.getByRole("button", { name: "Mark read" }).click();
    await pa.waitForURL(base + "/notifications");
    assert.equal((await pa.locator("#notif-count").textContent()).trim(), "0");
    const inbox = await api("alice", "GET", "/api/v3/notifications?all=true");
    assert.equal(inbox.status, 200);
    assert.ok(inbox.data.some((n) => n.subject.title === "Talk to me" && n.unread === false));

    log("without JavaScript the pages read the same");
    const ctx3 = await browser.newContext({ javaScriptEnabled: false });
    const p3 = await ctx3.newPage();
    watch(p3, "nojs");
    await p3.goto(base + "/alice/live/issues/2");
    await p3.locator("#conversation .comment", { hasText: "Hello from bob" }).waitFor();

    log("a cross-site page cannot open the cookie-authenticated stream");
    const cookie = (await pa.context().cookies()).find((c) => c.name === "guts_session").value;
    const cross = await new Promise((resolve, reject) => {
      const req = http.get(`${base}/-/events`, {
        headers: {
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
          Origin: "https://evil.example",
          Cookie: `guts_session=${cookie}`,
        },
      });
      req.on("response", (res) => {
        res.resume();
        resolve({ status: res.statusCode });
      });
      req.on("upgrade", (res, socket) => {
        socket.destroy();
        resolve({ status: res.statusCode });
      });
      req.on("error", reject);
    });
    assert.equal(cross.status, 403);
  } finally {
    await browser.close();
  }
  assert.deepEqual(problems, []);
  console.log("live: ok");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
