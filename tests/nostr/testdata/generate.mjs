// Generates the golden vectors of tests/nostr (events.json, nip19.json) with nostr-tools, the
// reference JavaScript implementation. Run once; the vectors are committed and the C++ tests
// never need Node. Signatures use fresh auxiliary randomness, so a rerun changes every "sig"
// (all still valid) but no id, serialization or NIP-19 string.
//
//   mkdir -p /tmp/nt && cd /tmp/nt && npm init -y && npm install nostr-tools@2.25.2
//   cp tests/nostr/testdata/generate.mjs /tmp/nt/ && node /tmp/nt/generate.mjs tests/nostr/testdata
import { finalizeEvent, getPublicKey, serializeEvent, getEventHash, verifyEvent } from 'nostr-tools/pure'
import * as nip19 from 'nostr-tools/nip19'
import { hexToBytes } from '@noble/hashes/utils.js'
import { writeFileSync } from 'node:fs'

const out = process.argv[2] || '.'
const keys = [
  '0000000000000000000000000000000000000000000000000000000000000001',
  '67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa',
  'b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfef',
]
const templates = [
  { name: 'plain note', key: 0, kind: 1, created_at: 1700000000, tags: [], content: 'hello nostr' },
  {
    name: 'escapes and unicode',
    key: 1,
    kind: 1,
    created_at: 1712345678,
    tags: [['t', 'caf\u00e9'], ['p', getPublicKey(hexToBytes(keys[0])), 'wss://relay.example', 'mention']],
    content: 'quote " backslash \\ newline \n tab \t cr \r bs \b ff \f ctl \u0001\u001f del \u007f slash / ' +
      'caf\u00e9 \u4e2d\u6587 emoji \u{1F680}\u{1F9D1}\u200D\u{1F4BB} ls \u2028 ps \u2029 bom \uFEFF',
  },
  { name: 'empty content and empty tag', key: 2, kind: 30617, created_at: 0, tags: [['d', 'guts'], ['t'], []], content: '' },
  {
    name: 'quotes in tags',
    key: 2,
    kind: 65535,
    created_at: 253402300799,
    tags: [['subject', 'a "quoted"\tsubject\n'], ['r', '\\\\server\\share']],
    content: '{"json":"inside"}',
  },
]

const events = templates.map(t => {
  const { name, key, ...tmpl } = t
  const ev = finalizeEvent(tmpl, hexToBytes(keys[key]))
  const fresh = JSON.parse(JSON.stringify(ev)) // verifyEvent caches on the object it checks
  if (!verifyEvent(fresh)) throw new Error('nostr-tools could not verify its own event')
  return {
    name,
    secret_key: keys[key],
    event: ev,
    serialized: serializeEvent(ev),
    id: getEventHash(ev),
  }
})
writeFileSync(`${out}/events.json`, JSON.stringify(events, null, 1) + '\n')

const pk = getPublicKey(hexToBytes(keys[1]))
const nip19v = {
  npub: [
    { hex: '7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e',
      bech32: 'npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg' },
    { hex: getPublicKey(hexToBytes(keys[2])), bech32: nip19.npubEncode(getPublicKey(hexToBytes(keys[2]))) },
  ],
  nsec: [
    { hex: '67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa',
      bech32: 'nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5' },
    { hex: keys[2], bech32: nip19.nsecEncode(hexToBytes(keys[2])) },
  ],
  note: events.map(e => ({ hex: e.id, bech32: nip19.noteEncode(e.id) })),
  naddr: [
    { identifier: 'guts', pubkey: pk, kind: 30617, relays: [],
      bech32: nip19.naddrEncode({ identifier: 'guts', pubkey: pk, kind: 30617, relays: [] }) },
    { identifier: 'my \u{1F680} repo', pubkey: pk, kind: 30617,
      relays: ['wss://relay.damus.io', 'wss://nos.lol'],
      bech32: nip19.naddrEncode({ identifier: 'my \u{1F680} repo', pubkey: pk, kind: 30617,
        relays: ['wss://relay.damus.io', 'wss://nos.lol'] }) },
    { identifier: '', pubkey: pk, kind: 1, relays: ['wss://r.example'],
      bech32: nip19.naddrEncode({ identifier: '', pubkey: pk, kind: 1, relays: ['wss://r.example'] }) },
  ],
}
for (const n of nip19v.npub) if (nip19.npubEncode(n.hex) !== n.bech32) throw new Error('npub vector')
for (const n of nip19v.nsec) if (nip19.nsecEncode(hexToBytes(n.hex)) !== n.bech32) throw new Error('nsec vector')
writeFileSync(`${out}/nip19.json`, JSON.stringify(nip19v, null, 1) + '\n')
