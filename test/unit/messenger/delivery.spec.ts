/**
 * Delivery alone (delivery.ts), with the collaborators it is given: the
 * outbox, sessions and history over an in-memory store, a transport the test
 * controls, and a fake clock. An entry goes straight to its device when it
 * can; otherwise two relays hold it (the device's own first) and it keeps
 * waiting for the device; a receipt ends it only when it comes from the
 * conversation's contact for our own message; retention makes it fail.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { Delivery, RELAY_HEAD_START_MS } from '../../../src/messenger/delivery.js'
import { RELAYS_PER_ENVELOPE } from '../../../src/messenger/relay-handoff.js'
import type { Custody, MailboxItem, StatusEvent } from '../../../src/messenger/index.js'
import { remoteDevice } from '../../../src/messenger/devices.js'
import { toHex } from '../../../src/messenger/bytes.js'
import type { Outbox } from '../../../src/messenger/outbox.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'
import { testDevice } from './harness.js'
import type { TestDevice } from './harness.js'
import { deviceState, messageFrom } from './parts-fixture.js'
import type { DeviceState } from './parts-fixture.js'

const T0 = Date.UTC(2026, 11, 6)
const RETRY_MS = 1_000
const RETENTION_MS = 10 * 60_000

/** A network that is up or down as the test says; every attempt is logged. */
class Network {
  deviceUp = false
  relaysUp = true
  readonly direct: string[] = []
  readonly relayed: Array<{ relay: string, recipient: string }> = []
  /** Relays that sign custody of something else than they were handed (they hold junk under its id). */
  readonly squatted = new Set<string>()

  /** How long a direct send takes before it gets through or fails (a slow first dial). */
  directDelayMs = 0
  /** How long each relay takes to sign custody (a slow relay). */
  relayDelayMs = 0
  /** When set, direct sends wait for it before they get through or fail. */
  directGate?: Promise<void>

  async sendDirect (peer: PeerId, _addrs: Multiaddr[], _envelope: Uint8Array): Promise<void> {
    this.direct.push(peer.toString())
    if (this.directDelayMs > 0) await new Promise(resolve => setTimeout(resolve, this.directDelayMs))
    await this.directGate
    if (!this.deviceUp) throw new Error('device unreachable')
  }

  async storeOnRelay (relay: PeerId, _addrs: Multiaddr[], recipient: PeerId, envelope: Uint8Array): Promise<Custody> {
    this.relayed.push({ relay: relay.toString(), recipient: recipient.toString() })
    if (this.relayDelayMs > 0) await new Promise(resolve => setTimeout(resolve, this.relayDelayMs))
    if (!this.relaysUp) throw new Error('relay unreachable')
    const held = this.squatted.has(relay.toString()) ? crypto.randomBytes(300) : envelope
    return { relay: relay.toString(), hash: crypto.hash.sha256(held), storedAt: T0, expiresAt: T0 + RETENTION_MS }
  }

  async fetchMailbox (): Promise<{ items: MailboxItem[], more: boolean }> {
    return { items: [], more: false }
  }

  async deleteFromMailbox (): Promise<void> {}
}

describe('messenger: Delivery', function () {
  this.timeout(60_000)
  let clock: FakeTimers.Clock
  let alice: TestDevice
  let bob: TestDevice
  let state: DeviceState
  let net: Network
  let delivery: Delivery
  let bobsRelay: PeerId
  let ourRelays: PeerId[]
  const now = (): number => clock.now

  beforeEach(async () => {
    clock = FakeTimers.install({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    ;[bobsRelay, ...ourRelays] = await Promise.all([0, 1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    alice = await testDevice(crypto, 'alice', T0)
    bob = await testDevice(crypto, 'bob', T0, [bobsRelay])
    state = await deviceState(crypto, now)
    net = new Network()
    delivery = build()
  })

  /** The Delivery under test, over `outbox` (the device's, or one that wraps it). */
  function build (outbox: Pick<Outbox, 'load' | 'putOp' | 'removeOp' | 'statusOp'> = state.outbox): Delivery {
    return new Delivery({
      crypto,
      identity: alice.identity,
      transport: net,
      outbox,
      sessions: state.sessions,
      history: state.history,
      commit: state.commit,
      emit: state.emit,
      now,
      device: async (peerId) => peerId.equals(bob.peerId) ? remoteDevice(bob.record) : undefined,
      relays: () => ourRelays.map(peerId => ({ peerId, addrs: [multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${peerId.toString()}`)] }))
    }, { retentionMs: RETENTION_MS, retryIntervalMs: RETRY_MS, directTimeoutMs: 5_000, random: () => 0.5 })
  }

  afterEach(() => {
    delivery.stop()
    clock.uninstall()
  })

  /** Alice's text to bob, in history and queued in the outbox (its envelope sealed already), as outgoing.ts leaves it. */
  async function queued (text: string): Promise<string> {
    const message = messageFrom(crypto, alice, { kind: 'text', text }, 1, now())
    const { entry, op } = state.outbox.add({
      messageId: toHex(message.id),
      conversation: toHex(bob.accountKey),
      device: bob.peerId.toString(),
      envelopeId: toHex(crypto.randomBytes(16)),
      envelope: crypto.randomBytes(300),
      kind: 'content',
      createdAt: now()
    })
    const status = await state.outbox.statusOp(message.id, 'queued', 0, now(), true)
    await state.commit([...state.history.putOps(bob.accountKey, message), op, ...(status != null ? [status.op] : [])])
    delivery.add(entry)
    return toHex(message.id)
  }

  const statuses = (): Array<Pick<StatusEvent, 'id' | 'conversation' | 'state' | 'relays'>> =>
    state.events.flatMap(e => e.type === 'status' ? [{ id: e.id, conversation: e.conversation, state: e.state, relays: e.relays }] : [])

  it('the device is reachable: the entry goes straight to it, leaves the outbox, and is delivered', async () => {
    net.deviceUp = true
    await delivery.start()
    const id = await queued('hello')
    await clock.tickAsync(10)
    assert.deepEqual(net.direct, [bob.peerId.toString()])
    assert.deepEqual(net.relayed, [], 'no relay needed')
    assert.equal(delivery.size, 0)
    assert.deepEqual(await state.outbox.load(), [])
    assert.deepEqual(statuses(), [{ id, conversation: toHex(bob.accountKey), state: 'delivered', relays: 0 }])
  })

  it('a direct send still dialling after its head start: relays are handed the entry meanwhile, once, and the direct send still delivers it', async () => {
    net.deviceUp = true
    net.directDelayMs = 3_000
    await delivery.start()
    const id = await queued('first message, slow dial')
    await clock.tickAsync(RELAY_HEAD_START_MS - 10)
    assert.deepEqual(net.relayed, [], 'the direct send has its head start to itself')
    await clock.tickAsync(20)
    assert.equal(net.relayed.length, RELAYS_PER_ENVELOPE, 'relays join after the head start')
    assert.deepEqual(statuses().map(s => s.state), ['relayed'])
    await clock.tickAsync(3_000)
    assert.deepEqual(net.direct, [bob.peerId.toString()])
    assert.equal(net.relayed.length, RELAYS_PER_ENVELOPE, 'one relay round, not one more after the direct send')
    assert.deepEqual(statuses(), [
      { id, conversation: toHex(bob.accountKey), state: 'relayed', relays: 2 },
      { id, conversation: toHex(bob.accountKey), state: 'delivered', relays: 2 }
    ])
    assert.equal(delivery.size, 0)
  })

  it('a direct send that fails after its head start: the relays that joined it are the round, not asked again', async () => {
    net.directDelayMs = 4_000
    await delivery.start()
    await queued('nobody home')
    await clock.tickAsync(4_010)
    assert.deepEqual(net.direct, [bob.peerId.toString()])
    assert.equal(net.relayed.length, RELAYS_PER_ENVELOPE)
    assert.equal(statuses().at(-1)?.state, 'relayed')
    assert.equal(delivery.size, 1, 'held by relays is not the end')
  })

  it('a relay round that joined a direct send stops handing once the direct send got through: no further relay is given the delivered message', async () => {
    net.deviceUp = true
    net.directDelayMs = 1_500
    net.relayDelayMs = 1_000
    await delivery.start()
    await queued('slow dial, slow relay')
    await clock.tickAsync(RELAY_HEAD_START_MS + 10)
    assert.equal(net.relayed.length, 1, 'the first relay is being handed the entry')
    await clock.tickAsync(10_000)
    assert.equal(delivery.size, 0)
    assert.equal(statuses().at(-1)?.state, 'delivered')
    assert.equal(net.relayed.length, 1, 'a relay was handed a message already delivered')
    assert.deepEqual(await state.outbox.load(), [])
  })

  it('a direct ack that lands while the relays\' custody is being recorded: the delivered entry is not written back into the outbox', async () => {
    net.deviceUp = true
    let open = (): void => {}
    net.directGate = new Promise(resolve => { open = resolve })
    const outbox = state.outbox
    // Reading the message's state takes a while (not cached): the direct ack lands and is written meanwhile.
    const slow: Pick<Outbox, 'load' | 'putOp' | 'removeOp' | 'statusOp'> = {
      load: async () => await outbox.load(),
      putOp: entry => outbox.putOp(entry),
      removeOp: entry => outbox.removeOp(entry),
      statusOp: async (...args) => {
        if (args[1] === 'relayed') {
          open()
          for (let i = 0; i < 1_000 && (await outbox.load()).length > 0; i++) await new Promise(resolve => setImmediate(resolve))
        }
        return await outbox.statusOp(...args)
      }
    }
    delivery = build(slow)
    await delivery.start()
    await queued('both at once')
    await clock.tickAsync(RELAY_HEAD_START_MS + 10)
    await clock.tickAsync(10_000)
    assert.equal(net.relayed.length, RELAYS_PER_ENVELOPE)
    assert.equal(delivery.size, 0)
    assert.equal(statuses().at(-1)?.state, 'delivered')
    assert.deepEqual(await state.outbox.load(), [], 'the delivered entry was written back into the outbox (sent again at every start)')
  })

  it('a receipt that ends the entry while its slow direct send is still dialling: the send failing then does not put the entry back', async () => {
    net.directDelayMs = 4_000
    await delivery.start()
    const id = await queued('read it from your mailbox')
    await clock.tickAsync(RELAY_HEAD_START_MS + 10)
    assert.equal(net.relayed.length, RELAYS_PER_ENVELOPE, 'relays joined the slow direct send')
    // The recipient read it from its mailbox and its delivery receipt came back, the direct dial still under way.
    await delivery.acknowledged([id], bob.peerId.toString(), 'delivered', bob.accountKey)
    assert.equal(delivery.size, 0)
    await clock.tickAsync(4_000)
    assert.equal(delivery.size, 0, 'the failed direct send put the ended entry back in the queue (tried again until it expires)')
    await clock.tickAsync(10 * 60_000)
    assert.deepEqual(net.direct, [bob.peerId.toString()], 'the ended entry was sent again')
    assert.equal(net.relayed.length, RELAYS_PER_ENVELOPE)
  })

  it('the device is away: two relays hold the entry (its own first), it keeps waiting for the device, and goes as soon as the device is back', async () => {
    await delivery.start()
    const id = await queued('while you were away')
    await clock.tickAsync(10)
    assert.equal(net.relayed.length, RELAYS_PER_ENVELOPE)
    assert.equal(net.relayed[0].relay, bobsRelay.toString(), "the device's own relay first")
    assert.ok(net.relayed.every(r => r.recipient === bob.peerId.toString()))
    assert.deepEqual(statuses(), [{ id, conversation: toHex(bob.accountKey), state: 'relayed', relays: 2 }])
    assert.equal(delivery.size, 1, 'held by relays is not the end')
    assert.equal((await state.outbox.load())[0].relays.length, 2)

    // Retries back off: in a minute, far fewer direct attempts than one per retry interval.
    await clock.tickAsync(60_000)
    const tries = net.direct.length
    assert.ok(tries >= 2 && tries < 60 / (RETRY_MS / 1000) / 2, `${tries} direct attempts in a minute`)

    net.deviceUp = true
    delivery.reachable(bob.peerId.toString())
    await clock.tickAsync(10)
    assert.equal(net.direct.length, tries + 1, 'tried at once, not at the next backoff')
    assert.equal(delivery.size, 0)
    assert.equal(statuses().at(-1)?.state, 'delivered')
  })

  it('a custody receipt for other bytes than those handed over does not count: the entry is not held by that relay', async () => {
    net.squatted.add(bobsRelay.toString())
    await delivery.start()
    const id = await queued('keep it safe')
    await clock.tickAsync(10)
    const entry = (await state.outbox.load())[0]
    assert.ok(!entry.relays.includes(bobsRelay.toString()), 'the relay that holds other bytes is not counted')
    assert.deepEqual(entry.relays, [ourRelays[0].toString(), ourRelays[1].toString()], 'two relays that hold the bytes instead')
    assert.deepEqual(statuses(), [{ id, conversation: toHex(bob.accountKey), state: 'relayed', relays: 2 }])
  })

  it('a receipt ends the entry only from the conversation\'s contact, for our own message', async () => {
    await delivery.start()
    const id = await queued('did you read it?')
    await clock.tickAsync(10)
    const mallory = await testDevice(crypto, 'mallory', T0)
    // A receipt naming the message, but from another conversation: nothing changes.
    await delivery.acknowledged([id], bob.peerId.toString(), 'read', mallory.accountKey)
    // A receipt for a message that is not ours: nothing changes either.
    const theirs = messageFrom(crypto, bob, { kind: 'text', text: 'not yours' })
    await state.commit(state.history.putOps(bob.accountKey, theirs))
    await delivery.acknowledged([toHex(theirs.id)], bob.peerId.toString(), 'read', bob.accountKey)
    assert.equal(delivery.size, 1)
    assert.equal((await state.outbox.status(Buffer.from(id, 'hex')))?.state, 'relayed')

    await delivery.acknowledged([id], bob.peerId.toString(), 'read', bob.accountKey)
    assert.equal(delivery.size, 0)
    assert.deepEqual(await state.outbox.load(), [])
    assert.equal((await state.outbox.status(Buffer.from(id, 'hex')))?.state, 'read')
    const last = statuses().at(-1)
    assert.deepEqual([last?.id, last?.conversation, last?.state], [id, toHex(bob.accountKey), 'read'], 'the status names its conversation')
  })

  it('with the device and every relay away, the entry fails once its retention runs out', async () => {
    net.relaysUp = false
    await delivery.start()
    const id = await queued('into the void')
    await clock.tickAsync(RETENTION_MS - 5_000)
    assert.equal(delivery.size, 1)
    await clock.tickAsync(10_000)
    assert.equal(delivery.size, 0)
    assert.deepEqual(await state.outbox.load(), [])
    assert.equal((await state.outbox.status(Buffer.from(id, 'hex')))?.state, 'failed')
    assert.equal(statuses().at(-1)?.state, 'failed')
  })
})
