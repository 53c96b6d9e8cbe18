/**
 * Delivery with the devices Recipients keeps (recipients.ts), wired as
 * parts.ts wires them. Devices in memory are bounded (least recently used
 * go first), so anyone who makes us look up enough devices (a sybil's
 * devices writing to us, each looked up for its receipt) pushes a contact's
 * device out of memory. A contact must stay reachable through its kept
 * device record all the same when the DHT has none: its addresses for
 * the direct send, its own relay first for the hand-off.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { Delivery } from '../../../src/messenger/delivery.js'
import { Recipients } from '../../../src/messenger/recipients.js'
import type { Custody } from '../../../src/messenger/index.js'
import { remoteDevice } from '../../../src/messenger/devices.js'
import { toHex } from '../../../src/messenger/bytes.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'
import { fakeDirectory, testDevice } from './harness.js'
import { deviceState, messageFrom } from './parts-fixture.js'

const T0 = Date.UTC(2026, 11, 6)
const RETRY_MS = 1_000
const RETENTION_MS = 10 * 60_000
/** More than Recipients keeps in memory. */
const SYBIL_DEVICES = 1_100

describe('messenger: Delivery reaches a contact through its kept device record', function () {
  this.timeout(120_000)
  let clock: FakeTimers.Clock | undefined

  afterEach(() => { clock?.uninstall() })

  it('a contact\'s device pushed out of memory by a sybil\'s lookups, its record lapsed from the DHT: sent to its addresses and its own relay first', async () => {
    const [bobsRelay, ...ourRelays] = await Promise.all([0, 1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    const alice = await testDevice(crypto, 'alice', T0, [ourRelays[0]])
    const bob = await testDevice(crypto, 'bob', T0, [bobsRelay])
    const mallory = await testDevice(crypto, 'mallory', T0)
    const sybils = await Promise.all(Array.from({ length: SYBIL_DEVICES }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    clock = FakeTimers.install({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const now = (): number => clock?.now ?? T0
    const state = await deviceState(crypto, now)
    let bobsRecordInDht = true
    const inner = fakeDirectory([bob])
    const recipients = new Recipients({
      directory: {
        resolveOne: async (handle) => await inner.resolveOne(handle),
        lookupDevice: async (peerId) => {
          if (!peerId.equals(bob.peerId)) return mallory.record
          return bobsRecordInDht ? bob.record : undefined
        }
      },
      contacts: state.contacts,
      now,
      emit: state.emit
    })
    // Bob is a contact: resolved, pinned, his device record kept.
    const to = await recipients.recipient(bob.handle)
    // Mallory's devices write to us; each is looked up (for its receipt), and kept in memory.
    const flood = async (): Promise<void> => { for (const sybil of sybils) await recipients.device(sybil) }
    await flood()
    // Bob has been away for longer than his record lives in the DHT.
    bobsRecordInDht = false

    const direct: Multiaddr[][] = []
    const relayed: string[] = []
    const transport = {
      async sendDirect (_peer: PeerId, addrs: Multiaddr[]): Promise<void> {
        direct.push(addrs)
        throw new Error('device unreachable')
      },
      async storeOnRelay (relay: PeerId, _addrs: Multiaddr[], _recipient: PeerId, envelope: Uint8Array): Promise<Custody> {
        relayed.push(relay.toString())
        return { relay: relay.toString(), hash: crypto.hash.sha256(envelope), storedAt: now(), expiresAt: now() + RETENTION_MS }
      }
    }
    const delivery = new Delivery({
      crypto,
      identity: alice.identity,
      transport,
      outbox: state.outbox,
      sessions: state.sessions,
      history: state.history,
      commit: state.commit,
      emit: state.emit,
      now,
      // As parts.ts gives it.
      device: async (peerId, refresh, account) => await recipients.device(peerId, refresh, account),
      relays: () => ourRelays.map(peerId => ({ peerId, addrs: [multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${peerId.toString()}`)] }))
    }, { retentionMs: RETENTION_MS, retryIntervalMs: RETRY_MS, directTimeoutMs: 5_000, random: () => 0.5 })
    try {
      await delivery.start()
      const message = messageFrom(crypto, alice, { kind: 'text', text: 'still there?' }, 1, now())
      const { entry, op } = state.outbox.add({
        messageId: toHex(message.id),
        conversation: toHex(to.account),
        device: bob.peerId.toString(),
        envelopeId: toHex(crypto.randomBytes(16)),
        envelope: crypto.randomBytes(300),
        kind: 'content',
        createdAt: now()
      })
      await state.commit([...state.history.putOps(bob.accountKey, message), op])
      delivery.add(entry)
      await clock.tickAsync(10)
      const bobsAddrs = remoteDevice(bob.record).addrs.map(String)
      assert.ok(direct.length >= 1)
      assert.deepEqual(direct[0].map(String), bobsAddrs, 'the direct send had none of the contact\'s addresses')
      assert.equal(relayed[0], bobsRelay.toString(), 'the contact\'s own relay was not handed the message: it never reads ours')
      // Mallory keeps it up; the next attempt refreshes the failing device from the DHT, which has no record of it:
      // the kept record still says where.
      await flood()
      await clock.tickAsync(5 * RETRY_MS)
      assert.ok(direct.length >= 2, `${direct.length} direct attempts`)
      assert.deepEqual(direct.at(-1)?.map(String), bobsAddrs, 'a refresh that failed left the contact without addresses')
    } finally {
      delivery.stop()
    }
  })
})
