/**
 * Attacks on the grouping of puts per mailbox (put-group.ts): puts of one
 * mailbox that arrive together are checked one by one and share one synced
 * write. A stranger's puts into a victim's mailbox, arriving in the same
 * group as a contact's, must not fail the contact's put (each refused put is
 * refused alone, by its own reason) nor hold it for more than the group's
 * one synced write.
 */
import assert from 'node:assert/strict'
import { sha256 } from '@noble/hashes/sha2.js'
import { parseEnvelopeHeader } from '../../../src/crypto/envelope.js'
import { envelopeRef } from '../../../src/protocols/store/index.js'
import { EnvelopeStore } from '../../../src/relay/index.js'
import { indexKey } from '../../../src/relay/keys.js'
import type { Namespace } from '../../../src/store/store.js'
import { GatedStore, fakeClock, fakeEnvelope, waitFor } from './helpers.js'

const INDEX_KEY = 0x48
const CONTACT = { source: 'ip4:192.0.2.1' }
const STRANGER = { source: 'ip4:198.51.100.7' }

function idOf (envelope: Uint8Array): Uint8Array {
  return parseEnvelopeHeader(envelope).id
}

/** A gated store whose reads of chosen index keys also fail. */
class FaultyStore extends GatedStore {
  failReads = new Set<string>()

  override async get (namespace: Namespace, key: Uint8Array): Promise<Uint8Array | undefined> {
    if (key[0] === INDEX_KEY && this.failReads.has(Buffer.from(key).toString('hex'))) throw new Error('unreadable sector')
    return await super.get(namespace, key)
  }
}

describe('relay/envelope-store: a stranger\'s puts in the same group as a contact\'s', () => {
  let level: FaultyStore
  const clock = fakeClock(1_800_000_000_000)

  beforeEach(async () => {
    level = new FaultyStore()
    await level.open()
  })

  afterEach(async () => {
    level.release()
    await level.close()
  })

  it('every bad put of a group is refused alone, by its own reason; the contact\'s put is stored in the group\'s one synced write', async () => {
    const store = new EnvelopeStore(level, { now: clock.now, maxEnvelopesPerMailboxPerSource: 2, retentionMs: 60_000 })
    const victim = new Uint8Array(32).fill(7)
    // An envelope the victim fetched and deleted: a copy of it is refused (its tombstone).
    const deleted = fakeEnvelope()
    await store.put(victim, idOf(deleted), deleted, STRANGER)
    await store.delete(victim, [envelopeRef(idOf(deleted), deleted)], { signed: new Uint8Array(64).fill(1), timestamp: clock.now() })
    // A put whose reads fail (a fault of the disk under one key).
    const unreadable = fakeEnvelope()
    level.failReads.add(Buffer.from(indexKey(victim, idOf(unreadable), sha256(unreadable))).toString('hex'))
    const expired = fakeEnvelope()
    const contact = fakeEnvelope()
    const overShare = [fakeEnvelope(), fakeEnvelope(), fakeEnvelope()]

    const before = level.batches
    const outcome = async (p: Promise<unknown>): Promise<string> => await p.then(() => 'ok', (err: Error & { quota?: string }) => err.quota ?? err.name)
    const results = await Promise.all([
      outcome(store.put(victim, idOf(deleted), deleted, STRANGER)),
      outcome(store.put(victim, idOf(unreadable), unreadable, STRANGER)),
      outcome(store.putSynced(victim, idOf(expired), expired, clock.now() - 120_000, { source: 'relay:linked', linked: true })),
      ...overShare.map(async e => await outcome(store.put(victim, idOf(e), e, STRANGER))),
      outcome(store.put(victim, idOf(contact), contact, CONTACT))
    ])
    assert.deepEqual(results, ['DeletedByOwnerError', 'Error', 'InvalidStoreRequestError', 'ok', 'ok', 'mailbox-share', 'ok'])
    assert.equal(level.batches - before, 1, 'the group took more than one synced write')
    const held = (await store.fetch(victim, undefined, 100, 1 << 20)).envelopes.map(e => Buffer.from(e.envelope).toString('hex'))
    assert.ok(held.includes(Buffer.from(contact).toString('hex')), 'the contact\'s put is not held')
    assert.equal(held.length, 3)
  })

  it('a contact\'s put behind a flood of a stranger\'s puts waits for at most the group in progress and its own: two synced writes, not one per put', async () => {
    const store = new EnvelopeStore(level, { now: clock.now })
    await store.held()
    const victim = new Uint8Array(32).fill(8)
    level.hold = true
    // The first group: one put, its synced write held (a slow disk).
    const first = fakeEnvelope()
    const firstPut = store.put(victim, idOf(first), first, STRANGER)
    await waitFor('the first group\'s write', () => level.held === 1)
    // Meanwhile 200 of the stranger's puts and then the contact's arrive: they form the next group.
    const flood = Array.from({ length: 200 }, () => fakeEnvelope())
    const floodPuts = flood.map(async (e, i) => await store.put(victim, idOf(e), e, { source: `ip4:198.51.100.${i % 100}` }))
    const contact = fakeEnvelope()
    let contactDone = false
    const contactPut = store.put(victim, idOf(contact), contact, CONTACT).then(() => { contactDone = true })
    const before = level.batches
    level.release()
    await firstPut
    await contactPut
    assert.ok(contactDone)
    assert.ok(level.batches - before <= 1, `the contact's put waited for ${level.batches - before} synced writes after the first`)
    await Promise.all(floodPuts)
    assert.equal((await store.usage(victim)).count, 202)
  })
})
