/**
 * Who a handle is (recipients.ts), with contacts over an in-memory store, a
 * directory the test controls and a clock it moves. A bare name is never
 * pinned silently; a resolution is reused for a while; a name that comes to
 * resolve to another account blocks sending with a loud warning; a contact
 * stays reachable through its kept device records when the DHT cannot
 * answer; a blocked contact is refused.
 */
import assert from 'node:assert/strict'
import { RESOLUTION_TTL_MS, Recipients } from '../../../src/messenger/recipients.js'
import { Contacts } from '../../../src/messenger/contacts.js'
import type { MessengerEvent } from '../../../src/messenger/index.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createCrypto } from '../../../src/crypto/index.js'
import type { Directory } from '../../../src/net/directory.js'
import { fakeDirectory, memoryStore, testDevice } from './harness.js'
import type { TestDevice } from './harness.js'

const crypto = createCrypto()
const T0 = Date.UTC(2026, 11, 6)

describe('messenger: Recipients', function () {
  this.timeout(30_000)
  let now: number
  let bob: TestDevice
  let published: TestDevice[]
  let dhtUp: boolean
  let lookups: number
  let contacts: Contacts
  let events: MessengerEvent[]

  beforeEach(async () => {
    now = T0
    bob = await testDevice(crypto, 'bob', T0)
    published = [bob]
    dhtUp = true
    lookups = 0
    contacts = new Contacts(await memoryStore(), () => now)
    events = []
  })

  /** A directory over `published` (changed by the tests), failing while the DHT is down. */
  function directory (): Pick<Directory, 'resolveOne' | 'lookupDevice'> {
    const inner = fakeDirectory(published)
    const up = (): void => {
      if (!dhtUp) throw Object.assign(new Error('no DHT server answered'), { name: 'DhtUnavailableError' })
    }
    return {
      resolveOne: async (handle) => {
        lookups++
        up()
        return await inner.resolveOne(handle)
      },
      lookupDevice: async (peerId) => {
        up()
        return await inner.lookupDevice(peerId)
      }
    }
  }

  const recipients = (): Recipients => new Recipients({ directory: directory(), contacts, now: () => now, emit: (e) => { events.push(e) } })

  it('a bare name is refused with the name~tag and fingerprint it resolves to until confirmed, then pinned', async () => {
    const r = recipients()
    await assert.rejects(r.recipient('bob'), (err: Error & { handle?: string }) => {
      assert.equal(err.name, 'UnconfirmedHandleError')
      assert.equal(err.handle, bob.handle)
      return true
    })
    assert.deepEqual(await contacts.list(), [], 'nothing pinned')
    const confirmed = await r.recipient('bob', { confirm: true })
    assert.equal(confirmed.handle, bob.handle)
    assert.deepEqual(confirmed.devices.map(d => d.peerId.toString()), [bob.peerId.toString()])
    assert.deepEqual(await contacts.alias('bob'), bob.accountKey)
    assert.equal((await r.recipient('bob')).handle, bob.handle, 'pinned: no confirmation any more')
  })

  it('a confirmation pins only the name~tag the user saw: a bare name that resolves to another by then is shown again, nothing pinned', async () => {
    const r = recipients()
    const shown = await r.recipient('bob').catch((err: Error & { handle: string }) => err.handle)
    assert.equal(shown, bob.handle)
    const impostor = await testDevice(crypto, 'bob', T0)
    published.splice(0, published.length, impostor)
    await assert.rejects(r.recipient('bob', { confirm: true, expect: shown }), (err: Error & { handle?: string }) => {
      assert.equal(err.name, 'UnconfirmedHandleError')
      assert.equal(err.handle, impostor.handle, 'the new claim is named for the user to check')
      return true
    })
    assert.deepEqual(await contacts.list(), [], 'nothing pinned')
    assert.equal(await contacts.alias('bob'), undefined)
    published.splice(0, published.length, bob)
    assert.equal((await r.recipient('bob', { confirm: true, expect: shown })).handle, bob.handle)
    assert.deepEqual(await contacts.alias('bob'), bob.accountKey)
  })

  it('a resolution is reused for RESOLUTION_TTL_MS, then asked again', async () => {
    const r = recipients()
    await r.recipient(bob.handle)
    await r.recipient(bob.handle)
    assert.equal(lookups, 1)
    now += RESOLUTION_TTL_MS
    await r.recipient(bob.handle)
    assert.equal(lookups, 2)
  })

  it('a pinned name that now resolves to another account: KeyChangedError and a key-change event, the name stays pinned to the old account', async () => {
    const r = recipients()
    await r.recipient('bob', { confirm: true })
    const impostor = await testDevice(crypto, 'bob', T0)
    published.splice(0, published.length, impostor)
    now += RESOLUTION_TTL_MS
    await assert.rejects(r.recipient('bob'), { name: 'KeyChangedError' })
    assert.deepEqual(events.map(e => e.type), ['key-change'])
    assert.deepEqual(await contacts.alias('bob'), bob.accountKey)
  })

  it('when the DHT cannot answer, a pinned contact is reached through its kept device records', async () => {
    await recipients().recipient(bob.handle)
    dhtUp = false
    const fresh = recipients()
    const kept = await fresh.recipient(bob.handle)
    assert.deepEqual(kept.devices.map(d => d.peerId.toString()), [bob.peerId.toString()])
    assert.ok(kept.devices[0].bundle != null, 'with prekeys to start a session')
    // Someone never pinned: the DHT's error comes through.
    await assert.rejects(fresh.recipient('carol~aaaaaaaaaa'), { name: 'DhtUnavailableError' })
  })

  it('a blocked contact is refused', async () => {
    const r = recipients()
    await r.recipient(bob.handle)
    await contacts.setState(bob.accountKey, 'blocked')
    await assert.rejects(r.recipient(bob.handle), { name: 'BlockedContactError' })
  })

  it('keeps a bounded number of looked-up devices in memory: past it, the oldest is looked up again', async () => {
    let deviceLookups = 0
    const r = new Recipients({
      directory: { ...directory(), lookupDevice: async () => { deviceLookups++; return bob.record } },
      contacts,
      now: () => now,
      emit: (e) => { events.push(e) }
    })
    const peers = await Promise.all(Array.from({ length: 1025 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    for (const peer of peers) assert.ok(await r.device(peer) != null)
    assert.equal(deviceLookups, 1025)
    // The most recent is still kept; the first was let go and is asked for again.
    await r.device(peers[1024])
    assert.equal(deviceLookups, 1025)
    await r.device(peers[0])
    assert.equal(deviceLookups, 1026)
  })

  it('a device in use stays in memory while others come and go: least recently used, not first looked up, goes first', async () => {
    const looked: string[] = []
    const r = new Recipients({
      directory: { ...directory(), lookupDevice: async (peerId) => { looked.push(peerId.toString()); return bob.record } },
      contacts,
      now: () => now,
      emit: (e) => { events.push(e) }
    })
    const peers = await Promise.all(Array.from({ length: 1400 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    await r.device(bob.peerId)
    // Someone makes us look up devices (a sybil's, writing to us); Bob's device is used in between.
    for (const peer of peers.slice(0, 700)) await r.device(peer)
    await r.device(bob.peerId)
    for (const peer of peers.slice(700)) await r.device(peer)
    await r.device(bob.peerId)
    assert.equal(looked.filter(p => p === bob.peerId.toString()).length, 1, 'the device in use was let go and looked up in the DHT again')
  })
})
