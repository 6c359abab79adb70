// Browser test of the list filters, reactions, the Watch button and the header's notification
// count (docs/web.md "Filtering issues and pull requests", "Reactions", "Watching a repository",
// "Live updates"), run by run.sh against a running guts-node with Debian's chromium:
//  1. Without JavaScript, anonymous: the issue list's GET form with GitHub's qualifiers (state,
//     label, author, assignee, milestone, words), the plain parameters, the links from labels,
//     authors and milestones on the list and on an issue page, the state tabs keeping the filter,
//     a hostile query escaped.
//  2. Reactions: counts shown to anonymous readers; bob (signed in by a pasted token) adds,
//     adds a second and removes one with the forms, on the issue and on a comment; each change
//     checked through the REST API; a POST without the CSRF token changes nothing.
//  3. The Watch button: watch, ignore, stop ignoring, watch, each checked through the REST
//     subscription; the watcher count.
//  4. The header's count follows a block by fetching /notifications/count, not the page.
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
const R = "/api/v3/repos/alice/forge";

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

  log("alice/forge with labels, a milestone, bob a collaborator, three issues");
  let r = await api("alice", "POST", "/api/v3/user/repos", { name: "forge" });
  assert.equal(r.status, 201);
  r = await api("alice", "PUT", `${R}/collaborators/bob`, { permission: "push" });
  assert.ok(r.status === 201 || r.status === 204, JSON.stringify(r.data));
  for (const name of ["bug", "help wanted"])
    assert.equal((await api("alice", "POST", `${R}/labels`, { name, color: "d73a4a" })).status, 201);
  r = await api("alice", "POST", `${R}/milestones`, { title: "v1" });
  assert.equal(r.status, 201);
  const v1 = r.data.number;
  const issue = async (who, body) => {
    const x = await api(who, "POST", `${R}/issues`, body);
    assert.equal(x.status, 201, JSON.stringify(x.data));
    return x.data.number;
  };
  const n1 = await issue("alice", { title: "Crash on start", labels: ["bug"], assignees: ["bob"], milestone: v1 });
  const n2 = await issue("bob", { title: "Docs typo", labels: ["help wanted"] });
  const n3 = await issue("bob", { title: "Crash when closing", labels: ["bug"] });
  assert.equal((await api("bob", "PATCH", `${R}/issues/${n3}`, { state: "closed" })).status, 200);

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  const problems = [];
  let expectedError = null;  // a refusal a step provokes on purpose
  const watch = (page, name) => {
    page.on("console", (m) => {
      if (m.type() === "error" && !/status of 403/.test(m.text()) && !(expectedError && expectedError.test(m.text())))
        problems.push(`${name}: console error: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
    page.on("dialog", (d) => {
      problems.push(`${name}: dialog ${d.message()}`);
      d.dismiss();
    });
  };
  const numbers = async (page) =>
    (await page.locator("ul.issues li[data-number]").evaluateAll((els) => els.map((e) => Number(e.dataset.number)))).sort();
  try {
    // ---- 1. filters, no JavaScript ----
    const nctx = await browser.newContext({ javaScriptEnabled: false });
    const p = await nctx.newPage();
    watch(p, "anon");
    log("the default list is the open issues");
    await p.goto(base + "/alice/forge/issues");
    assert.deepEqual(await numbers(p), [n1, n2].sort());
    assert.equal(await p.inputValue("#filter input[name=q]"), "is:open");

    log("the GET form: is:open label:bug");
    await p.fill("#filter input[name=q]", "is:open label:bug");
    await p.click("#filter button[type=submit]");
    await p.waitForURL(/\?q=/);
    assert.deepEqual(await numbers(p), [n1]);
    await shot(p, "issues-filter");

    log("a label link on the list filters by that label");
    await p.goto(base + "/alice/forge/issues");
    await p.locator(`ul.issues li[data-number="${n2}"] a.label`, { hasText: "help wanted" }).click();
    await p.waitForURL(/label%3A%22help%20wanted%22|label:%22help/);
    assert.deepEqual(await numbers(p), [n2]);
    assert.equal(await p.inputValue("#filter input[name=q]"), 'is:open label:"help wanted"');

    log("an author link filters by author; the closed tab keeps the filter");
    await p.locator(`ul.issues li[data-number="${n2}"] a.person`, { hasText: "bob" }).click();
    await p.waitForURL(/author/);
    assert.deepEqual(await numbers(p), [n2]);
    await p.locator("nav.pager a", { hasText: "closed" }).click();
    await p.waitForURL(/is%3Aclosed/);
    assert.deepEqual(await numbers(p), [n3]);
    assert.equal(await p.inputValue("#filter input[name=q]"), "is:closed author:bob");
    assert.ok((await p.locator("nav.pager a", { hasText: "1 open" }).count()) === 1, "counts follow the filter");

    log("plain parameters, assignee, milestone, words, no:, unknown label");
    const q = async (query, want) => {
      await p.goto(base + "/alice/forge/issues" + query);
      assert.deepEqual(await numbers(p), want.sort(), query);
    };
    await q("?state=all&label=bug", [n1, n3]);
    await q("?author=bob&state=all", [n2, n3]);
    await q("?q=" + encodeURIComponent("assignee:bob"), [n1]);
    await q("?q=" + encodeURIComponent('milestone:"v1"'), [n1]);
    await q("?q=" + encodeURIComponent("is:all crash"), [n1, n3]);
    await q("?q=" + encodeURIComponent("is:all no:milestone"), [n2, n3]);
    await q("?q=" + encodeURIComponent("label:nope"), []);
    await q("?q=" + encodeURIComponent("author:nobody"), []);

    log("a hostile query is shown escaped, nothing runs");
    await p.goto(base + "/alice/forge/issues?q=" + encodeURIComponent('"><script>alert(1)</script> label:"<b>x'));
    assert.equal(await p.locator("script:not([src])").count(), 0);
    assert.ok((await p.inputValue("#filter input[name=q]")).includes("<script>"));

    log("on an issue page, the label, assignee and milestone link to the filtered list");
    await p.goto(base + `/alice/forge/issues/${n1}`);
    await p.locator("#conversation a.label", { hasText: "bug" }).click();
    await p.waitForURL(/label%3Abug/);
    assert.deepEqual(await numbers(p), [n1]);
    await p.goto(base + `/alice/forge/issues/${n1}`);
    await p.locator("#conversation a.milestone", { hasText: "v1" }).click();
    await p.waitForURL(/milestone/);
    assert.deepEqual(await numbers(p), [n1]);

    log("the pull request list has the same filter");
    await p.goto(base + "/alice/forge/pulls?q=" + encodeURIComponent("is:all label:bug"));
    assert.deepEqual(await numbers(p), []);
    assert.equal(await p.inputValue("#filter input[name=q]"), "is:all label:bug");

    // ---- 2. reactions ----
    log("alice reacts +1 through REST; an anonymous reader sees the count");
    assert.equal((await api("alice", "POST", `${R}/issues/${n1}/reactions`, { content: "+1" })).status, 201);
    r = await api("alice", "POST", `${R}/issues/${n1}/comments`, { body: "Same here" });
    assert.equal(r.status, 201);
    const commentId = r.data.id;
    await p.goto(base + `/alice/forge/issues/${n1}`);
    const anonPlus = p.locator('.reactions[data-target="issue"] span.reaction[data-content="+1"]');
    assert.match(await anonPlus.textContent(), /1/);
    assert.equal(await p.locator(".reactions form").count(), 0, "no forms for anonymous readers");
    log("a second anonymous reader, with JavaScript, keeps the issue open (live updates)");
    const lctx = await browser.newContext();
    const live = await lctx.newPage();
    watch(live, "anon-live");
    await live.goto(base + `/alice/forge/issues/${n1}`);
    await live.locator("body[data-live-state=open]").waitFor();

    const bctx = await browser.newContext();
    const b = await bctx.newPage();
    watch(b, "bob");
    await b.goto(base + "/-/signin");
    await b.fill("input[name=token]", tokens.bob);
    await b.getByRole("button", { name: "Sign in", exact: true }).click();
    await b.waitForURL(base + "/");

    const mineOf = async (who, url) =>
      (await api(who, "GET", url)).data.filter((x) => x.user.login === "bob").map((x) => x.content).sort();
    log("bob adds heart from the React menu");
    await b.goto(base + `/alice/forge/issues/${n1}`);
    const issueBar = '.reactions[data-target="issue"]';
    await b.click(`${issueBar} details.react summary`);
    await b.click(`${issueBar} details.react button[data-content="heart"]`);
    await b.waitForURL(base + `/alice/forge/issues/${n1}`);
    assert.deepEqual(await mineOf("bob", `${R}/issues/${n1}/reactions`), ["heart"]);
    assert.equal(await b.getAttribute(`${issueBar} > form button[data-content="heart"]`, "aria-pressed"), "true");

    log("bob adds +1 (count 2), then clicks it again: removed (count 1)");
    await b.click(`${issueBar} > form button[data-content="+1"]`);
    await b.waitForURL(base + `/alice/forge/issues/${n1}`);
    assert.match(await b.textContent(`${issueBar} > form button[data-content="+1"]`), /2/);
    assert.deepEqual(await mineOf("bob", `${R}/issues/${n1}/reactions`), ["+1", "heart"]);
    await b.click(`${issueBar} > form button[data-content="+1"]`);
    await b.waitForURL(base + `/alice/forge/issues/${n1}`);
    assert.match(await b.textContent(`${issueBar} > form button[data-content="+1"]`), /1/);
    assert.equal(await b.getAttribute(`${issueBar} > form button[data-content="+1"]`, "aria-pressed"), "false");
    assert.deepEqual(await mineOf("bob", `${R}/issues/${n1}/reactions`), ["heart"]);
    r = await api("alice", "GET", `${R}/issues/${n1}`);
    assert.equal(r.data.reactions["+1"], 1);
    assert.equal(r.data.reactions.heart, 1);

    log("bob reacts rocket on alice's comment");
    const cBar = `.reactions[data-target="comment-${commentId}"]`;
    await b.click(`${cBar} details.react summary`);
    await b.click(`${cBar} details.react button[data-content="rocket"]`);
    await b.waitForURL(base + `/alice/forge/issues/${n1}#comment-${commentId}`);
    assert.deepEqual(await mineOf("bob", `${R}/issues/comments/${commentId}/reactions`), ["rocket"]);
    await shot(b, "reactions");

    log("the live reader's page, open all along, shows bob's reactions without a reload");
    await live.locator(`${issueBar} span.reaction[data-content="heart"]`, { hasText: "1" }).waitFor({ timeout: 15000 });
    await live.locator(`${cBar} span.reaction[data-content="rocket"]`, { hasText: "1" }).waitFor({ timeout: 15000 });
    assert.match(await live.locator(`${issueBar} span.reaction[data-content="+1"]`).textContent(), /1/);

    log("bob (write) sets labels, assignees and the milestone with the issue page's form");
    await b.goto(base + `/alice/forge/issues/${n1}`);
    await b.click("#meta summary");
    const labelBox = (name) => b.locator("#meta label.label-choice", { hasText: name }).locator("input");
    assert.equal(await labelBox("bug").isChecked(), true);
    await labelBox("bug").uncheck();
    await labelBox("help wanted").check();
    await b.fill("#meta input[name=assignees]", "alice bob");
    await b.selectOption("#meta select[name=milestone]", "0");
    await b.click("#save-meta");
    await b.waitForURL(base + `/alice/forge/issues/${n1}`);
    r = await api("alice", "GET", `${R}/issues/${n1}`);
    assert.deepEqual(r.data.labels.map((l) => l.name), ["help wanted"]);
    assert.deepEqual(r.data.assignees.map((u) => u.login).sort(), ["alice", "bob"]);
    assert.equal(r.data.milestone, null);
    log("the live reader sees the new label without a reload");
    await live.locator("#conversation a.label", { hasText: "help wanted" }).waitFor({ timeout: 15000 });
    log("an unknown assignee is refused with a clear error and changes nothing");
    await b.click("#meta summary");
    await b.fill("#meta input[name=assignees]", "nobody-here");
    expectedError = /status of 422/;
    await b.click("#save-meta");
    assert.match(await b.textContent("body"), /no user named 'nobody-here'/);
    expectedError = null;
    r = await api("alice", "GET", `${R}/issues/${n1}`);
    assert.deepEqual(r.data.assignees.map((u) => u.login).sort(), ["alice", "bob"]);
    log("restore: bug label and the milestone back (the filters above depend on them)");
    await b.goto(base + `/alice/forge/issues/${n1}`);
    await b.click("#meta summary");
    await labelBox("help wanted").uncheck();
    await labelBox("bug").check();
    await b.fill("#meta input[name=assignees]", "bob");
    await b.selectOption("#meta select[name=milestone]", { label: "v1" });
    await b.click("#save-meta");
    await b.waitForURL(base + `/alice/forge/issues/${n1}`);
    r = await api("alice", "GET", `${R}/issues/${n1}`);
    assert.deepEqual(r.data.labels.map((l) => l.name), ["bug"]);
    assert.equal(r.data.milestone.title, "v1");
    await lctx.close();

    log("a reaction POST without the CSRF token is refused and changes nothing");
    const bad = await b.request.post(base + `/alice/forge/issues/${n1}/reactions`, {
      form: { content: "eyes" },
      maxRedirects: 0,
    });
    assert.equal(bad.status(), 403);
    assert.deepEqual(await mineOf("bob", `${R}/issues/${n1}/reactions`), ["heart"]);

    // ---- 3. watch ----
    log("the repository page: not watching, 0 watchers; anonymous readers are sent to sign in");
    await p.goto(base + "/alice/forge");
    assert.equal(await p.getAttribute("#watch", "data-state"), "none");
    assert.equal(await p.locator("#watch a", { hasText: "Sign in to watch" }).count(), 1);
    await b.goto(base + "/alice/forge");
    assert.equal(await b.getAttribute("#watch", "data-state"), "none");
    assert.equal((await b.textContent("#watch-count")).trim(), "0");
    const sub = () => api("bob", "GET", `${R}/subscription`);
    assert.equal((await sub()).status, 404);
    const press = async (label, state) => {
      await b.locator("#watch").getByRole("button", { name: label, exact: true }).click();
      await b.waitForURL(base + "/alice/forge");
      assert.equal(await b.getAttribute("#watch", "data-state"), state);
    };
    log("Watch");
    await press("Watch", "watching");
    assert.equal((await b.textContent("#watch-count")).trim(), "1");
    r = await sub();
    assert.deepEqual([r.status, r.data.subscribed, r.data.ignored], [200, true, false]);
    await shot(b, "watch");
    log("Ignore");
    await press("Ignore", "ignoring");
    assert.equal((await b.textContent("#watch-count")).trim(), "0");
    r = await sub();
    assert.deepEqual([r.data.subscribed, r.data.ignored], [false, true]);
    log("Stop ignoring, then Watch again");
    await press("Stop ignoring", "none");
    assert.equal((await sub()).status, 404);
    await press("Watch", "watching");
    r = await api("alice", "GET", `${R}/subscribers`);
    assert.deepEqual(r.data.map((u) => u.login), ["bob"]);

    // ---- 4. the header count, live, by the count endpoint ----
    log("bob's header count follows a block through /notifications/count");
    await b.goto(base + "/alice/forge");
    await b.locator("body[data-live-state=open]").waitFor();
    const before = Number((await b.textContent("#notif-count")).trim());
    const fetched = [];
    b.on("request", (req) => fetched.push(new URL(req.url()).pathname));
    await b.evaluate(() => (window.__notReloaded = true));
    await issue("alice", { title: "News for watchers" });
    await until(async () => Number((await b.textContent("#notif-count")).trim()) === before + 1, "count + 1");
    assert.equal(await b.evaluate(() => window.__notReloaded === true), true, "no reload");
    assert.ok(fetched.includes("/notifications/count"), fetched.join(" "));
    assert.ok(!fetched.includes("/alice/forge"), "the page itself is not fetched again");
    const counted = await b.evaluate(async () => (await fetch("/notifications/count")).json());
    assert.equal(counted.unread, before + 1);
    assert.equal((await fetch(base + "/notifications/count")).status, 401);
    const inbox = await api("bob", "GET", "/api/v3/notifications");
    assert.ok(inbox.data.some((n) => n.subject.title === "News for watchers" && n.reason === "subscribed"));
  } finally {
    await browser.close();
  }
  assert.deepEqual(problems, []);
  console.log("forge: ok");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
