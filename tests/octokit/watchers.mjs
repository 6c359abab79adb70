// Watchers (docs/web.md "Watching a repository") with the real @octokit/rest client:
// octokit.rest.activity.listWatchersForRepo over the node's watch settings made with
// setRepoSubscription / deleteRepoSubscription (subscribed, ignored, stopped), and a private
// repository's watchers hidden from someone who may not read it.
import { Octokit } from "@octokit/rest";
import assert from "node:assert/strict";

const url = process.env.GUTS_URL;
const baseUrl = `${url}/api/v3`;
const alice = new Octokit({ baseUrl, auth: process.env.ALICE_TOKEN });
const bob = new Octokit({ baseUrl, auth: process.env.BOB_TOKEN });
const carol = new Octokit({ baseUrl, auth: process.env.CAROL_TOKEN });
const anon = new Octokit({ baseUrl });
const log = (s) => console.log(`# ${s}`);
const owner = "alice";
const repo = "watched";
const watchers = async (o, r = repo) =>
  (await o.rest.activity.listWatchersForRepo({ owner, repo: r })).data.map((u) => u.login).sort();

await alice.rest.repos.createForAuthenticatedUser({ name: repo });
log("nobody watches a new repository");
assert.deepEqual(await watchers(anon), []);

log("bob and carol watch it: both listed, with GitHub's user shape");
await bob.rest.activity.setRepoSubscription({ owner, repo, subscribed: true });
await carol.rest.activity.setRepoSubscription({ owner, repo, subscribed: true });
assert.deepEqual(await watchers(anon), ["bob", "carol"]);
const one = (await anon.rest.activity.listWatchersForRepo({ owner, repo, per_page: 1 })).data;
assert.equal(one.length, 1);
assert.equal(one[0].type, "User");
assert.ok(one[0].url.endsWith(`/users/${one[0].login}`));

log("carol ignores it: no longer a watcher; bob stops watching: nobody");
await carol.rest.activity.setRepoSubscription({ owner, repo, ignored: true });
assert.deepEqual(await watchers(alice), ["bob"]);
await bob.rest.activity.deleteRepoSubscription({ owner, repo });
assert.deepEqual(await watchers(alice), []);

log("a private repository's watchers are hidden from others (404)");
await alice.rest.repos.createForAuthenticatedUser({ name: "watched-secret", private: true });
await alice.rest.activity.setRepoSubscription({ owner, repo: "watched-secret", subscribed: true });
assert.deepEqual(await watchers(alice, "watched-secret"), ["alice"]);
await assert.rejects(watchers(bob, "watched-secret"), (e) => e.status === 404);
await assert.rejects(watchers(anon, "watched-secret"), (e) => e.status === 404);
console.log("watchers: ok");
