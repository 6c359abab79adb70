// SSH public keys (docs/git.md "Git over SSH") with the real @octokit/rest client:
// users.createPublicSshKeyForAuthenticatedUser, listPublicSshKeysForAuthenticatedUser,
// getPublicSshKeyForAuthenticatedUser, listPublicKeysForUser (public, no title),
// deletePublicSshKeyForAuthenticatedUser; a malformed key is 422, another user's key id is 404,
// the same key twice is refused, and an anonymous caller cannot add keys.
// Run by run.sh after releases.mjs, on the same node.
import { Octokit } from "@octokit/rest";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const url = process.env.GUTS_URL;
const work = process.env.WORK;
const baseUrl = `${url}/api/v3`;
const alice = new Octokit({ baseUrl, auth: process.env.ALICE_TOKEN });
const bob = new Octokit({ baseUrl, auth: process.env.BOB_TOKEN });
const anon = new Octokit({ baseUrl });
const log = (s) => console.log(`# ${s}`);
async function expectStatus(promise, statuses, what) {
  const want = Array.isArray(statuses) ? statuses : [statuses];
  try {
    await promise;
  } catch (e) {
    assert.ok(want.includes(e.status), `${what}: expected ${want}, got ${e.status} ${JSON.stringify(e.response?.data)}`);
    return e;
  }
  assert.fail(`${what}: expected HTTP ${want}, but the request succeeded`);
}

// A real Ed25519 key made by OpenSSH's ssh-keygen.
const keyFile = path.join(work, "octokit_ed25519");
fs.rmSync(keyFile, { force: true });
fs.rmSync(`${keyFile}.pub`, { force: true });
execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "alice@laptop", "-f", keyFile]);
const pub = fs.readFileSync(`${keyFile}.pub`, "utf8").trim();
const [type, blob] = pub.split(" ");

const before = (await alice.rest.users.listPublicSshKeysForAuthenticatedUser()).data.length;
const { data: created, status } = await alice.rest.users.createPublicSshKeyForAuthenticatedUser({
  title: "laptop",
  key: pub,
});
assert.equal(status, 201);
assert.equal(created.title, "laptop");
assert.equal(created.key, `${type} ${blob}`, "the key is stored without its comment, as GitHub does");
assert.ok(Number.isInteger(created.id) && created.id > 0);
log(`created key ${created.id}`);

const { data: mine } = await alice.rest.users.listPublicSshKeysForAuthenticatedUser();
assert.equal(mine.length, before + 1);
assert.ok(mine.some((k) => k.id === created.id && k.title === "laptop"));
const { data: one } = await alice.rest.users.getPublicSshKeyForAuthenticatedUser({ key_id: created.id });
assert.equal(one.key, created.key);
assert.ok(!Number.isNaN(Date.parse(one.created_at)));

// Public listing: id and key only.
const { data: listed } = await anon.rest.users.listPublicKeysForUser({ username: "alice" });
const pubEntry = listed.find((k) => k.id === created.id);
assert.ok(pubEntry, "alice's key is listed publicly");
assert.equal(pubEntry.key, created.key);
assert.equal(pubEntry.title, undefined);

// Refusals: malformed key, duplicate, another user's key, anonymous.
await expectStatus(
  alice.rest.users.createPublicSshKeyForAuthenticatedUser({ title: "bad", key: "ssh-ed25519 not-base64!" }),
  422, "malformed key");
await expectStatus(
  bob.rest.users.createPublicSshKeyForAuthenticatedUser({ title: "stolen", key: pub }),
  [409, 422], "a key already registered by another user");
await expectStatus(bob.rest.users.getPublicSshKeyForAuthenticatedUser({ key_id: created.id }), 404,
  "another user's key id");
await expectStatus(bob.rest.users.deletePublicSshKeyForAuthenticatedUser({ key_id: created.id }), 404,
  "deleting another user's key");
await expectStatus(anon.rest.users.createPublicSshKeyForAuthenticatedUser({ title: "x", key: pub }), 401,
  "anonymous add");

// Delete, then it is gone everywhere.
const del = await alice.rest.users.deletePublicSshKeyForAuthenticatedUser({ key_id: created.id });
assert.equal(del.status, 204);
await expectStatus(alice.rest.users.getPublicSshKeyForAuthenticatedUser({ key_id: created.id }), 404,
  "deleted key");
const { data: after } = await anon.rest.users.listPublicKeysForUser({ username: "alice" });
assert.ok(!after.some((k) => k.id === created.id));
log("ssh keys: ok");
