// Search (docs/search.md) with the real @octokit/rest client: search.repos,
// search.issuesAndPullRequests and search.code against a node whose index follows finalized
// state, including a private repository only its owner finds, an update (closing an issue) the
// index picks up, and a rebuild from scratch by the node's operator. Run by run.sh.
import { Octokit } from "@octokit/rest";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const url = process.env.GUTS_URL;
const work = process.env.WORK;
const baseUrl = `${url}/api/v3`;
const host = url.replace(/^http:\/\//, "");
const tokens = { alice: process.env.ALICE_TOKEN, bob: process.env.BOB_TOKEN };
const alice = new Octokit({ baseUrl, auth: tokens.alice });
const bob = new Octokit({ baseUrl, auth: tokens.bob });
const anon = new Octokit({ baseUrl });
const log = (s) => console.log(`# ${s}`);
const gitEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: work,
  GIT_AUTHOR_NAME: "Search Test",
  GIT_AUTHOR_EMAIL: "search@example.com",
  GIT_COMMITTER_NAME: "Search Test",
  GIT_COMMITTER_EMAIL: "search@example.com",
};
const git = (cwd, ...args) =>
  execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

// Waits (polling with a deadline) until the index covers the node's current height.
async function indexed() {
  const deadline = Date.now() + 30000;
  for (;;) {
    const s = await (await fetch(`${url}/api/guts/search`)).json();
    if (s.indexed_height >= s.height) return s;
    if (Date.now() > deadline) assert.fail(`search index stuck: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
// GET /search/issues (Octokit's named method for it warns that it is deprecated on each call).
const searchIssues = (o, params) => o.request("GET /search/issues", params);
const titles = (r) => r.data.items.map((i) => i.title).sort();

const owner = "alice";
log("a public and a private repository with code, an issue and a pull request");
await alice.rest.repos.createForAuthenticatedUser({ name: "searchable", description: "A flux-powered forge" });
await alice.rest.repos.createForAuthenticatedUser({ name: "hidden-search", private: true });
const dir = path.join(work, "searchable");
fs.rmSync(dir, { recursive: true, force: true });
git(work, "init", "-q", "-b", "main", dir);
fs.mkdirSync(path.join(dir, "src"));
fs.writeFileSync(path.join(dir, "src", "engine.c"), "int quantum_flux_capacitor(void) {\n  return 88;\n}\n");
fs.writeFileSync(path.join(dir, "README.md"), "# searchable\n");
git(dir, "add", ".");
git(dir, "commit", "-q", "-m", "engine");
git(dir, "push", "-q", `http://alice:${tokens.alice}@${host}/${owner}/searchable.git`, "main");
git(dir, "checkout", "-q", "-b", "cooling");
fs.writeFileSync(path.join(dir, "src", "cooling.c"), "void cool_the_flux(void) {}\n");
git(dir, "add", ".");
git(dir, "commit", "-q", "-m", "cooling");
git(dir, "push", "-q", `http://alice:${tokens.alice}@${host}/${owner}/searchable.git`, "cooling");
const issue = await bob.rest.issues.create({ owner, repo: "searchable", title: "Flux capacitor overheats", body: "At full power the engine melts." });
await alice.rest.issues.createComment({ owner, repo: "searchable", issue_number: issue.data.number, body: "Reproduced at 88 mph." });
await alice.rest.pulls.create({ owner, repo: "searchable", title: "Cool the flux", head: "cooling", base: "main" });
await alice.rest.issues.create({ owner, repo: "hidden-search", title: "Secret flux experiment" });
await indexed();

log("search.repos");
let r = await anon.rest.search.repos({ q: "searchable" });
assert.deepEqual(r.data.items.map((i) => i.full_name), ["alice/searchable"]);
assert.equal(r.data.total_count, 1);
assert.equal(r.data.incomplete_results, false);
r = await anon.rest.search.repos({ q: "flux in:description" });
assert.deepEqual(r.data.items.map((i) => i.full_name), ["alice/searchable"]);
assert.equal((await bob.rest.search.repos({ q: "hidden" })).data.total_count, 0, "a private repository is found by others");
assert.deepEqual((await alice.rest.search.repos({ q: "hidden" })).data.items.map((i) => i.full_name), ["alice/hidden-search"]);

log("search.issuesAndPullRequests");
r = await anon.rest.search.issuesAndPullRequests({ q: "flux" });
assert.deepEqual(titles(r), ["Cool the flux", "Flux capacitor overheats"]);
r = await searchIssues(anon, { q: "flux repo:alice/searchable is:issue" });
assert.deepEqual(titles(r), ["Flux capacitor overheats"]);
assert.equal(r.data.items[0].user.login, "bob");
assert.equal(r.data.items[0].comments, 1);
assert.equal(r.data.items[0].pull_request, undefined);
r = await searchIssues(anon, { q: "flux is:pr" });
assert.deepEqual(titles(r), ["Cool the flux"]);
assert.ok(r.data.items[0].pull_request, "a pull request result has pull_request");
r = await searchIssues(anon, { q: "reproduced in:comments" });
assert.deepEqual(titles(r), ["Flux capacitor overheats"]);
r = await searchIssues(anon, { q: "author:bob repo:alice/searchable" });
assert.deepEqual(titles(r), ["Flux capacitor overheats"]);
assert.deepEqual(titles(await searchIssues(bob, { q: "secret" })), []);
assert.deepEqual(titles(await searchIssues(alice, { q: "secret" })), ["Secret flux experiment"]);

log("the index follows new blocks: close the issue");
await alice.rest.issues.update({ owner, repo: "searchable", issue_number: issue.data.number, state: "closed" });
await indexed();
assert.deepEqual(titles(await searchIssues(anon, { q: "flux is:closed" })), ["Flux capacitor overheats"]);
assert.deepEqual(titles(await searchIssues(anon, { q: "flux is:open" })), ["Cool the flux"]);

log("the index follows new blocks: a repository's new description (its document is rewritten when it changes)");
await alice.rest.repos.update({ owner, repo: "searchable", description: "A tachyon-cooled forge" });
await indexed();
assert.deepEqual((await anon.rest.search.repos({ q: "tachyon in:description" })).data.items.map((i) => i.full_name), ["alice/searchable"]);
assert.equal((await anon.rest.search.repos({ q: "flux in:description" })).data.total_count, 0, "the old description is still found");

log("search.code: substring over the default branch");
r = await anon.rest.search.code({ q: "flux_capac repo:alice/searchable" });
assert.deepEqual(r.data.items.map((i) => i.path), ["src/engine.c"]);
assert.equal(r.data.items[0].repository.full_name, "alice/searchable");
assert.equal(r.data.items[0].name, "engine.c");
assert.equal((await anon.rest.search.code({ q: "cool_the_flux" })).data.total_count, 0, "a branch other than the default is indexed");
r = await anon.request("GET /search/code", { q: "quantum extension:c", headers: { accept: "application/vnd.github.text-match+json" } });
assert.match(r.data.items[0].text_matches[0].fragment, /quantum_flux_capacitor/);

log("bad queries: 422, nothing searched");
for (const q of [undefined, "", "is:sleeping", "\"open quote", "x".repeat(300)]) {
  try {
    await anon.request("GET /search/issues", q === undefined ? {} : { q });
    assert.fail(`accepted q=${q}`);
  } catch (e) {
    assert.equal(e.status, 422, `q=${q}: ${e.status} ${JSON.stringify(e.response?.data)}`);
    assert.equal(e.response.data.message, "Validation Failed");
  }
}
try {
  await anon.rest.search.code({ q: "ab" });
  assert.fail("a two-character code search was accepted");
} catch (e) {
  assert.equal(e.status, 422);
}

log("rebuild from scratch: the operator's admin route; results unchanged");
const adminToken = fs.readFileSync(path.join(work, "node", "admin.token"), "utf8").trim();
let resp = await fetch(`${url}/api/guts/search/rebuild`, { method: "POST", headers: { authorization: `token ${tokens.alice}` } });
assert.equal(resp.status, 403, "a user rebuilt the index");
const before = (await fetch(`${url}/api/guts/search`).then((x) => x.json())).rebuilds;
resp = await fetch(`${url}/api/guts/search/rebuild`, { method: "POST", headers: { "x-guts-admin-token": adminToken } });
assert.equal(resp.status, 202);
const deadline = Date.now() + 30000;
while ((await fetch(`${url}/api/guts/search`).then((x) => x.json())).rebuilds <= before) {
  if (Date.now() > deadline) assert.fail("the rebuild did not finish");
  await new Promise((res) => setTimeout(res, 50));
}
assert.deepEqual(titles(await searchIssues(anon, { q: "flux" })), ["Cool the flux", "Flux capacitor overheats"]);
assert.equal((await anon.rest.search.code({ q: "quantum_flux" })).data.total_count, 1);
log("search ok");
