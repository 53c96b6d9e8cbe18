/**
 * Reading mailboxes (mailboxes.ts) alone, with an inbox, relays and a
 * receipt sender the test controls, on a fake clock. Only what is settled
 * (stored, stored before, refused for good) leaves a relay, named by its id
 * and the hash of the very bytes read there; a local failure keeps it for
 * the next pass; one delivery receipt goes per sender device, and none again
 * for a copy read later; a relay that fails waits while the others are read.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { Mailboxes } from '../../../src/messenger/mailboxes.js'
import type { MailboxesComponents } from '../../../src/messenger/mailboxes.js'
import type { Stored } from '../../../src/messenger/incoming.js'
import type { EnvelopeMarker } from '../../../src/messenger/history.js'
import { DuplicateEnvelopeError, RejectedEnvelopeError } from '../../../src/messenger/index.js'
import type { Contact, MailboxItem, MailboxRef, RemoteDevice } from '../../../src/messenger/index.js'
import { parseEnvelopeHeader, sealEnvelope } from '../../../src/crypto/envelope.js'
import { toHex } from '../../../src/messenger/bytes.js'
import { createCrypto } from '../../../src/crypto/index.js'
import { testDevice } from './harness.js'
import type { TestDevice } from './harness.js'
import { messageFrom } from './parts-fixture.js'

const crypto = createCrypto()
const T0 = Date.UTC(2026, 11, 6)
const FETCH_MS = 1_000

/** What the inbox does with one envelope. */
type Outcome = { stored: Stored } | { error: Error }

/** Lets the pass under way run to its end (no timers involved: every fake answers in a later turn). */
async function settle (): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise(resolve => setImmediate(resolve))
}

describe('messenger: Mailboxes', function () {
  this.timeout(30_000)
  let clock: FakeTimers.Clock
  let alice: TestDevice
  let relays: PeerId[]
  let boxes: Map<string, MailboxItem[]>
  let down: Set<string>
  let reads: string[]
  let deleted: Array<{ relay: string, refs: MailboxRef[] }>
  let outcomes: Map<string, Outcome>
  let markers: Map<string, EnvelopeMarker>
  let receipts: Array<{ device: string, ids: string[] }>
  let deviceKnown: boolean
  let contact: Contact | undefined

  beforeEach(async () => {
    clock = FakeTimers.install({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    alice = await testDevice(crypto, 'alice', T0)
    relays = await Promise.all([0, 1].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    boxes = new Map(relays.map(r => [r.toString(), []]))
    down = new Set()
    reads = []
    deleted = []
    outcomes = new Map()
    markers = new Map()
    receipts = []
    deviceKnown = true
    contact = undefined
  })

  afterEach(() => { clock.uninstall() })

  function components (): MailboxesComponents {
    return {
      transport: {
        fetchMailbox: async (relay) => {
          await new Promise(resolve => setImmediate(resolve))
          reads.push(relay.toString())
          if (down.has(relay.toString())) throw new Error('relay down')
          return { items: boxes.get(relay.toString()) ?? [], more: false }
        },
        deleteFromMailbox: async (relay, refs) => {
          deleted.push({ relay: relay.toString(), refs })
          const left = (boxes.get(relay.toString()) ?? []).filter(i => !refs.some(r => toHex(r.id) === toHex(i.id)))
          boxes.set(relay.toString(), left)
        }
      },
      network: { relays: () => relays.map(peerId => ({ peerId, addrs: [] })), refresh: async () => {} },
      inbox: {
        receive: async (envelope) => {
          await new Promise(resolve => setImmediate(resolve))
          const outcome = outcomes.get(toHex(envelope))
          if (outcome == null) throw new Error('unexpected envelope')
          if ('error' in outcome) throw outcome.error
          return outcome.stored
        }
      },
      history: { envelopeMarker: async (id) => markers.get(toHex(id)) },
      contacts: { get: async () => contact },
      sessions: { get: async () => ({ archived: [] }) },
      crypto,
      device: async (peerId) => deviceKnown ? { peerId, accountKey: alice.accountKey, identityKey: alice.identity.identityKey.publicKey, addrs: [], relays: [] } satisfies RemoteDevice : undefined,
      sendReceipt: async (_account, devices, body) => { receipts.push({ device: devices[0].peerId.toString(), ids: body.ids.map(toHex) }) },
      now: () => clock.now
    }
  }

  function mailboxes (): Mailboxes {
    return new Mailboxes(components(), { fetchIntervalMs: FETCH_MS })
  }

  /** An envelope on `relay` that the inbox will answer with `outcome`. */
  async function put (relay: PeerId, outcome: Outcome | 'stored-text', bytes?: Uint8Array): Promise<Uint8Array> {
    const envelope = bytes ?? (await sealEnvelope(crypto, crypto.randomBytes(32), { accountKey: alice.accountKey, identityKey: alice.identity.identityKey }, crypto.randomBytes(100))).envelope
    const message = messageFrom(crypto, alice, { kind: 'text', text: 'hi' })
    outcomes.set(toHex(envelope), outcome === 'stored-text' ? { stored: { message, device: alice.peerId, identityKey: alice.identity.identityKey.publicKey } } : outcome)
    boxes.get(relay.toString())?.push({ id: parseEnvelopeHeader(envelope).id, envelope })
    return envelope
  }

  const deletedIds = (relay: PeerId): string[] => deleted.filter(d => d.relay === relay.toString()).flatMap(d => d.refs.map(r => toHex(r.id))).sort()
  const idOf = (envelope: Uint8Array): string => toHex(parseEnvelopeHeader(envelope).id)

  it('deletes only what is settled, by id and the hash of the bytes read; a local failure stays; one receipt per device', async () => {
    const stored1 = await put(relays[0], 'stored-text')
    const stored2 = await put(relays[0], 'stored-text')
    const refused = await put(relays[0], { error: new RejectedEnvelopeError('does not open') })
    const failed = await put(relays[0], { error: new Error('disk full') })
    mailboxes().fetchSoon()
    await settle()
    assert.deepEqual(deletedIds(relays[0]), [idOf(stored1), idOf(stored2), idOf(refused)].sort())
    for (const ref of deleted.flatMap(d => d.refs)) {
      const bytes = [stored1, stored2, refused].find(e => idOf(e) === toHex(ref.id))
      assert.ok(bytes != null)
      assert.deepEqual(ref.hash, crypto.hash.sha256(bytes), 'named by the hash of the bytes this device read')
    }
    assert.equal(boxes.get(relays[0].toString())?.length, 1)
    assert.equal(idOf(boxes.get(relays[0].toString())?.[0].envelope ?? new Uint8Array()), idOf(failed), 'kept for the next pass')
    assert.equal(receipts.length, 1, 'one receipt for the device')
    assert.equal(receipts[0].device, alice.peerId.toString())
    assert.equal(receipts[0].ids.length, 2)
  })

  it('a duplicate owes its receipt again, but a copy read after the receipt went brings none', async () => {
    const first = await put(relays[0], 'stored-text')
    const m = mailboxes()
    m.fetchSoon()
    await settle()
    assert.equal(receipts.length, 1)
    // The same message turns up again on the other relay: stored before, so a duplicate with its marker.
    const outcome = outcomes.get(toHex(first))
    assert.ok(outcome != null && 'stored' in outcome)
    const marker = { message: toHex(outcome.stored.message.id), account: toHex(alice.accountKey), device: alice.peerId.toString() }
    markers.set(idOf(first), marker)
    await put(relays[1], { error: new DuplicateEnvelopeError('stored before') }, first)
    m.fetchSoon()
    await settle()
    assert.deepEqual(deletedIds(relays[1]), [idOf(first)])
    assert.equal(receipts.length, 1, 'no second receipt for a copy')

    // A device that restarted (nothing remembered): a duplicate's receipt goes again, in case it never left.
    await put(relays[1], { error: new DuplicateEnvelopeError('stored before') }, first)
    mailboxes().fetchSoon()
    await settle()
    assert.equal(receipts.length, 2)
    assert.deepEqual(receipts[1].ids, [marker.message])
  })

  it('a receipt that cannot be queued keeps an accepted contact\'s envelope on the relay, but not a stranger\'s', async () => {
    deviceKnown = false
    const fromStranger = await put(relays[0], 'stored-text')
    mailboxes().fetchSoon()
    await settle()
    assert.deepEqual(deletedIds(relays[0]), [idOf(fromStranger)], "a stranger's device without a record keeps nothing in our mailbox")

    contact = { account: toHex(alice.accountKey), handle: alice.handle, state: 'accepted', devices: {}, addedAt: T0 }
    const fromContact = await put(relays[1], 'stored-text')
    mailboxes().fetchSoon()
    await settle()
    assert.deepEqual(deletedIds(relays[1]), [], 'kept until its receipt can go')
    assert.equal(boxes.get(relays[1].toString())?.length, 1)
    assert.equal(idOf(boxes.get(relays[1].toString())?.[0].envelope ?? new Uint8Array()), idOf(fromContact))
    assert.deepEqual(receipts, [])
  })

  it('a relay that cannot be read waits, doubling, while the others are read at every pass', async () => {
    down.add(relays[1].toString())
    const m = mailboxes()
    m.fetchSoon()
    await settle()
    const count = (r: PeerId): number => reads.filter(x => x === r.toString()).length
    assert.deepEqual([count(relays[0]), count(relays[1])], [1, 1])
    m.fetchSoon()
    await settle()
    assert.deepEqual([count(relays[0]), count(relays[1])], [2, 1], 'the failed relay waits')
    await clock.tickAsync(FETCH_MS * 1.3)
    m.fetchSoon()
    await settle()
    assert.deepEqual([count(relays[0]), count(relays[1])], [3, 2], 'its wait is over: read again')
    // Failed twice: now it waits about twice as long.
    await clock.tickAsync(FETCH_MS * 1.3)
    m.fetchSoon()
    await settle()
    assert.equal(count(relays[1]), 2)
    await clock.tickAsync(FETCH_MS * 1.3)
    m.fetchSoon()
    await settle()
    assert.equal(count(relays[1]), 3)
  })

  it('a page\'s delete that fails while the next page is read is not an unhandled rejection (it killed the process), and the pass ends', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
    process.on('unhandledRejection', onUnhandled)
    try {
      const first = await put(relays[0], 'stored-text')
      let releasePage2: () => void = () => {}
      const page2 = new Promise<void>(resolve => { releasePage2 = resolve })
      let page = 0
      const m = new Mailboxes({
        ...components(),
        transport: {
          fetchMailbox: async (relay) => {
            if (relay.toString() !== relays[0].toString()) return { items: [], more: false }
            page++
            if (page === 1) return { items: [...(boxes.get(relay.toString()) ?? [])], more: true, cursor: new Uint8Array([1]) }
            // The second page takes long: the first page's delete times out meanwhile.
            await page2
            return { items: [], more: false }
          },
          deleteFromMailbox: async () => {
            await new Promise(resolve => setImmediate(resolve))
            throw new DOMException('The operation was aborted due to timeout', 'TimeoutError')
          }
        }
      }, { fetchIntervalMs: FETCH_MS })
      m.fetchSoon()
      await settle()
      assert.equal(page, 2, 'the second page is being read')
      // Node reports a rejection nobody handles once the turn's microtasks are done.
      await new Promise(resolve => setImmediate(resolve))
      assert.deepEqual(unhandled, [], 'the failed delete is held for the pass, not left unhandled')
      releasePage2()
      await settle()
      assert.deepEqual(unhandled, [])
      // The failed delete still fails the pass, once: the relay waits before it is read again.
      m.fetchSoon()
      await settle()
      assert.equal(page, 2, 'the relay whose delete failed is read again at once')
      assert.equal(idOf(boxes.get(relays[0].toString())?.[0].envelope ?? new Uint8Array()), idOf(first), 'not deleted: read again next pass')
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})
