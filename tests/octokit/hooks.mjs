// Webhooks with the real @octokit/rest client (docs/webhooks.md): create, list, get, update,
// list deliveries and delete a repository webhook; the secret is never returned; loopback URLs
// are refused on a node without webhook-allow-private. Run by run.sh after governance.mjs.
import { Octokit } from "@octokit/rest";
import assert from "node:assert/strict";

const baseUrl = `${process.env.GUTS_URL}/api/v3`;
const alice = new Octokit({ baseUrl, auth: process.env.ALICE_TOKEN });
const bob = new Octokit({ baseUrl, auth: process.env.BOB_TOKEN });
const log = (s) => console.log(`# ${s}`);
async function expectStatus(promise, status, what) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.status, status, `${what}: expected ${status}, got ${e.status} ${JSON.stringify(e.response?.data)}`);
    return e;
  }
  assert.fail(`${what}: expected HTTP ${status}, but the request succeeded`);
}

const owner = "alice";
const repo = "hooks-octokit";
await alice.rest.repos.createForAuthenticatedUser({ name: repo });

log("createWebhook");
const created = await alice.rest.repos.createWebhook({
  owner,
  repo,
  name: "web",
  config: { url: "https://hooks.example.com/receive", content_type: "json", secret: "octo-secret" },
  events: ["push", "issues"],
  active: true,
});
assert.equal(created.status, 201);
const hook_id = created.data.id;
assert.equal(created.data.config.url, "https://hooks.example.com/receive");
assert.equal(created.data.config.secret, "********");
assert.deepEqual(created.data.events, ["push", "issues"]);
assert.equal(created.data.type, "Repository");

log("listWebhooks / getWebhook");
const list = await alice.rest.repos.listWebhooks({ owner, repo });
assert.deepEqual(list.data.map((h) => h.id), [hook_id]);
const got = await alice.rest.repos.getWebhook({ owner, repo, hook_id });
assert.equal(got.data.config.secret, "********");
assert.equal(got.data.active, true);

log("updateWebhook");
const updated = await alice.rest.repos.updateWebhook({ owner, repo, hook_id, active: false, add_events: ["issue_comment"] });
assert.equal(updated.data.active, false);
assert.deepEqual(updated.data.events, ["push", "issues", "issue_comment"]);

log("listWebhookDeliveries (the ping on creation)");
const deliveries = await alice.rest.repos.listWebhookDeliveries({ owner, repo, hook_id });
assert.ok(Array.isArray(deliveries.data));
for (const d of deliveries.data) assert.equal(typeof d.guid, "string");

log("bad input and permissions");
await expectStatus(
  alice.rest.repos.createWebhook({ owner, repo, config: { url: "http://127.0.0.1:9/x" } }),
  422,
  "loopback URL",
);
await expectStatus(alice.rest.repos.createWebhook({ owner, repo, config: { url: "ftp://x.example" } }), 422, "ftp URL");
{
  const e = await bob.rest.repos.listWebhooks({ owner, repo }).then(() => null, (err) => err);
  assert.ok(e && (e.status === 403 || e.status === 404), `bob lists alice's hooks: ${e?.status}`);
}

log("deleteWebhook");
const del = await alice.rest.repos.deleteWebhook({ owner, repo, hook_id });
assert.equal(del.status, 204);
await expectStatus(alice.rest.repos.getWebhook({ owner, repo, hook_id }), 404, "deleted hook");
log("hooks.mjs: ok");
