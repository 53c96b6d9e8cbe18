/**
 * What relay-sync costs: two linked relays (node/relay.ts, LevelDB in
 * temporary directories, TCP on 127.0.0.1) in this process. B is stopped,
 * A takes N envelopes (and later M signed deletes), B is started again:
 * how long until B holds them all, and how many requests and bytes it
 * took; then what an exchange of identical sets, and of one difference,
 * costs. Prints one JSON object.
 *
 * Run: `npm run bench:sync -- [--envelopes 10000] [--deletes 1000] [--size 600]`
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { parseEnvelopeHeader, ENVELOPE_VERSION } from '../src/crypto/envelope.js'
import { AuthOp, deleteBody, envelopeRef, mailboxId, signOwnerAuth, wire } from '../src/protocols/store/index.js'
import { GossipDelete } from '../src/protocols/store/pb/store.js'
import { startRelay } from '../node/relay.js'
import type { Relay } from '../node/relay.js'

function arg (name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] != null ? process.argv[i + 1] : fallback
}

const ENVELOPES = Number(arg('envelopes', '10000'))
const DELETES = Number(arg('deletes', '1000'))
const SIZE = Number(arg('size', '600'))
/** Envelopes per mailbox (a mailbox takes 2,500 from one source). */
const PER_MAILBOX = 50

function envelope (): Uint8Array {
  const out = crypto.getRandomValues(new Uint8Array(SIZE))
  out[0] = ENVELOPE_VERSION
  return out
}

async function until (check: () => Promise<boolean>): Promise<void> {
  while (!await check()) await new Promise(resolve => setTimeout(resolve, 20))
}

async function main (): Promise<void> {
  const dirs = [await mkdtemp(join(tmpdir(), 'starling-bench-sync-a-')), await mkdtemp(join(tmpdir(), 'starling-bench-sync-b-'))]
  const listen = ['/ip4/127.0.0.1/tcp/0']
  try {
    // Started once to learn each other's addresses, then linked both ways.
    const first = await Promise.all(dirs.map(async dataDir => await startRelay({ dataDir, listen, announce: [] })))
    const addrs = first.map(r => r.node.getMultiaddrs()[0].toString())
    const ports = addrs.map(a => /\/tcp\/(\d+)\//.exec(a)?.[1])
    await Promise.all(first.map(async r => { await r.stop() }))
    const start = async (i: number): Promise<Relay> => await startRelay({ dataDir: dirs[i], listen: [`/ip4/127.0.0.1/tcp/${ports[i]}`], announce: [], peers: [addrs[1 - i]] })
    const a = await start(0)

    // B is down: A takes the envelopes (straight into its store: the store protocol's rate limits are not what is measured).
    const owners: Array<{ key: PrivateKey, mailbox: Uint8Array, envelopes: Uint8Array[] }> = []
    for (let i = 0; i < ENVELOPES; i++) {
      if (i % PER_MAILBOX === 0) {
        const key = await generateKeyPair('Ed25519')
        owners.push({ key, mailbox: mailboxId(peerIdFromPrivateKey(key)), envelopes: [] })
      }
      const owner = owners[owners.length - 1]
      const e = envelope()
      owner.envelopes.push(e)
      await a.mailbox.store.put(owner.mailbox, parseEnvelopeHeader(e).id, e, { source: 'bench' })
    }
    let started = performance.now()
    let b = await start(1)
    const startupMs = performance.now() - started
    await until(async () => (await b.mailbox.store.held()).count >= ENVELOPES)
    const ms = Math.round(performance.now() - started)
    // Its counters are written once the exchange ends.
    await until(async () => pick(b).exchanges > 0)
    const catchUp = { envelopes: ENVELOPES, ms, relayStartMs: Math.round(startupMs), ...pick(b) }

    // Identical sets, then one difference.
    const before = pick(b)
    await b.sync.syncNow(a.node.peerId)
    const identical = diff(pick(b), before)
    const one = owners[0]
    const extra = envelope()
    await a.mailbox.store.put(one.mailbox, parseEnvelopeHeader(extra).id, extra, { source: 'bench' })
    const beforeOne = pick(b)
    await b.sync.syncNow(a.node.peerId)
    const oneDifference = diff(pick(b), beforeOne)
    // B down again; owners delete on A; B restarts and applies the deletes.
    await b.stop()
    const now = Date.now()
    let deleted = 0
    for (const owner of owners) {
      if (deleted >= DELETES) break
      const refs = owner.envelopes.slice(0, Math.min(PER_MAILBOX, DELETES - deleted)).map(e => envelopeRef(parseEnvelopeHeader(e).id, e))
      const { auth } = await signOwnerAuth(owner.key, AuthOp.delete, a.node.peerId, now, deleteBody(refs))
      const signed = GossipDelete.encode({ mailbox: wire(owner.mailbox), refs: refs.map(r => ({ id: wire(r.id), hash: wire(r.hash) })), auth, relay: wire(a.node.peerId.toMultihash().bytes) })
      deleted += await a.mailbox.store.delete(owner.mailbox, refs, { signed, timestamp: now })
    }
    started = performance.now()
    b = await start(1)
    await until(async () => b.sync.metrics().deletes.removed >= deleted)
    const deletes = { deletes: deleted, ms: Math.round(performance.now() - started), firstMailboxLeft: (await b.mailbox.store.usage(one.mailbox)).count, ...pick(b) }

    console.log(JSON.stringify({ catchUp, identical, oneDifference, deletes }, null, 2))
    await b.stop()
    await a.stop()
  } finally {
    await Promise.all(dirs.map(async d => await rm(d, { recursive: true, force: true })))
  }
}

function pick (relay: Relay): { requests: number, bytesIn: number, bytesOut: number, exchanges: number } {
  const m = relay.sync.metrics()
  return { requests: m.requests, bytesIn: m.bytesIn, bytesOut: m.bytesOut, exchanges: m.exchanges.complete + m.exchanges.incomplete }
}

function diff (after: ReturnType<typeof pick>, before: ReturnType<typeof pick>): ReturnType<typeof pick> {
  return { requests: after.requests - before.requests, bytesIn: after.bytesIn - before.bytesIn, bytesOut: after.bytesOut - before.bytesOut, exchanges: after.exchanges - before.exchanges }
}

await main()
