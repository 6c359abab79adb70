// Releases and release assets (docs/releases.md) with the real @octokit/rest client:
// createRelease, listReleases, getLatestRelease, getReleaseByTag, uploadReleaseAsset through the
// release's upload_url, the asset's bytes with Accept: application/octet-stream (compared byte for
// byte and by SHA-256), updateRelease, updateReleaseAsset, deleteReleaseAsset, deleteRelease; a
// draft is invisible to a reader; the tarball is a gzip tar of the tag's files; an asset over the
// node's release-asset-max-bytes (run.sh sets 1 MiB) is 413 and nothing is stored.
// Run by run.sh after protection.mjs, on the same node.
import { Octokit } from "@octokit/rest";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const url = process.env.GUTS_URL;
const work = process.env.WORK;
const baseUrl = `${url}/api/v3`;
const host = url.replace(/^http:\/\//, "");
const tokens = { alice: process.env.ALICE_TOKEN, bob: process.env.BOB_TOKEN };
const alice = new Octokit({ baseUrl, auth: tokens.alice });
const bob = new Octokit({ baseUrl, auth: tokens.bob });
const log = (s) => console.log(`# ${s}`);
const gitEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: work,
  GIT_AUTHOR_NAME: "Rel Test",
  GIT_AUTHOR_EMAIL: "rel@example.com",
  GIT_COMMITTER_NAME: "Rel Test",
  GIT_COMMITTER_EMAIL: "rel@example.com",
};
const git = (cwd, ...args) =>
  execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
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
const sha256 = (buf) => crypto.createHash("sha256").update(buf).digest("hex");

const owner = "alice", repo = "release-app";
await alice.rest.repos.createForAuthenticatedUser({ name: repo });
const dir = path.join(work, repo);
fs.rmSync(dir, { recursive: true, force: true });
git(work, "init", "-q", "-b", "main", dir);
fs.writeFileSync(path.join(dir, "README.md"), "# release app\n");
fs.mkdirSync(path.join(dir, "src"));
fs.writeFileSync(path.join(dir, "src", "main.c"), "int main(void) { return 0; }\n");
git(dir, "add", ".");
git(dir, "commit", "-q", "-m", "initial");
git(dir, "push", "-q", `http://alice:${tokens.alice}@${host}/${owner}/${repo}.git`, "main");
const head = git(dir, "rev-parse", "HEAD");

log("createRelease creates the tag at the target branch; getReleaseByTag / getLatestRelease");
const created = await alice.rest.repos.createRelease({
  owner, repo, tag_name: "v1.0.0", name: "One", body: "# First\n\n* it works",
});
assert.equal(created.status, 201);
const rel = created.data;
assert.equal(rel.tag_name, "v1.0.0");
assert.equal(rel.target_commitish, "main");
assert.equal(rel.draft, false);
assert.equal(rel.author.login, "alice");
assert.ok(rel.published_at);
assert.match(rel.upload_url, /\/api\/uploads\/repos\/alice\/release-app\/releases\/\d+\/assets\{\?name,label\}$/);
const tag = await alice.rest.git.getRef({ owner, repo, ref: "tags/v1.0.0" }).catch(() => null);
if (tag) assert.equal(tag.data.object.sha, head);
const byTag = await bob.rest.repos.getReleaseByTag({ owner, repo, tag: "v1.0.0" });
assert.equal(byTag.data.id, rel.id);
await expectStatus(alice.rest.repos.createRelease({ owner, repo, tag_name: "v1.0.0" }), 422, "duplicate tag");
const pre = await alice.rest.repos.createRelease({ owner, repo, tag_name: "v1.1.0-rc1", prerelease: true });
const latest = await bob.rest.repos.getLatestRelease({ owner, repo });
assert.equal(latest.data.id, rel.id, "latest skips prereleases");

log("a draft is invisible to a reader; a reader cannot create releases");
const draft = await alice.rest.repos.createRelease({ owner, repo, tag_name: "v2.0.0", draft: true });
assert.equal(draft.data.published_at, null);
const aliceList = await alice.rest.repos.listReleases({ owner, repo });
assert.deepEqual(aliceList.data.map((r) => r.tag_name), ["v2.0.0", "v1.1.0-rc1", "v1.0.0"]);
const bobList = await bob.rest.repos.listReleases({ owner, repo });
assert.deepEqual(bobList.data.map((r) => r.tag_name), ["v1.1.0-rc1", "v1.0.0"]);
await expectStatus(bob.rest.repos.getRelease({ owner, repo, release_id: draft.data.id }), 404, "draft for a reader");
await expectStatus(bob.rest.repos.getReleaseByTag({ owner, repo, tag: "v2.0.0" }), 404, "draft by tag");
await expectStatus(bob.rest.repos.createRelease({ owner, repo, tag_name: "v9" }), [403, 404], "reader creates");

log("uploadReleaseAsset through upload_url, then the bytes with Accept: application/octet-stream");
const data = crypto.randomBytes(300 * 1024);
const up = await alice.rest.repos.uploadReleaseAsset({
  owner, repo, release_id: rel.id, url: rel.upload_url, name: "app linux.bin", label: "Linux build",
  data, headers: { "content-type": "application/octet-stream", "content-length": data.length },
});
assert.equal(up.status, 201);
const asset = up.data;
assert.equal(asset.name, "app.linux.bin", "special characters become dots, as on GitHub");
assert.equal(asset.label, "Linux build");
assert.equal(asset.size, data.length);
assert.equal(asset.state, "uploaded");
assert.equal(asset.uploader.login, "alice");
const dl = await bob.request("GET /repos/{owner}/{repo}/releases/assets/{asset_id}", {
  owner, repo, asset_id: asset.id, headers: { accept: "application/octet-stream" },
});
const got = Buffer.from(dl.data);
assert.equal(got.length, data.length);
assert.ok(got.equals(data), "downloaded bytes equal the uploaded ones");
assert.equal(sha256(got), sha256(data));
assert.equal(dl.headers.etag, `"${sha256(data)}"`);
const browser = await fetch(asset.browser_download_url);
assert.equal(browser.status, 200);
assert.equal(sha256(Buffer.from(await browser.arrayBuffer())), sha256(data));
const assets = await bob.rest.repos.listReleaseAssets({ owner, repo, release_id: rel.id });
assert.deepEqual(assets.data.map((a) => a.name), ["app.linux.bin"]);
await expectStatus(
  alice.rest.repos.uploadReleaseAsset({ owner, repo, release_id: rel.id, url: rel.upload_url, name: "app linux.bin", data: Buffer.from("x") }),
  422, "duplicate asset name");
await expectStatus(
  bob.rest.repos.uploadReleaseAsset({ owner, repo, release_id: rel.id, url: rel.upload_url, name: "evil.bin", data: Buffer.from("x") }),
  [403, 404], "reader uploads");

log("an asset over release-asset-max-bytes is 413 and nothing is stored");
const big = crypto.randomBytes(1024 * 1024 + 1);
await expectStatus(
  alice.rest.repos.uploadReleaseAsset({ owner, repo, release_id: rel.id, url: rel.upload_url, name: "big.iso", data: big }),
  413, "oversized asset");
const bigSha = sha256(big);
assert.ok(!fs.existsSync(path.join(work, "node", "blobs", bigSha.slice(0, 2), bigSha)), "no blob kept");
const tmp = path.join(work, "node", "blobs", "tmp");
assert.deepEqual(fs.existsSync(tmp) ? fs.readdirSync(tmp) : [], [], "no temporary left");
const after = await alice.rest.repos.listReleaseAssets({ owner, repo, release_id: rel.id });
assert.equal(after.data.length, 1);

log("updateRelease publishes the draft; updateReleaseAsset; deleteReleaseAsset; deleteRelease");
const published = await alice.rest.repos.updateRelease({ owner, repo, release_id: draft.data.id, draft: false, name: "Two" });
assert.equal(published.data.draft, false);
assert.ok(published.data.published_at);
assert.equal(published.data.name, "Two");
assert.equal((await bob.rest.repos.getLatestRelease({ owner, repo })).data.tag_name, "v2.0.0");
const renamed = await alice.rest.repos.updateReleaseAsset({ owner, repo, asset_id: asset.id, name: "app-linux.bin" });
assert.equal(renamed.data.name, "app-linux.bin");
await expectStatus(bob.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: asset.id }), [403, 404], "reader deletes asset");
assert.equal((await alice.rest.repos.deleteReleaseAsset({ owner, repo, asset_id: asset.id })).status, 204);
await expectStatus(alice.rest.repos.getReleaseAsset({ owner, repo, asset_id: asset.id }), 404, "deleted asset");
assert.equal((await alice.rest.repos.deleteRelease({ owner, repo, release_id: pre.data.id })).status, 204);
await expectStatus(alice.rest.repos.getRelease({ owner, repo, release_id: pre.data.id }), 404, "deleted release");

log("tarball_url is a gzip tar of the tag's files");
const tb = await fetch(rel.tarball_url, { headers: { authorization: `token ${tokens.alice}` } });
assert.equal(tb.status, 200);
const tar = zlib.gunzipSync(Buffer.from(await tb.arrayBuffer()));
const names = [];
for (let off = 0; off + 512 <= tar.length; ) {
  const hdr = tar.subarray(off, off + 512);
  if (hdr.every((b) => b === 0)) break;
  const name = hdr.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
  const prefix = hdr.subarray(345, 500).toString("utf8").replace(/\0.*$/s, "");
  const size = parseInt(hdr.subarray(124, 136).toString("utf8").replace(/\0.*$/s, "").trim() || "0", 8);
  const type = String.fromCharCode(hdr[156]);
  if (type === "0" || type === "\0") names.push((prefix ? prefix + "/" : "") + name);
  off += 512 + Math.ceil(size / 512) * 512;
}
assert.ok(names.some((n) => n.endsWith("/README.md")), `README.md in ${names}`);
assert.ok(names.some((n) => n.endsWith("/src/main.c")), `src/main.c in ${names}`);
const zb = await fetch(rel.zipball_url, { headers: { authorization: `token ${tokens.alice}` } });
assert.equal(zb.status, 200);
assert.equal(Buffer.from(await zb.arrayBuffer()).subarray(0, 2).toString(), "PK");

console.log("ok: releases (Octokit)");
