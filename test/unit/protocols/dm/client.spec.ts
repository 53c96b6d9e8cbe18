import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import { DmClient } from '../../../../src/protocols/dm/client.js'
import type { DmClientInit } from '../../../../src/protocols/dm/client.js'
import { DmServer } from '../../../../src/protocols/dm/server.js'
import type { OnEnvelope } from '../../../../src/protocols/dm/server.js'
import { encodeAck } from '../../../../src/protocols/dm/dm.js'
import { closed, envelopeIdHex, fakeEnvelope, gate, link, makePeerId, sealedEnvelope, waitFor } from './helpers.js'
import type { Link } from './helpers.js'

interface Rig {
  client: DmClient
  server: DmServer
  link: Link
  peer: PeerId
}

const running: Rig[] = []

async function rig (onEnvelope: OnEnvelope, init: DmClientInit = {}): Promise<Rig> {
  const l = link(await makePeerId())
  const server = new DmServer(l.server, { onEnvelope })
  await server.start()
  const client = new DmClient(l.client, init)
  client.start()
  const r = { client, server, link: l, peer: await makePeerId() }
  running.push(r)
  return r
}

async function rejection (promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (err) {
    return err as Error
  }
  assert.fail('expected a rejection')
}

describe('dm client (in-memory streams)', () => {
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.client.stop()
      await r.server.stop()
    }
  })

  it('resolves a send on its acknowledgement', async () => {
    const stored: string[] = []
    const { client, peer } = await rig(async (envelope) => { stored.push(envelopeIdHex(envelope)) })
    const envelope = await sealedEnvelope()
    await client.send(peer, envelope)
    assert.deepEqual(stored, [envelopeIdHex(envelope)])
  })

  it('pipelines many envelopes on one stream, in order', async () => {
    const stored: string[] = []
    const { client, peer, link: l } = await rig(async (envelope) => { stored.push(envelopeIdHex(envelope)) })
    const envelopes = Array.from({ length: 300 }, () => fakeEnvelope(200))
    await Promise.all(envelopes.map(async e => { await client.send(peer, e) }))
    assert.deepEqual(stored, envelopes.map(envelopeIdHex))
    assert.equal(l.dials, 1)
  })

  it('keeps at most `window` envelopes unacknowledged', async () => {
    const release = gate()
    let received = 0
    const { client, peer } = await rig(async () => {
      received++
      await release.promise
    }, { window: 3 })
    const sends = Array.from({ length: 5 }, async () => { await client.send(peer, fakeEnvelope()) })
    await waitFor(() => received === 3)
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(received, 3)
    release.open()
    await Promise.all(sends)
    assert.equal(received, 5)
  })

  it('bounds unacknowledged bytes too, but always lets one envelope through', async () => {
    const release = gate()
    let received = 0
    const { client, peer } = await rig(async () => {
      received++
      await release.promise
    }, { windowBytes: 3000 })
    const sends = [client.send(peer, fakeEnvelope(5000)), client.send(peer, fakeEnvelope(1000))]
    await waitFor(() => received === 1)
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(received, 1)
    release.open()
    await Promise.all(sends)
    assert.equal(received, 2)
  })

  it('sends an envelope already in flight only once; both callers get the acknowledgement', async () => {
    let received = 0
    const { client, peer } = await rig(async () => {
      received++
      await new Promise(resolve => setTimeout(resolve, 20))
    })
    const envelope = fakeEnvelope()
    await Promise.all([client.send(peer, envelope), client.send(peer, envelope)])
    assert.equal(received, 1)
  })

  it('refuses what is not a sealed envelope, before any network', async () => {
    const { client, peer, link: l } = await rig(async () => {})
    assert.equal((await rejection(client.send(peer, new Uint8Array(10)))).name, 'DmInvalidEnvelopeError')
    assert.equal((await rejection(client.send(peer, fakeEnvelope(2 * 1024 * 1024)))).name, 'DmInvalidEnvelopeError')
    assert.equal(l.dials, 0)
  })

  it('refuses to send when not started or after stop', async () => {
    const l = link(await makePeerId())
    const client = new DmClient(l.client)
    assert.equal((await rejection(client.send(await makePeerId(), fakeEnvelope()))).name, 'DmNotStartedError')
    client.start()
    client.stop()
    assert.equal((await rejection(client.send(await makePeerId(), fakeEnvelope()))).name, 'DmNotStartedError')
    assert.equal(l.dials, 0)
  })

  it('adds the given addresses to the peer store before dialling', async () => {
    const { client, peer, link: l } = await rig(async () => {})
    const addr = multiaddr('/ip4/127.0.0.1/tcp/4001')
    await client.send(peer, fakeEnvelope(), { addrs: [addr] })
    assert.equal(l.merged.length, 1)
    assert.deepEqual(l.merged[0], { multiaddrs: [addr] })
  })

  it('rejects with DmUnreachableError when the dial fails, and dials again next time', async () => {
    const { client, peer, link: l } = await rig(async () => {})
    l.failDials = new Error('no addresses')
    const err = await rejection(client.send(peer, fakeEnvelope()))
    assert.equal(err.name, 'DmUnreachableError')
    l.failDials = undefined
    await client.send(peer, fakeEnvelope())
    assert.equal(l.dials, 2)
  })

  it('rejects with DmTimeoutError when opening a stream takes too long', async () => {
    const { client, peer, link: l } = await rig(async () => {}, { dialTimeoutMs: 50 })
    l.hangDials = true
    assert.equal((await rejection(client.send(peer, fakeEnvelope()))).name, 'DmTimeoutError')
  })

  it('times out a stalled receiver, then opens a new stream', async () => {
    // The receiver stalls until the test ends: only the ack timeout can end these sends.
    const stall = gate()
    let hang = true
    const { client, peer, link: l } = await rig(async () => {
      if (hang) await stall.promise
    }, { ackTimeoutMs: 100 })
    const errors = await Promise.all([rejection(client.send(peer, fakeEnvelope())), rejection(client.send(peer, fakeEnvelope()))])
    stall.open()
    assert.deepEqual(errors.map(e => e.name).sort(), ['DmStreamClosedError', 'DmTimeoutError'])
    assert.equal(await closed(l.streams[0]), 'aborted')
    hang = false
    await client.send(peer, fakeEnvelope())
    assert.equal(l.dials, 2)
  })

  it('fails in-flight sends when the stream breaks, and the next send uses a new stream', async () => {
    const release = gate()
    let received = 0
    const { client, peer, link: l } = await rig(async () => {
      received++
      await release.promise
    })
    const inFlight = Array.from({ length: 5 }, async () => await rejection(client.send(peer, fakeEnvelope())))
    await waitFor(() => received === 5)
    l.inbound[0].abort(new Error('connection lost'))
    const errors = await Promise.all(inFlight)
    assert.deepEqual(errors.map(e => e.name), Array(5).fill('DmStreamClosedError'))
    release.open()
    await client.send(peer, fakeEnvelope())
    assert.equal(l.dials, 2)
  })

  it('rejects with DmAbortedError when the caller aborts, and ignores the late acknowledgement', async () => {
    const release = gate()
    const { client, peer } = await rig(async () => { await release.promise })
    const controller = new AbortController()
    const sending = rejection(client.send(peer, fakeEnvelope(), { signal: controller.signal }))
    await new Promise(resolve => setTimeout(resolve, 20))
    controller.abort()
    assert.equal((await sending).name, 'DmAbortedError')
    release.open()
    await client.send(peer, fakeEnvelope())
  })

  it('a send aborted while waiting for the window takes no room in it', async () => {
    const release = gate()
    let received = 0
    const { client, peer } = await rig(async () => {
      if (++received === 1) await release.promise
    }, { window: 1 })
    const first = client.send(peer, fakeEnvelope())
    const controller = new AbortController()
    const aborted = rejection(client.send(peer, fakeEnvelope(), { signal: controller.signal }))
    const third = client.send(peer, fakeEnvelope())
    await waitFor(() => received === 1)
    controller.abort()
    assert.equal((await aborted).name, 'DmAbortedError')
    release.open()
    await Promise.all([first, third])
    assert.equal(received, 2)
    await Promise.all([client.send(peer, fakeEnvelope()), client.send(peer, fakeEnvelope())])
    assert.equal(received, 4)
  })

  it('drops a stream on a malformed acknowledgement', async () => {
    const l = link(await makePeerId())
    // A receiver that answers every frame with an id of the wrong length.
    await l.server.handle('x', (stream) => {
      stream.addEventListener('message', () => { stream.send(encodeAck([new Uint8Array(5)])) })
    })
    const client = new DmClient(l.client)
    client.start()
    try {
      const err = await rejection(client.send(await makePeerId(), fakeEnvelope()))
      assert.equal(err.name, 'DmProtocolError')
      assert.equal(await closed(l.streams[0]), 'aborted')
    } finally {
      client.stop()
    }
  })

  it('moves new sends from a relayed stream to a direct connection once there is one', async () => {
    const release = gate()
    let received = 0
    const { client, peer, link: l } = await rig(async () => {
      if (++received === 1) await release.promise
    })
    l.limitedDials = true
    const first = client.send(peer, fakeEnvelope())
    await waitFor(() => received === 1)
    await client.send(peer, fakeEnvelope())
    assert.equal(l.dials, 1, 'stays on the relayed stream while nothing better exists')
    // a direct connection appears (DCUtR, WebRTC upgrade)
    l.limitedDials = false
    l.connections.push({ status: 'open', streams: [] })
    await client.send(peer, fakeEnvelope())
    assert.equal(l.dials, 2)
    assert.equal(l.streams[0].status, 'open', 'the relayed stream drains first')
    release.open()
    await first
    await waitFor(() => l.streams[0].status === 'closed') // the relayed stream closes
    await client.send(peer, fakeEnvelope())
    assert.equal(l.dials, 2)
  })

  it('closes an idle stream and opens a new one when needed', async () => {
    const { client, peer, link: l, server } = await rig(async () => {}, { idleTimeoutMs: 50 })
    await client.send(peer, fakeEnvelope())
    await waitFor(() => l.streams[0].status === 'closed') // the idle stream closes
    await waitFor(() => server.streamCount === 0)
    await client.send(peer, fakeEnvelope())
    assert.equal(l.dials, 2)
  })

  it('fails pending sends with DmNotStartedError when stopped', async () => {
    const { client, peer } = await rig(async () => { await new Promise(resolve => setTimeout(resolve, 5_000)) }, { window: 1 })
    const first = rejection(client.send(peer, fakeEnvelope()))
    const waiting = rejection(client.send(peer, fakeEnvelope()))
    await new Promise(resolve => setTimeout(resolve, 20))
    client.stop()
    assert.equal((await waiting).name, 'DmNotStartedError')
    assert.equal((await first).name, 'DmNotStartedError')
  })
})
