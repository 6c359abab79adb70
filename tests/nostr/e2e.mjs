// The Nostr bridge end to end (ctest nostr_e2e, started by run.sh once a guts-node runs with
// alice's repository alice/hello, two issues (#2 closed) and a pull request #3 of two commits,
// and the bridge's own user nostrbot, who may not write to it):
// a NIP-01 relay (relay.mjs) and guts-nostr as child processes, and nostr-tools as the Nostr
// client that checks every event. Waits are conditions with deadlines; children are reaped.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import * as nip19 from 'nostr-tools/nip19';
import { schnorr } from '@noble/curves/secp256k1.js';

const { GUTS_URL, BIN, WORK, ALICE_HOME, BOT_HOME, ALICE_TOKEN, CLONE, HERE } = process.env;
const children = new Set();
let failed = false;

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(fn, what, ms = 60000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await sleep(50);
  }
}
function start(name, cmd, args, env = {}) {
  const log = fs.openSync(path.join(WORK, name + '.log'), 'a');
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
  p.exited = new Promise((r) => p.on('exit', r));
  children.add(p);
  return p;
}
async function stop(p, signal = 'SIGTERM') {
  p.kill(signal);
  await p.exited;
  children.delete(p);
}
async function api(p, opts = {}) {
  const r = await fetch(GUTS_URL + p, {
    ...opts,
    headers: { authorization: 'token ' + ALICE_TOKEN, 'content-type': 'application/json' },
  });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}
const guts = (...args) =>
  execFileSync(path.join(BIN, 'guts'), ['--node', GUTS_URL, ...args], {
    env: { ...process.env, GUTS_HOME: ALICE_HOME },
  }).toString();
const git = (...args) => execFileSync('git', ['-C', CLONE, ...args]).toString().trim();

// ---- the relay and a client of it ----
const relayPortFile = path.join(WORK, 'relay.port');
const relayStore = path.join(WORK, 'relay.json');
async function startRelay(port = 0) {
  fs.rmSync(relayPortFile, { force: true });
  const p = start('relay', 'node', [path.join(HERE, 'relay.mjs')], {
    RELAY_PORT: String(port), RELAY_PORT_FILE: relayPortFile, RELAY_STORE: relayStore,
  });
  const got = await waitFor(() => fs.existsSync(relayPortFile) &&
                                  fs.readFileSync(relayPortFile, 'utf8'), 'the relay');
  return { p, port: Number(got) };
}
let relay = await startRelay();
const relayUrl = `ws://127.0.0.1:${relay.port}`;

// Everything the relay holds or is sent, as a Nostr client sees it (fresh from JSON.parse).
const seen = new Map();
let sock;
async function connectClient() {
  sock = new WebSocket(relayUrl);
  await new Promise((res, rej) => { sock.once('open', res); sock.once('error', rej); });
  sock.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m[0] === 'EVENT') seen.set(m[2].id, m[2]);
  });
  sock.send(JSON.stringify(['REQ', 'check', { kinds: [30617, 30618, 1617, 1621, 1630, 1631, 1632, 1633] }]));
}
await connectClient();
const send = (m) => sock.send(JSON.stringify(m));

try {
  // ---- the binding: checked with nostr-tools' curve code, not the node's word ----
  const binding = (await api('/api/guts/users/nostrbot/nostr')).body;
  const botPk = binding.pubkey;
  check(nip19.npubEncode(botPk) === binding.npub, 'npub of the binding');
  check(binding.statement.includes('nostr: ' + botPk) &&
        binding.statement.includes('identity: ' + binding.did), 'the binding statement');
  const digest = createHash('sha256').update(binding.statement).digest();
  check(schnorr.verify(Buffer.from(binding.sig, 'hex'), digest, Buffer.from(botPk, 'hex')),
        'the Nostr key signed the binding statement');
  check((await api('/api/guts/nostr/' + binding.npub)).body.user.login === 'nostrbot',
        'reverse lookup by npub');
  const profile = await (await fetch(GUTS_URL + '/nostrbot')).text();
  check(profile.includes('id="nostr-key"') && profile.includes(binding.npub),
        'the profile page shows the bound key');

  // ---- the bridge ----
  const bridgeArgs = (home, dir = 'bridge') => [
                                '--node', GUTS_URL, '--home', home, '--relay', relayUrl, '--repo',
                                'alice/hello', '--state-dir', path.join(WORK, dir),
                                '--poll-interval', '0.3', '--log-level', 'debug'];
  // Run as alice, who may write to alice/hello, it refuses to start: Nostr patches would reach
  // CI with the repository's secrets.
  const asAlice = start('bridge-alice', path.join(BIN, 'guts-nostr'), bridgeArgs(ALICE_HOME, 'bridge-alice'));
  check(await asAlice.exited !== 0, 'the bridge refuses a user with write access');
  children.delete(asAlice);
  check(/may write to alice\/hello/.test(fs.readFileSync(path.join(WORK, 'bridge-alice.log'), 'utf8')),
        'the refusal says why');
  let bridge = start('bridge', path.join(BIN, 'guts-nostr'), bridgeArgs(BOT_HOME));

  const mine = (kind, pred = () => true) =>
    [...seen.values()].filter((e) => e.pubkey === botPk && e.kind === kind && pred(e));
  const tag = (e, name) => (e.tags.find((t) => t[0] === name) || [])[1];
  const address = `30617:${botPk}:alice/hello`;
  const repo = (await api('/api/v3/repos/alice/hello')).body;
  const main = git('rev-parse', 'origin/main');

  // Announcement and state.
  const ann = await waitFor(() => mine(30617)[0], 'the repository announcement');
  check(tag(ann, 'd') === 'alice/hello', 'announcement d');
  const clones = ann.tags.find((t) => t[0] === 'clone');
  check(clones.includes(repo.clone_url) && clones.includes('guts://alice/hello'), 'clone URLs');
  check(ann.tags.some((t) => t[0] === 'relays' && t.includes(relayUrl)), 'relays tag');
  const alicePk = (await api('/api/guts/users/alice/nostr')).body.pubkey;
  check(ann.tags.some((t) => t[0] === 'maintainers' && t.includes(alicePk)),
        "the owner's bound key is a maintainer");
  check(ann.tags.some((t) => t[0] === 'r' && t[2] === 'euc' &&
                             t[1] === git('rev-list', '--max-parents=0', 'origin/main')), 'euc');
  const st = await waitFor(() => mine(30618)[0], 'the repository state');
  check(tag(st, 'refs/heads/main') === main, 'state: main');
  check(tag(st, 'HEAD') === 'ref: refs/heads/main', 'state: HEAD');

  // Issues #1 (open) and #2 (closed: a 1632 status naming it).
  const issue1 = await waitFor(() => mine(1621, (e) => tag(e, 'subject') === 'First bug')[0], 'issue 1');
  check(issue1.content === 'Steps to reproduce', 'issue 1 content');
  check(tag(issue1, 'a') === address && tag(issue1, 'p') === botPk, 'issue 1 tags');
  const issue2 = await waitFor(() => mine(1621, (e) => tag(e, 'subject') === 'Second bug')[0], 'issue 2');
  await waitFor(() => mine(1632, (e) => tag(e, 'e') === issue2.id)[0], 'issue 2 closed');
  check(mine(1632, (e) => tag(e, 'e') === issue1.id).length === 0, 'issue 1 is not closed');

  // Pull request #3: a root patch and a reply, one per commit, in order.
  const commits = git('rev-list', '--reverse', 'origin/main..origin/feature').split('\n');
  check(commits.length === 2, 'two commits on feature');
  const root = await waitFor(() => mine(1617, (e) => tag(e, 'commit') === commits[0])[0], 'root patch');
  check(root.tags.some((t) => t[0] === 't' && t[1] === 'root'), 'root patch is a root');
  check(root.content.startsWith('From ' + commits[0]), 'root patch is format-patch text');
  check(tag(root, 'parent-commit') === main, 'parent-commit');
  const reply = await waitFor(() => mine(1617, (e) => tag(e, 'commit') === commits[1])[0], 'second patch');
  check(reply.tags.some((t) => t[0] === 'e' && t[1] === root.id), 'second patch replies to the first');

  // Every event verifies with nostr-tools, from fresh JSON.
  for (const e of seen.values()) check(verifyEvent(JSON.parse(JSON.stringify(e))), 'event ' + e.id + ' verifies');

  // Merge #3 on Guts: a 1631 status with the merge commit, and a new state.
  guts('pr', 'merge', '-R', 'alice/hello', '3');
  const pr3 = (await api('/api/v3/repos/alice/hello/pulls/3')).body;
  check(pr3.merged, 'pull request 3 merged');
  const merged = await waitFor(() => mine(1631, (e) => tag(e, 'e') === root.id)[0], 'merged status');
  check(tag(merged, 'merge-commit') === pr3.merge_commit_sha, 'merge-commit tag');
  await waitFor(() => mine(30618, (e) => tag(e, 'refs/heads/main') === pr3.merge_commit_sha)[0],
                'the state after the merge');
  console.log('published: announcement, state, 2 issues, a 2-patch series, statuses');

  // ---- imports ----
  const sk = generateSecretKey();
  const pk = getPublicKey(sk);
  const now = () => Math.floor(Date.now() / 1000);
  const publish = async (e) => {
    const ok = new Promise((res) => {
      const h = (d) => {
        const m = JSON.parse(d.toString());
        if (m[0] === 'OK' && m[1] === e.id) { sock.off('message', h); res(m); }
      };
      sock.on('message', h);
    });
    send(['EVENT', e]);
    const m = await ok;
    check(m[2] === true, 'relay accepted ' + e.id + ': ' + m[3]);
    return e;
  };
  const issueEvent = (subject, content, at = now()) => finalizeEvent({
    kind: 1621, created_at: at, content,
    tags: [['a', address], ['p', botPk], ['subject', subject]],
  }, sk);
  const nostrItems = async () => {
    const all = [];
    for (let page = 1; ; ++page) {
      const r = (await api(`/api/v3/repos/alice/hello/issues?state=all&per_page=100&page=${page}`)).body;
      all.push(...r);
      if (r.length < 100) break;
    }
    return all.filter((i) => i.user.login === 'nostrbot' &&
                             (i.body || '').startsWith('> Imported from Nostr'));
  };
  const importedAs = async (id) => (await nostrItems()).filter((i) => i.body.split('\n')[0].endsWith('event ' + id));

  // An issue.
  const ni = await publish(issueEvent('Crash on empty input', 'It crashes when the input is empty.'));
  const [gi] = await waitFor(async () => { const r = await importedAs(ni.id); return r.length ? r : null; }, 'the issue import');
  check(gi.title === 'Crash on empty input', 'imported issue title');
  check(gi.body.includes(nip19.npubEncode(pk)), 'imported issue names the Nostr author');
  check(gi.body.endsWith('It crashes when the input is empty.'), 'imported issue content');
  check(!gi.pull_request, 'an issue, not a pull request');

  // A two-patch series on top of main: a pull request with both commits.
  git('fetch', '--quiet', 'origin');
  git('checkout', '--quiet', '-B', 'nostr-work', 'origin/main');
  fs.writeFileSync(path.join(CLONE, 'nostr.txt'), 'from nostr\n');
  git('add', 'nostr.txt');
  git('commit', '--quiet', '-m', 'Add nostr.txt');
  fs.appendFileSync(path.join(CLONE, 'nostr.txt'), 'second line\n');
  git('commit', '--quiet', '-am', 'Extend nostr.txt');
  const [c1, c2] = git('rev-list', '--reverse', 'origin/main..HEAD').split('\n');
  const fp = (c) => git('format-patch', '--stdout', '-1', c) + '\n';
  const base = git('rev-parse', 'origin/main');
  const t0 = now();
  const p1 = finalizeEvent({ kind: 1617, created_at: t0, content: fp(c1), tags: [
    ['a', address], ['p', botPk], ['t', 'root'], ['commit', c1], ['parent-commit', base]] }, sk);
  const p2 = finalizeEvent({ kind: 1617, created_at: t0 + 1, content: fp(c2), tags: [
    ['a', address], ['p', botPk], ['commit', c2], ['parent-commit', c1], ['e', p1.id, '', 'reply']] }, sk);
  await publish(p1);
  await publish(p2);
  const [gp] = await waitFor(async () => { const r = await importedAs(p1.id); return r.length ? r : null; }, 'the patch import');
  check(gp.pull_request, 'the series is a pull request');
  check(gp.title === 'Add nostr.txt', 'pull request title from the patch subject');
  const pull = await waitFor(async () => {
    const pr = (await api('/api/v3/repos/alice/hello/pulls/' + gp.number)).body;
    return pr.commits === 2 ? pr : null;
  }, 'both patches in the pull request');
  check(pull.head.ref === 'nostr/' + p1.id.slice(0, 16), 'head branch named after the root');
  check(pull.head.repo.full_name === 'nostrbot/hello', "the series lives in the bridge user's fork");
  const prCommits = (await api(`/api/v3/repos/alice/hello/pulls/${gp.number}/commits`)).body;
  check(prCommits.map((c) => c.commit.message.split('\n')[0]).join('|') === 'Add nostr.txt|Extend nostr.txt', 'commit messages');
  check(prCommits[0].commit.author.name === git('log', '-1', '--format=%an', c1), 'commit author kept');
  console.log('imported: an issue, a 2-patch series as pull request #' + gp.number);

  // Another key cannot add to that series; an origin line typed by alice is just text.
  const sk2 = generateSecretKey();
  fs.appendFileSync(path.join(CLONE, 'nostr.txt'), 'intruder\n');
  git('commit', '--quiet', '-am', 'Intrude');
  const intruder = finalizeEvent({ kind: 1617, created_at: t0 + 2, content: fp(git('rev-parse', 'HEAD')),
    tags: [['a', address], ['p', botPk], ['e', p1.id, '', 'root']] }, sk2);
  await publish(intruder);
  const typed = issueEvent('Typed origin', 'imported despite the typed line', now() + 1);
  const typedBody = `> Imported from Nostr · issue by ${nip19.npubEncode(pk)} on 2026-01-01T00:00:00Z · event ${typed.id}`;
  check((await api('/api/v3/repos/alice/hello/issues', { method: 'POST',
    body: JSON.stringify({ title: 'Not from the bridge', body: typedBody }) })).status === 201, 'alice types an origin line');
  await publish(typed);
  await waitFor(async () => (await importedAs(typed.id)).length === 1, 'the event named by a typed origin line');
  check(/not importing event [0-9a-f]{64}: it adds to the series of another Nostr key/.test(
    fs.readFileSync(path.join(WORK, 'bridge.log'), 'utf8')), 'the intruding patch is refused');
  check((await api('/api/v3/repos/alice/hello/pulls/' + gp.number)).body.commits === 2,
        'the series still has its two commits');

  // ---- bad input and duplicates: rejected, nothing imported ----
  const dup = issueEvent('Duplicate me', 'once only');
  await publish(dup);
  send(['INJECT', dup]);
  send(['INJECT', dup]);
  const forgedId = { ...issueEvent('Forged id', 'x') };
  forgedId.content = 'tampered after signing';
  send(['INJECT', forgedId]);
  const badSig = issueEvent('Bad signature', 'y');
  const other = issueEvent('Other', 'z');
  send(['INJECT', { ...badSig, sig: other.sig }]);
  const wrongRepo = finalizeEvent({ kind: 1621, created_at: now(), content: 'no',
    tags: [['a', `30617:${pk}:alice/hello`], ['subject', 'Not our repository']] }, sk);
  send(['INJECT', wrongRepo]);
  send(['INJECT_RAW', JSON.stringify(['NOTICE', 'x'.repeat(400 * 1024)])]);  // oversized frame
  const s1 = await publish(issueEvent('Sentinel one', 's1', now() + 2));
  await waitFor(async () => (await importedAs(s1.id)).length === 1, 'sentinel one', 90000);
  check((await importedAs(dup.id)).length === 1, 'a duplicate event is imported once');
  for (const e of [forgedId, badSig, wrongRepo])
    check((await importedAs(e.id)).length === 0, 'bad event ' + e.id + ' not imported');
  const bridgeLog = fs.readFileSync(path.join(WORK, 'bridge.log'), 'utf8');
  check(/rejected event [0-9a-f]{64}: .*id/.test(bridgeLog), 'the forged id is logged as rejected');
  check(/rejected event [0-9a-f]{64}: .*signature/.test(bridgeLog), 'the bad signature is logged as rejected');

  // ---- the relay restarts on the same port: the bridge reconnects and re-subscribes ----
  await stop(relay.p, 'SIGKILL');
  relay = await startRelay(relay.port);
  await connectClient();
  const s2 = await publish(issueEvent('Sentinel two', 's2', now() + 3));
  await waitFor(async () => (await importedAs(s2.id)).length === 1, 'sentinel two after the relay restart', 90000);

  // ---- the bridge is killed and restarted: nothing is imported or announced twice ----
  const before = (await nostrItems()).length;
  const ownIssues = mine(1621).length;
  await stop(bridge, 'SIGKILL');
  bridge = start('bridge', path.join(BIN, 'guts-nostr'), bridgeArgs(BOT_HOME));
  const s3 = await publish(issueEvent('Sentinel three', 's3', now() + 4));
  await waitFor(async () => (await importedAs(s3.id)).length === 1, 'sentinel three after the bridge restart', 90000);
  check((await nostrItems()).length === before + 1, 'no event imported twice across a restart');
  for (const e of [ni, p1, dup, s1, s2, typed]) check((await importedAs(e.id)).length === 1, 'once: ' + e.id);
  // Imported items are not published back as new roots.
  check(mine(1621).length === ownIssues, 'imported issues are not re-published');
  check(mine(1617).length === 2, 'imported patches are not re-published');
  await stop(bridge);
  console.log('nostr e2e: OK');
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
} finally {
  sock?.close();
  for (const p of [...children]) await stop(p).catch(() => {});
  process.exit(failed ? 1 : 0);
}
