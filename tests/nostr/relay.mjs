// A small NIP-01 relay for the Nostr bridge's end-to-end test (ws + nostr-tools' verifyEvent).
// Not a production relay: one process, events in memory and in a JSON file (RELAY_STORE) so a
// restart on the same port (RELAY_PORT) keeps them.
//
//   EVENT  verified (fresh from JSON.parse: verifyEvent caches its result on the object), stored
//          (30617/30618 replace the same kind+pubkey+d), answered with OK, sent to matching
//          subscriptions; a known id is answered "duplicate:"
//   REQ    stored events matching any filter (ids, authors, kinds, #x tags, since, until,
//          limit), then EOSE; later events while subscribed
//   CLOSE  ends a subscription
// Test controls (a test relay only): ["INJECT", ev] sends `ev` to every subscription as is
// (unverified, not stored: to see the bridge reject bad events); ["INJECT_RAW", text] sends the
// text as a frame (an oversized or malformed one).
import fs from 'node:fs';
import { WebSocketServer } from 'ws';
import { verifyEvent } from 'nostr-tools/pure';

const port = Number(process.env.RELAY_PORT || 0);
const portFile = process.env.RELAY_PORT_FILE;
const storeFile = process.env.RELAY_STORE;
const kMaxFrame = 1 << 20;

let events = storeFile && fs.existsSync(storeFile) ? JSON.parse(fs.readFileSync(storeFile)) : [];
const ids = new Set(events.map((e) => e.id));
const save = () => {
  if (!storeFile) return;
  fs.writeFileSync(storeFile + '.tmp', JSON.stringify(events));
  fs.renameSync(storeFile + '.tmp', storeFile);
};

function matches(f, e) {
  if (f.ids && !f.ids.includes(e.id)) return false;
  if (f.authors && !f.authors.includes(e.pubkey)) return false;
  if (f.kinds && !f.kinds.includes(e.kind)) return false;
  if (f.since !== undefined && e.created_at < f.since) return false;
  if (f.until !== undefined && e.created_at > f.until) return false;
  for (const [k, values] of Object.entries(f)) {
    if (!k.startsWith('#') || k.length !== 2) continue;
    if (!e.tags.some((t) => t[0] === k[1] && values.includes(t[1]))) return false;
  }
  return true;
}

const dTag = (e) => (e.tags.find((t) => t[0] === 'd') || [])[1] || '';
const replaceable = (e) => e.kind >= 30000 && e.kind < 40000;

const clients = new Set();
function broadcast(e, text) {
  for (const c of clients)
    for (const [sub, filters] of c.subs)
      if (filters.some((f) => matches(f, e)))
        c.ws.send(text ?? JSON.stringify(['EVENT', sub, e]));
}

const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: kMaxFrame });
wss.on('listening', () => {
  if (portFile) {
    fs.writeFileSync(portFile + '.tmp', String(wss.address().port));
    fs.renameSync(portFile + '.tmp', portFile);
  }
});
wss.on('connection', (ws) => {
  const client = { ws, subs: new Map() };
  clients.add(client);
  ws.on('close', () => clients.delete(client));
  ws.on('message', (data) => {
    let m;
    try {
      m = JSON.parse(data.toString());
    } catch {
      ws.send(JSON.stringify(['NOTICE', 'invalid: not JSON']));
      return;
    }
    if (!Array.isArray(m)) return;
    if (m[0] === 'EVENT') {
      const e = m[1];
      if (!e || typeof e !== 'object' || !verifyEvent(JSON.parse(JSON.stringify(e)))) {
        ws.send(JSON.stringify(['OK', e && e.id, false, 'invalid: bad id or signature']));
        return;
      }
      if (ids.has(e.id)) {
        ws.send(JSON.stringify(['OK', e.id, true, 'duplicate: already have it']));
        return;
      }
      if (replaceable(e))
        events = events.filter(
          (x) => !(x.kind === e.kind && x.pubkey === e.pubkey && dTag(x) === dTag(e)));
      events.push(e);
      ids.add(e.id);
      save();
      ws.send(JSON.stringify(['OK', e.id, true, '']));
      broadcast(e);
    } else if (m[0] === 'REQ') {
      const [, sub, ...filters] = m;
      client.subs.set(sub, filters);
      const found = events.filter((e) => filters.some((f) => matches(f, e)));
      found.sort((a, b) => b.created_at - a.created_at);  // newest first, as relays do
      for (const e of found) ws.send(JSON.stringify(['EVENT', sub, e]));
      ws.send(JSON.stringify(['EOSE', sub]));
    } else if (m[0] === 'CLOSE') {
      client.subs.delete(m[1]);
    } else if (m[0] === 'INJECT') {
      broadcast(m[1]);
    } else if (m[0] === 'INJECT_RAW') {
      for (const c of clients) if (c !== client) c.ws.send(m[1]);
    }
  });
});
const stop = () => wss.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
