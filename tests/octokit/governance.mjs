// End-to-end governance (docs/governance.md): organizations, memberships, teams, team
// repository permissions and transfers with the real @octokit/rest client, and pushes with the
// stock git client checked against the effective permission. Run by run.sh after e2e.mjs, on
// the same node, with four users: alice (owner), bob (team member with push), carol (member,
// default read) and dave (outsider).
import { Octokit } from "@octokit/rest";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const url = process.env.GUTS_URL;
const work = process.env.WORK;
const baseUrl = `${url}/api/v3`;
const host = url.replace(/^http:\/\//, "");
const tokens = {
  alice: process.env.ALICE_TOKEN,
  bob: process.env.BOB_TOKEN,
  carol: process.env.CAROL_TOKEN,
  dave: process.env.DAVE_TOKEN,
};
const alice = new Octokit({ baseUrl, auth: tokens.alice });
const bob = new Octokit({ baseUrl, auth: tokens.bob });
const carol = new Octokit({ baseUrl, auth: tokens.carol });
const dave = new Octokit({ baseUrl, auth: tokens.dave });
const anon = new Octokit({ baseUrl });
const org = "acme";

const log = (s) => console.log(`# ${s}`);
const gitEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: "0",
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: work,
  GIT_AUTHOR_NAME: "Gov Test",
  GIT_AUTHOR_EMAIL: "gov@example.com",
  GIT_COMMITTER_NAME: "Gov Test",
  GIT_COMMITTER_EMAIL: "gov@example.com",
};
function git(cwd, ...args) {
  return execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}
// A git command expected to fail: returns its stderr.
function gitFails(cwd, ...args) {
  const r = spawnSync("git", args, { cwd, env: gitEnv, encoding: "utf8" });
  assert.notEqual(r.status, 0, `git ${args.join(" ")} should have failed:\n${r.stdout}${r.stderr}`);
  return r.stderr;
}
const remote = (user, o, r) => `http://${user}:${tokens[user]}@${host}/${o}/${r}.git`;
async function expectStatus(promise, status, what) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.status, status, `${what}: expected ${status}, got ${e.status} ${JSON.stringify(e.response?.data)}`);
    return e;
  }
  assert.fail(`${what}: expected HTTP ${status}, but the request succeeded`);
}
const logins = (r) => r.data.map((u) => u.login).sort();

async function main() {
  log("alice creates the organization acme (POST /api/guts/orgs) and acme2 (GitHub's admin route)");
  const created = await alice.request("POST /api/guts/orgs", {
    baseUrl: url,
    login: org,
    name: "Acme Inc.",
    description: "Rockets",
  });
  assert.equal(created.status, 201);
  assert.equal(created.data.login, org);
  assert.equal(created.data.type, "Organization");
  const viaAdmin = await alice.request("POST /admin/organizations", { login: "acme2", admin: "alice", profile_name: "Two" });
  assert.equal(viaAdmin.status, 201);
  assert.equal(viaAdmin.data.name, "Two");
  await expectStatus(bob.request("POST /api/guts/orgs", { baseUrl: url, login: "alice" }), 422, "org name = user name");
  await expectStatus(bob.request("POST /api/guts/orgs", { baseUrl: url, login: "Acme" }), 422, "org name taken");
  await expectStatus(anon.request("POST /api/guts/orgs", { baseUrl: url, login: "x" }), 401, "anonymous create");
  const asUser = await anon.users.getByUsername({ username: org });
  assert.equal(asUser.data.type, "Organization");

  log("orgs.get / orgs.update");
  const got = await anon.orgs.get({ org });
  assert.equal(got.data.name, "Acme Inc.");
  assert.equal(got.data.default_repository_permission, undefined, "settings are for members");
  const updated = await alice.orgs.update({ org, description: "Rockets and more", location: "Moon", default_repository_permission: "read" });
  assert.equal(updated.data.description, "Rockets and more");
  assert.equal(updated.data.default_repository_permission, "read");

  log("memberships: invite + accept (bob), add directly (carol)");
  const invited = await alice.orgs.setMembershipForUser({ org, username: "bob", role: "member" });
  assert.equal(invited.data.state, "pending");
  assert.equal(invited.data.role, "member");
  assert.equal((await alice.orgs.getMembershipForUser({ org, username: "bob" })).data.state, "pending");
  assert.equal((await bob.orgs.getMembershipForAuthenticatedUser({ org })).data.state, "pending");
  await expectStatus(bob.orgs.update({ org, description: "x" }), 403, "pending member updates org");
  const accepted = await bob.orgs.updateMembershipForAuthenticatedUser({ org, state: "active" });
  assert.equal(accepted.data.state, "active");
  const added = await alice.request("PUT /orgs/{org}/members/{username}", { org, username: "carol" });
  assert.equal(added.data.state, "active");
  assert.deepEqual(logins(await anon.orgs.listMembers({ org })), ["alice", "bob", "carol"]);
  assert.deepEqual(logins(await anon.orgs.listMembers({ org, role: "admin" })), ["alice"]);
  assert.equal((await anon.request("GET /orgs/{org}/members/{username}", { org, username: "bob" })).status, 204);
  await expectStatus(anon.request("GET /orgs/{org}/members/{username}", { org, username: "dave" }), 404, "dave is no member");
  assert.deepEqual((await bob.orgs.listForAuthenticatedUser()).data.map((o) => o.login), [org]);
  assert.deepEqual((await anon.orgs.listForUser({ username: "alice" })).data.map((o) => o.login).sort(), [org, "acme2"]);

  log("repos.createInOrg: owner.type is Organization; permissions are effective");
  const app = await alice.repos.createInOrg({ org, name: "app", private: true });
  assert.equal(app.status, 201);
  assert.equal(app.data.full_name, "acme/app");
  assert.equal(app.data.owner.type, "Organization");
  assert.equal(app.data.permissions.admin, true);
  await expectStatus(dave.repos.createInOrg({ org, name: "nope" }), 403, "outsider creates in org");
  await expectStatus(dave.repos.get({ owner: org, repo: "app" }), 404, "private org repo hidden from outsiders");

  log("teams: create, list, getByName, members, repository permission");
  const team = await alice.teams.create({ org, name: "Core Devs", description: "Core", privacy: "closed" });
  assert.equal(team.status, 201);
  assert.equal(team.data.slug, "core-devs");
  const child = await alice.teams.create({ org, name: "Release", parent_team_id: team.data.id });
  assert.equal(child.data.parent.slug, "core-devs");
  assert.deepEqual((await carol.teams.list({ org })).data.map((t) => t.slug).sort(), ["core-devs", "release"]);
  const byName = await carol.teams.getByName({ org, team_slug: "core-devs" });
  assert.equal(byName.data.name, "Core Devs");
  assert.equal(byName.data.organization.login, org);
  const tm = await alice.teams.addOrUpdateMembershipForUserInOrg({ org, team_slug: "core-devs", username: "bob", role: "member" });
  assert.equal(tm.data.role, "member");
  assert.equal(tm.data.state, "active");
  const perm = await alice.teams.addOrUpdateRepoPermissionsInOrg({ org, team_slug: "core-devs", owner: org, repo: "app", permission: "push" });
  assert.equal(perm.status, 204);
  const teamRepos = await alice.teams.listReposInOrg({ org, team_slug: "core-devs" });
  assert.deepEqual(teamRepos.data.map((r) => [r.full_name, r.role_name]), [["acme/app", "push"]]);
  const repoTeams = await alice.request("GET /repos/{owner}/{repo}/teams", { owner: org, repo: "app" });
  assert.deepEqual(repoTeams.data.map((t) => [t.slug, t.permission]), [["core-devs", "push"]]);
  assert.equal((await bob.repos.get({ owner: org, repo: "app" })).data.permissions.push, true);
  const carolView = await carol.repos.get({ owner: org, repo: "app" });
  assert.equal(carolView.data.permissions.push, false);
  assert.equal(carolView.data.permissions.pull, true);

  log("git: alice pushes main; bob (team, push) pushes a branch; carol (read) is refused");
  const aliceDir = path.join(work, "gov-alice");
  fs.mkdirSync(aliceDir);
  git(aliceDir, "init", "-q", "-b", "main");
  fs.writeFileSync(path.join(aliceDir, "README.md"), "# app\n");
  git(aliceDir, "add", "README.md");
  git(aliceDir, "commit", "-q", "-m", "Initial commit");
  git(aliceDir, "remote", "add", "origin", remote("alice", org, "app"));
  git(aliceDir, "push", "-q", "origin", "main");
  const bobDir = path.join(work, "gov-bob");
  execFileSync("git", ["clone", "-q", remote("bob", org, "app"), bobDir], { env: gitEnv });
  git(bobDir, "checkout", "-q", "-b", "feature");
  fs.writeFileSync(path.join(bobDir, "b.txt"), "bob\n");
  git(bobDir, "add", "b.txt");
  git(bobDir, "commit", "-q", "-m", "Bob's change");
  git(bobDir, "push", "-q", "origin", "feature");
  const carolDir = path.join(work, "gov-carol");
  execFileSync("git", ["clone", "-q", remote("carol", org, "app"), carolDir], { env: gitEnv });
  git(carolDir, "checkout", "-q", "-b", "carol");
  fs.writeFileSync(path.join(carolDir, "c.txt"), "carol\n");
  git(carolDir, "add", "c.txt");
  git(carolDir, "commit", "-q", "-m", "Carol's change");
  const refused = gitFails(carolDir, "push", "origin", "carol");
  assert.match(refused, /403|write/, refused);
  const heads = git(aliceDir, "ls-remote", "origin").split("\n").map((l) => l.split("\t")[1]).sort();
  assert.deepEqual(heads, ["HEAD", "refs/heads/feature", "refs/heads/main"]);

  log("git: the default branch can never be deleted (the state machine refuses)");
  const del = gitFails(aliceDir, "push", "origin", ":main");
  assert.match(del, /! \[remote rejected\] main \(refusing to delete the default branch: refs\/heads\/main\)/, del);
  git(aliceDir, "push", "-q", "origin", ":feature");  // other branches can go
  assert.equal(git(aliceDir, "ls-remote", "origin", "refs/heads/main").split(/\s/).length, 2);

  log("child team inherits its parent's permission");
  await alice.teams.addOrUpdateMembershipForUserInOrg({ org, team_slug: "release", username: "carol" });
  assert.equal((await carol.repos.get({ owner: org, repo: "app" })).data.permissions.push, true);
  await alice.teams.removeMembershipForUserInOrg({ org, team_slug: "release", username: "carol" });
  assert.equal((await carol.repos.get({ owner: org, repo: "app" })).data.permissions.push, false);

  log("repos.transfer: into the organization and back out");
  await alice.repos.createForAuthenticatedUser({ name: "lib" });
  const moved = await alice.repos.transfer({ owner: "alice", repo: "lib", new_owner: org });
  assert.equal(moved.status, 202);
  assert.equal(moved.data.full_name, "acme/lib");
  assert.equal(moved.data.owner.type, "Organization");
  await expectStatus(anon.repos.get({ owner: "alice", repo: "lib" }), 404, "old name after transfer");
  assert.equal((await anon.repos.get({ owner: org, repo: "lib" })).data.id, moved.data.id);
  assert.deepEqual((await anon.repos.listForOrg({ org })).data.map((r) => r.name), ["lib"], "app is private");
  const back = await alice.repos.transfer({ owner: org, repo: "lib", new_owner: "alice", new_name: "lib2" });
  assert.equal(back.data.full_name, "alice/lib2");

  log("bad input: 404 unknown, 403 not allowed, 422 invalid — and no partial effect");
  const before = {
    members: logins(await anon.orgs.listMembers({ org })),
    teams: (await alice.teams.list({ org })).data.map((t) => t.slug).sort(),
    org: (await alice.orgs.get({ org })).data,
  };
  await expectStatus(anon.orgs.get({ org: "nope" }), 404, "unknown org");
  await expectStatus(anon.teams.getByName({ org, team_slug: "nope" }), 404, "unknown team");
  await expectStatus(alice.orgs.setMembershipForUser({ org, username: "nobody" }), 404, "unknown user");
  await expectStatus(alice.teams.addOrUpdateRepoPermissionsInOrg({ org, team_slug: "core-devs", owner: org, repo: "nope" }), 404, "unknown repo");
  const e403 = await expectStatus(bob.orgs.update({ org, description: "hijack" }), 403, "member updates org");
  assert.equal(e403.response.data.message, "Must have admin rights to Organization.");
  await expectStatus(carol.teams.create({ org, name: "Mine" }), 403, "member creates team");
  await expectStatus(dave.orgs.removeMember({ org, username: "bob" }), 403, "outsider removes member");
  await expectStatus(bob.orgs.removeMember({ org, username: "carol" }), 403, "member removes another");
  await expectStatus(bob.teams.addOrUpdateMembershipForUserInOrg({ org, team_slug: "core-devs", username: "carol" }), 403, "non-maintainer");
  const badPrivacy = await expectStatus(alice.teams.create({ org, name: "X", privacy: "public" }), 422, "privacy");
  assert.equal(badPrivacy.response.data.errors[0].field, "privacy");
  const badPerm = await expectStatus(alice.teams.addOrUpdateRepoPermissionsInOrg({ org, team_slug: "core-devs", owner: org, repo: "app", permission: "root" }), 422, "permission");
  assert.equal(badPerm.response.data.errors[0].field, "permission");
  const notMember = await expectStatus(alice.teams.addOrUpdateMembershipForUserInOrg({ org, team_slug: "core-devs", username: "dave" }), 422, "team member outside the org");
  assert.equal(notMember.response.data.errors[0].field, "user");
  const atomic = await expectStatus(alice.teams.create({ org, name: "Half", maintainers: ["bob", "dave"] }), 422, "a maintainer outside the org");
  assert.equal(atomic.response.data.errors[0].field, "maintainers");
  const nested = await expectStatus(alice.teams.create({ org, name: "Deep", parent_team_id: child.data.id }), 422, "two levels");
  assert.equal(nested.response.data.errors[0].field, "parent_team_id");
  const lastOwner = await expectStatus(alice.orgs.removeMember({ org, username: "alice" }), 422, "the last owner leaves");
  assert.equal(lastOwner.response.data.errors[0].field, "user");
  await expectStatus(alice.orgs.update({ org, default_repository_permission: "triage" }), 422, "default permission");
  await expectStatus(alice.repos.transfer({ owner: "alice", repo: "lib2", new_owner: "dave" }), 422, "transfer to another user");
  assert.deepEqual(logins(await anon.orgs.listMembers({ org })), before.members);
  assert.deepEqual((await alice.teams.list({ org })).data.map((t) => t.slug).sort(), before.teams);
  const orgAfter = (await alice.orgs.get({ org })).data;
  assert.equal(orgAfter.description, before.org.description);
  assert.equal(orgAfter.default_repository_permission, before.org.default_repository_permission);

  log("leave, remove, delete a team");
  await carol.orgs.removeMember({ org, username: "carol" });
  await expectStatus(carol.repos.get({ owner: org, repo: "app" }), 404, "carol left: private repo hidden");
  await alice.teams.deleteInOrg({ org, team_slug: "core-devs" });
  assert.deepEqual((await alice.teams.list({ org })).data, [], "the child team went with its parent");
  assert.equal((await bob.repos.get({ owner: org, repo: "app" })).data.permissions.push, false);
  console.log("ok: governance");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
