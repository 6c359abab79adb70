// Notifications (docs/web.md "Notifications") with the real @octokit/rest client:
// octokit.rest.activity.* — watching a repository, participation (author, commenter, @mention,
// assignee), listing (all, participating, since, before), marking read one thread and all,
// thread subscriptions (ignore, unsubscribe), and a private repository's thread never reaching
// someone who may not read it. Run by run.sh after the other suites.
import { Octokit } from "@octokit/rest";
import assert from "node:assert/strict";

const url = process.env.GUTS_URL;
const baseUrl = `${url}/api/v3`;
const alice = new Octokit({ baseUrl, auth: process.env.ALICE_TOKEN });
const bob = new Octokit({ baseUrl, auth: process.env.BOB_TOKEN });
const carol = new Octokit({ baseUrl, auth: process.env.CAROL_TOKEN });
const dave = new Octokit({ baseUrl, auth: process.env.DAVE_TOKEN });
const anon = new Octokit({ baseUrl });
const log = (s) => console.log(`# ${s}`);
const owner = "alice";
const repo = "notify-me";
const list = async (o, params = {}) =>
  (await o.rest.activity.listNotificationsForAuthenticatedUser(params)).data;
const mine = (items) => items.filter((n) => n.repository.full_name === `${owner}/${repo}`);

log("anonymous callers get 401");
await assert.rejects(anon.rest.activity.listNotificationsForAuthenticatedUser(), (e) => e.status === 401);

await alice.rest.repos.createForAuthenticatedUser({ name: repo });
log("bob watches the repository; carol is not watching");
await assert.rejects(bob.rest.activity.getRepoSubscription({ owner, repo }), (e) => e.status === 404);
const sub = await bob.rest.activity.setRepoSubscription({ owner, repo, subscribed: true });
assert.equal(sub.data.subscribed, true);
assert.equal(sub.data.ignored, false);
assert.ok(sub.data.repository_url.endsWith(`/repos/${owner}/${repo}`));
assert.equal((await bob.rest.activity.getRepoSubscription({ owner, repo })).data.subscribed, true);

log("alice opens an issue mentioning @carol: bob (watching) and carol (mentioned) are notified");
const before = new Date(Date.now() - 1000).toISOString();
const issue = (
  await alice.rest.issues.create({ owner, repo, title: "Ping", body: "cc @carol, what do you think?" })
).data;
let b = mine(await list(bob));
assert.equal(b.length, 1);
assert.equal(b[0].reason, "subscribed");
assert.equal(b[0].unread, true);
assert.equal(b[0].subject.title, "Ping");
assert.equal(b[0].subject.type, "Issue");
assert.ok(b[0].subject.url.endsWith(`/repos/${owner}/${repo}/issues/${issue.number}`));
assert.equal(b[0].repository.full_name, `${owner}/${repo}`);
const threadId = b[0].id;
let c = mine(await list(carol));
assert.equal(c.length, 1);
assert.equal(c[0].reason, "mention");
assert.equal(c[0].id, threadId);
assert.equal(mine(await list(alice)).length, 0, "the actor is not notified of her own action");
assert.equal(mine(await list(dave)).length, 0, "dave neither watches nor participates");
assert.equal(mine(await list(bob, { participating: true })).length, 0, "bob only watches");
assert.equal(mine(await list(carol, { participating: true })).length, 1);
assert.equal(mine(await list(bob, { since: before })).length, 1);
assert.equal(mine(await list(bob, { before })).length, 0);

log("carol comments: alice (author) is notified; carol now participates");
await carol.rest.issues.createComment({ owner, repo, issue_number: issue.number, body: "Looks good" });
const a = mine(await list(alice));
assert.equal(a.length, 1);
assert.equal(a[0].reason, "author");
const thread = (await alice.rest.activity.getThread({ thread_id: Number(a[0].id) })).data;
assert.equal(thread.id, a[0].id);
assert.equal(thread.unread, true);
const ts = (await carol.rest.activity.getThreadSubscriptionForAuthenticatedUser({ thread_id: Number(threadId) })).data;
assert.equal(ts.subscribed, true);
assert.ok(ts.thread_url.endsWith(`/notifications/threads/${threadId}`));

log("alice marks the thread read: it leaves the unread list, stays in all=true");
await alice.rest.activity.markThreadAsRead({ thread_id: Number(a[0].id) });
assert.equal(mine(await list(alice)).length, 0);
const all = mine(await list(alice, { all: true }));
assert.equal(all.length, 1);
assert.equal(all[0].unread, false);
assert.ok(all[0].last_read_at);

log("carol ignores the thread: bob's comment reaches alice and bob's watch, not carol");
await carol.rest.activity.setThreadSubscription({ thread_id: Number(threadId), ignored: true });
await carol.rest.activity.markNotificationsAsRead();
assert.equal(mine(await list(carol)).length, 0);
await bob.rest.issues.createComment({ owner, repo, issue_number: issue.number, body: "+1" });
assert.equal(mine(await list(carol)).length, 0, "an ignored thread stays silent");
assert.equal(mine(await list(alice)).length, 1, "read threads become unread on new activity");

log("bob stops watching and unsubscribes: a mention subscribes him again");
await bob.rest.activity.deleteRepoSubscription({ owner, repo });
await assert.rejects(bob.rest.activity.getRepoSubscription({ owner, repo }), (e) => e.status === 404);
await bob.rest.activity.markNotificationsAsRead({ last_read_at: new Date(Date.now() + 60000).toISOString() });
await bob.rest.activity.deleteThreadSubscription({ thread_id: Number(threadId) });
await alice.rest.issues.createComment({ owner, repo, issue_number: issue.number, body: "closing soon" });
assert.equal(mine(await list(bob)).length, 0, "unsubscribed (he had commented before)");
await alice.rest.issues.createComment({ owner, repo, issue_number: issue.number, body: "@bob please look" });
b = mine(await list(bob));
assert.equal(b.length, 1);
assert.equal(b[0].reason, "mention");

log("a private repository's thread never reaches someone who may not read it");
await alice.rest.repos.createForAuthenticatedUser({ name: "notify-private", private: true });
await alice.rest.issues.create({ owner, repo: "notify-private", title: "Secret", body: "@dave look" });
const d = (await list(dave)).filter((n) => n.repository.full_name === `${owner}/notify-private`);
assert.equal(d.length, 0, "a mention does not leak a private thread");
await assert.rejects(dave.rest.activity.setRepoSubscription({ owner, repo: "notify-private", subscribed: true }),
  (e) => e.status === 404);

log("repository watch ignoring: no notification at all");
await carol.rest.activity.setRepoSubscription({ owner, repo, ignored: true });
assert.equal((await carol.rest.activity.getRepoSubscription({ owner, repo })).data.ignored, true);
await alice.rest.issues.create({ owner, repo, title: "Second", body: "@carol again" });
assert.equal(mine(await list(carol)).filter((n) => n.subject.title === "Second").length, 0);

console.log("notifications: ok");
