/**
 * Recipients read where their mail can be (issue: delivery that converges,
 * item 2): a device reads its mailbox on its own relays and on every relay
 * their signed relay sets name. Two messengers over memory stores: alice's
 * envelope lands on relay B only (A refuses it); bob, who knows only relay A, finds B in
 * A's relay set, reads it, stores the message once, deletes it from B, and
 * a copy on a second relay brings no second receipt.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { parseEnvelopeHeader } from '../../../src/crypto/envelope.js'
import type { Custody, DeliveryTransport, MailboxItem, MailboxRef } from '../../../src/messenger/transport.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'
import { fakeDirectory, testDevice, testMessenger } from './harness.js'

const T0 = Date.UTC(2026, 11, 6)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Relays in memory: mailboxes by relay and recipient, and the signed sets they serve. */
class MemoryRelays {
  readonly boxes = new Map<string, MailboxItem[]>()
  readonly sets = new Map<string, PeerId[]>()
  readonly deleted: Array<{ relay: string, id: string }> = []
  readonly reads: Array<{ reader: string, relay: string }> = []
  readonly down = new Set<string>()
  /** Relays that refuse every put (a full mailbox), but serve reads and their sets. */
  readonly refusing = new Set<string>()

  box (relay: PeerId, recipient: PeerId): MailboxItem[] {
    const key = `${relay.toString()}/${recipient.toString()}`
    const box = this.boxes.get(key) ?? []
    this.boxes.set(key, box)
    return box
  }

  /** The transport of one device: direct sends always fail (the recipient is away). */
  transport (self: PeerId, options: { relaySets: boolean }): DeliveryTransport {
    const t: DeliveryTransport = {
      sendDirect: async () => { throw new Error('recipient away') },
      storeOnRelay: async (relay: PeerId, _addrs: Multiaddr[], recipient: PeerId, envelope: Uint8Array): Promise<Custody> => {
        if (this.down.has(relay.toString())) throw new Error('relay down')
        if (this.refusing.has(relay.toString())) throw Object.assign(new Error('mailbox full'), { name: 'QuotaExceededError', quota: 'mailbox-full' })
        this.box(relay, recipient).push({ id: parseEnvelopeHeader(envelope).id, envelope })
        return { relay: relay.toString(), hash: crypto.hash.sha256(envelope), storedAt: T0, expiresAt: T0 + 86_400_000 }
      },
      fetchMailbox: async (relay: PeerId) => {
        if (this.down.has(relay.toString())) throw new Error('relay down')
        this.reads.push({ reader: self.toString(), relay: relay.toString() })
        return { items: [...this.box(relay, self)], more: false }
      },
      deleteFromMailbox: async (relay: PeerId, refs: MailboxRef[]) => {
        const box = this.box(relay, self)
        for (const ref of refs) {
          this.deleted.push({ relay: relay.toString(), id: hex(ref.id) })
          const i = box.findIndex(item => hex(item.id) === hex(ref.id))
          if (i >= 0) box.splice(i, 1)
        }
      }
    }
    if (options.relaySets) {
      t.relaySet = async (relay: PeerId) => (this.sets.get(relay.toString()) ?? []).map(peerId => ({ peerId, addrs: [multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${peerId.toString()}`)] }))
    }
    return t
  }
}

describe('messenger: a device reads every relay of its network', function () {
  this.timeout(60_000)
  let clock: FakeTimers.Clock | undefined
  afterEach(() => { clock?.uninstall() })

  for (const relaySets of [true, false]) {
    it(relaySets
      ? 'finds relay B in relay A\'s signed set, reads it, stores the message once and deletes it there; a copy on A brings no second receipt'
      : 'control: a transport that cannot read relay sets reads only its own relay, and the message stays on B', async () => {
      clock = FakeTimers.install({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
      const now = (): number => clock?.now ?? Date.now()
      const [a, b] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')]).then(keys => keys.map(k => peerIdFromPrivateKey(k)))
      const relays = new MemoryRelays()
      relays.sets.set(a.toString(), [a, b])
      relays.sets.set(b.toString(), [a, b])
      const alice = await testDevice(crypto, 'alice', T0, [b])
      const bob = await testDevice(crypto, 'bob', T0, [a])
      const directory = fakeDirectory([alice, bob])
      const aliceM = await testMessenger(crypto, alice, { transport: relays.transport(alice.peerId, { relaySets: true }), directory, now, relayPeers: [b] })
      const bobM = await testMessenger(crypto, bob, { transport: relays.transport(bob.peerId, { relaySets }), directory, now, relayPeers: [a], fetchIntervalMs: 1_000 })
      await aliceM.start()
      // Relay A (bob's own) refuses the envelope (say, his mailbox there is full): it goes to B only.
      relays.refusing.add(a.toString())
      const sent = await aliceM.send(bob.handle, { kind: 'text', text: 'on B only' })
      await clock.tickAsync(10_000)
      assert.equal(relays.box(b, bob.peerId).length, 1, 'held by B')
      assert.equal(relays.box(a, bob.peerId).length, 0, 'not by A')
      const copy = relays.box(b, bob.peerId)[0]

      await bobM.start()
      await clock.tickAsync(5_000)
      const texts = (await bobM.history.messages(alice.accountKey)).map(m => 'text' in m.body ? m.body.text : '')
      if (!relaySets) {
        assert.deepEqual(texts, [], 'only A is read')
        assert.deepEqual([...new Set(relays.reads.filter(r => r.reader === bob.peerId.toString()).map(r => r.relay))], [a.toString()])
        assert.equal(relays.box(b, bob.peerId).length, 1)
        return
      }
      assert.deepEqual(texts, ['on B only'])
      assert.deepEqual(new Set(relays.reads.filter(r => r.reader === bob.peerId.toString()).map(r => r.relay)), new Set([a.toString(), b.toString()]))
      assert.deepEqual(relays.deleted.map(d => d.relay), [b.toString()], 'deleted from B, the relay it was read on')
      // The receipt reaches alice's mailbox on B (her relay): one receipt.
      const receiptsForAlice = relays.box(b, alice.peerId).length
      assert.equal(receiptsForAlice, 1)

      // A copy of the same envelope turns up on A (a relay that reconciled late): stored once, no second receipt.
      relays.box(a, bob.peerId).push(copy)
      await clock.tickAsync(5_000)
      assert.equal((await bobM.history.messages(alice.accountKey)).length, 1, 'stored once')
      assert.equal(relays.box(b, alice.peerId).length, receiptsForAlice, 'no second receipt')
      assert.equal(relays.box(a, bob.peerId).length, 0, 'the copy is deleted from A')

      // Alice reads her mailbox on B: the receipt makes the message delivered.
      await clock.tickAsync(40_000)
      assert.equal((await aliceM.conversation(bob.handle)).statuses[sent.id]?.state, 'delivered')
      await aliceM.stop()
      await bobM.stop()
    })
  }
})
