import assert from 'node:assert/strict'
import { streamPair } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import { MAX_ENVELOPE_LENGTH } from '../../../../src/crypto/envelope.js'
import { DM_PROTOCOL, MAX_DELIVER_FRAME_LENGTH } from '../../../../src/protocols/dm/constants.js'
import { DmServer } from '../../../../src/protocols/dm/server.js'
import type { DmServerInit, OnEnvelope } from '../../../../src/protocols/dm/server.js'
import { DuplicateEnvelopeError } from '../../../../src/protocols/dm/errors.js'
import {
  closed, collectAcks, deliverFrame, envelopeIdHex, fakeConnection, fakeEnvelope, gate,
  makePeerId, rawFrame, sealedEnvelope, stubServerNode, waitFor
} from './helpers.js'

interface Rig {
  server: DmServer
  /** Opens a new stream to the server as `peer`; returns the dialer's end. */
  connect: (peer?: PeerId) => Promise<Stream>
}

async function rig (onEnvelope: OnEnvelope, init: Partial<DmServerInit> = {}): Promise<Rig> {
  const node = stubServerNode()
  const server = new DmServer(node, { onEnvelope, ...init })
  await server.start()
  const defaultPeer = await makePeerId()
  return {
    server,
    connect: async (peer = defaultPeer) => {
      const [outbound, inbound] = await streamPair({ protocol: DM_PROTOCOL })
      await node.handler?.(inbound, fakeConnection(peer))
      return outbound
    }
  }
}

const servers: DmServer[] = []
async function started (onEnvelope: OnEnvelope, init: Partial<DmServerInit> = {}): Promise<Rig> {
  const r = await rig(onEnvelope, init)
  servers.push(r.server)
  return r
}

describe('dm server (in-memory streams)', () => {
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop()
  })

  it('registers for relayed connections too', async () => {
    const node = stubServerNode()
    const server = new DmServer(node, { onEnvelope: async () => {} })
    await server.start()
    assert.equal((node.handleOptions as { runOnLimitedConnection: boolean }).runOnLimitedConnection, true)
    await server.stop()
    assert.equal(node.handler, undefined)
  })

  it('acknowledges an envelope only after onEnvelope resolves, by its envelope id', async () => {
    const stored = gate()
    const calls: Array<{ envelope: string, from: string }> = []
    const sender = await makePeerId()
    const { connect } = await started(async (envelope, from, _connection, { id }) => {
      assert.equal(Buffer.from(id).toString('hex'), envelopeIdHex(envelope))
      calls.push({ envelope: envelopeIdHex(envelope), from: from.toString() })
      await stored.promise
    })
    const stream = await connect(sender)
    const acks = collectAcks(stream)
    const envelope = await sealedEnvelope()
    stream.send(deliverFrame(envelope))
    await waitFor(() => calls.length === 1)
    assert.deepEqual(calls, [{ envelope: envelopeIdHex(envelope), from: sender.toString() }])
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(acks.ids.length, 0, 'no acknowledgement before the envelope is stored')
    stored.open()
    await waitFor(() => acks.ids.length === 1)
    assert.deepEqual(acks.ids, [envelopeIdHex(envelope)])
    assert.equal(stream.status, 'open')
  })

  it('runs onEnvelope for several frames at once, bounded, started in arrival order', async () => {
    const release = gate()
    const started_: string[] = []
    let active = 0
    let maxActive = 0
    const { connect } = await started(async (envelope) => {
      started_.push(envelopeIdHex(envelope))
      active++
      maxActive = Math.max(maxActive, active)
      await release.promise
      active--
    }, { concurrency: 4 })
    const stream = await connect()
    const acks = collectAcks(stream)
    const envelopes = Array.from({ length: 10 }, () => fakeEnvelope(300))
    for (const e of envelopes) stream.send(deliverFrame(e))
    await waitFor(() => started_.length === 4)
    await new Promise(resolve => setTimeout(resolve, 30))
    assert.equal(started_.length, 4, 'no more than the concurrency at once')
    release.open()
    await waitFor(() => acks.ids.length === 10)
    assert.deepEqual(started_, envelopes.map(envelopeIdHex))
    assert.deepEqual([...acks.ids].sort(), envelopes.map(envelopeIdHex).sort())
    assert.equal(maxActive, 4)
  })

  it('acknowledges envelopes stored together (one group commit) in one frame', async () => {
    const commit = gate()
    let received = 0
    const { connect } = await started(async () => {
      received++
      await commit.promise
    })
    const stream = await connect()
    const acks = collectAcks(stream)
    for (let i = 0; i < 20; i++) stream.send(deliverFrame(fakeEnvelope()))
    await waitFor(() => received === 20)
    commit.open()
    await waitFor(() => acks.ids.length === 20)
    assert.equal(acks.frames, 1)
  })

  it('writes acknowledgements as they complete, out of order', async () => {
    const gates = [gate(), gate(), gate()]
    let n = 0
    const { connect } = await started(async () => { await gates[n++].promise })
    const stream = await connect()
    const acks = collectAcks(stream)
    const envelopes = [fakeEnvelope(), fakeEnvelope(), fakeEnvelope()]
    for (const e of envelopes) stream.send(deliverFrame(e))
    await waitFor(() => n === 3)
    gates[2].open()
    await waitFor(() => acks.ids.length === 1)
    gates[0].open()
    gates[1].open()
    await waitFor(() => acks.ids.length === 3)
    assert.deepEqual(acks.ids, [2, 0, 1].map(i => envelopeIdHex(envelopes[i])))
  })

  it('stops reading from a peer that floods past the concurrency, and drops it past the read buffer limit', async () => {
    let calls = 0
    const { connect } = await started(async () => {
      calls++
      await new Promise(resolve => setTimeout(resolve, 10_000))
    }, { concurrency: 2 })
    const stream = await connect()
    // 100 envelopes of 64 KiB: 6.4 MiB, more than libp2p's 4 MiB read buffer.
    for (let i = 0; i < 100 && stream.status === 'open'; i++) {
      stream.send(deliverFrame(fakeEnvelope(64 * 1024)))
      await new Promise(resolve => setTimeout(resolve, 1))
    }
    assert.equal(await closed(stream), 'reset')
    assert.ok(calls <= 4, `${calls} onEnvelope calls`)
  })

  it('acknowledges a duplicate (DuplicateEnvelopeError) instead of dropping the stream', async () => {
    const seen = new Set<string>()
    const { connect } = await started(async (envelope) => {
      const id = envelopeIdHex(envelope)
      if (seen.has(id)) throw new DuplicateEnvelopeError('already stored')
      seen.add(id)
    })
    const stream = await connect()
    const acks = collectAcks(stream)
    const envelope = fakeEnvelope()
    stream.send(deliverFrame(envelope))
    stream.send(deliverFrame(envelope))
    await waitFor(() => acks.ids.length === 2)
    assert.deepEqual(acks.ids, [envelopeIdHex(envelope), envelopeIdHex(envelope)])
    assert.equal(stream.status, 'open')
  })

  it('drops the stream when onEnvelope refuses, and keeps serving other streams', async () => {
    const refused = new Set<string>()
    const { connect } = await started(async (envelope) => {
      if (refused.has(envelopeIdHex(envelope))) throw new Error('not for us')
    })
    const bad = await connect(await makePeerId())
    const good = await connect(await makePeerId())
    const badAcks = collectAcks(bad)
    const goodAcks = collectAcks(good)
    const poison = fakeEnvelope()
    refused.add(envelopeIdHex(poison))
    bad.send(deliverFrame(poison))
    assert.equal(await closed(bad), 'reset')
    assert.equal(badAcks.ids.length, 0)
    for (let i = 0; i < 5; i++) good.send(deliverFrame(fakeEnvelope()))
    await waitFor(() => goodAcks.ids.length === 5)
    assert.equal(good.status, 'open')
  })

  const garbage: Array<[string, () => Uint8Array]> = [
    ['a frame that is not protobuf', () => rawFrame(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))],
    ['an empty frame', () => rawFrame(new Uint8Array(0))],
    ['an envelope too short to have a header', () => deliverFrame(new Uint8Array(100).fill(1))],
    ['an envelope of an unknown version', () => { const e = fakeEnvelope(); e[0] = 2; return deliverFrame(e) }],
    ['a length prefix longer than any allowed length needs', () => new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x01])]
  ]
  for (const [what, bytes] of garbage) {
    it(`drops a stream that sends ${what}, before onEnvelope`, async () => {
      let calls = 0
      const { connect, server } = await started(async () => { calls++ })
      const stream = await connect()
      stream.send(bytes())
      assert.equal(await closed(stream), 'reset')
      assert.equal(calls, 0)
      await waitFor(() => server.streamCount === 0)
    })
  }

  it('refuses a frame longer than a maximal envelope from its length prefix alone', async () => {
    let calls = 0
    const { connect } = await started(async () => { calls++ })
    const stream = await connect()
    // Only the 3-byte varint of MAX_DELIVER_FRAME_LENGTH + 1: no body is ever sent.
    const length = MAX_DELIVER_FRAME_LENGTH + 1
    stream.send(new Uint8Array([(length & 0x7f) | 0x80, ((length >> 7) & 0x7f) | 0x80, length >> 14]))
    assert.equal(await closed(stream), 'reset')
    assert.equal(calls, 0)
  })

  it('accepts a maximal (1 MiB) envelope', async () => {
    const sizes: number[] = []
    const { connect } = await started(async (envelope) => { sizes.push(envelope.length) })
    const stream = await connect()
    const acks = collectAcks(stream)
    const frame = deliverFrame(fakeEnvelope(MAX_ENVELOPE_LENGTH))
    assert.ok(frame.length - 3 <= MAX_DELIVER_FRAME_LENGTH)
    stream.send(frame)
    await waitFor(() => acks.ids.length === 1)
    assert.deepEqual(sizes, [MAX_ENVELOPE_LENGTH])
  })

  it('drops a stream that ends inside a frame (truncated)', async () => {
    let calls = 0
    const { connect } = await started(async () => { calls++ })
    const stream = await connect()
    const frame = deliverFrame(fakeEnvelope())
    stream.send(frame.subarray(0, frame.length - 10))
    await stream.close()
    assert.equal(await closed(stream), 'reset')
    assert.equal(calls, 0)
  })

  it('times out a stalled peer that stops in the middle of a frame', async () => {
    let calls = 0
    const { connect } = await started(async () => { calls++ }, { frameTimeoutMs: 100 })
    const stream = await connect()
    const acks = collectAcks(stream)
    stream.send(deliverFrame(fakeEnvelope()))
    const frame = deliverFrame(fakeEnvelope())
    stream.send(frame.subarray(0, 500))
    await waitFor(() => acks.ids.length === 1)
    // The other timeouts are the defaults (30 s and more): only the frame timeout can reset it this soon,
    // and waiting for it is not bounded by the wall clock here (a busy machine only makes it later).
    assert.equal(await closed(stream), 'reset')
    assert.equal(calls, 1)
  })

  it('drops a peer that dribbles a frame a few bytes at a time past the frame timeout', async () => {
    let calls = 0
    const { connect } = await started(async () => { calls++ }, { frameTimeoutMs: 150 })
    const stream = await connect()
    const frame = deliverFrame(fakeEnvelope(2000))
    // 20 bytes every 30 ms take 3 s for the whole frame. Timers fire in the order
    // they are due, so the 150 ms frame timer fires before the frame can complete,
    // however slow the machine: the frame is never accepted.
    let sent = 0
    for (; sent < frame.length && stream.status === 'open'; sent += 20) {
      stream.send(frame.subarray(sent, sent + 20))
      await new Promise(resolve => setTimeout(resolve, 30))
    }
    assert.ok(sent < frame.length, 'the whole frame went through: the frame timeout never fired')
    assert.equal(await closed(stream), 'reset')
    assert.equal(calls, 0)
  })

  it('lets a frame arrive in pieces within the frame timeout', async () => {
    // Pieces 20 ms apart, within the default 30 s frame timeout (a 200 ms timeout
    // could run out on a busy machine while the test sleeps between pieces).
    const { connect } = await started(async () => {})
    const stream = await connect()
    const acks = collectAcks(stream)
    const frame = deliverFrame(fakeEnvelope(2000))
    for (let i = 0; i < frame.length; i += 500) {
      stream.send(frame.subarray(i, i + 500))
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    await waitFor(() => acks.ids.length === 1)
    assert.equal(stream.status, 'open')
  })

  it('closes a stream gracefully when the sender has finished and everything is acknowledged', async () => {
    const { connect, server } = await started(async () => {
      await new Promise(resolve => setTimeout(resolve, 20))
    })
    const stream = await connect()
    const acks = collectAcks(stream)
    for (let i = 0; i < 3; i++) stream.send(deliverFrame(fakeEnvelope()))
    await stream.close()
    await waitFor(() => stream.status === 'closed')
    assert.equal(acks.ids.length, 3)
    await waitFor(() => server.streamCount === 0)
  })

  it('closes an idle stream after the idle timeout', async () => {
    const { connect, server } = await started(async () => {}, { idleTimeoutMs: 100 })
    const stream = await connect()
    let remoteClosed = false
    stream.addEventListener('remoteCloseWrite', () => { remoteClosed = true })
    await waitFor(() => server.streamCount === 1)
    await waitFor(() => remoteClosed) // the server closes its side
  })

  it('drops a peer that keeps an idle-closed stream half-open', async () => {
    const { connect, server } = await started(async () => {}, { idleTimeoutMs: 50, writeTimeoutMs: 100 })
    const stream = await connect()
    assert.equal(await closed(stream), 'reset')
    await waitFor(() => server.streamCount === 0)
  })

  it('drops every stream when stopped', async () => {
    const { connect, server } = await rig(async () => {})
    const a = await connect()
    const b = await connect()
    await waitFor(() => server.streamCount === 2)
    await server.stop()
    assert.equal(await closed(a), 'reset')
    assert.equal(await closed(b), 'reset')
    assert.equal(server.streamCount, 0)
  })

  it('aborts onEnvelope signals when the stream goes away', async () => {
    let signal: AbortSignal | undefined
    const { connect } = await started(async (_envelope, _from, _connection, options) => {
      signal = options.signal
      await new Promise(resolve => setTimeout(resolve, 10_000))
    })
    const stream = await connect()
    stream.send(deliverFrame(fakeEnvelope()))
    await waitFor(() => signal != null)
    assert.equal(signal?.aborted, false)
    stream.abort(new Error('sender gone'))
    await waitFor(() => signal?.aborted === true)
  })
})
