/**
 * The dm protocol between real libp2p nodes: TCP on 127.0.0.1, Noise, yamux,
 * and a relayed (limited) connection through a circuit relay v2 server.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { Multiaddr } from '@multiformats/multiaddr'
import { DM_PROTOCOL } from '../../../../src/protocols/dm/constants.js'
import { DmClient } from '../../../../src/protocols/dm/client.js'
import type { DmClientInit } from '../../../../src/protocols/dm/client.js'
import { DmServer } from '../../../../src/protocols/dm/server.js'
import type { OnEnvelope } from '../../../../src/protocols/dm/server.js'
import { GroupCommitWriter, LevelStore } from '../../../../src/store/index.js'
import { closed, envelopeIdHex, fakeEnvelope, rawFrame, sealedEnvelope, waitFor } from './helpers.js'

const stops: Array<() => Promise<void> | void> = []

async function node (options: { relay?: boolean, listen?: string[] } = {}): Promise<Libp2p> {
  const services: Record<string, unknown> = { identify: identify() }
  if (options.relay === true) {
    services.relay = circuitRelayServer({
      reservations: { defaultDataLimit: 64n * 1024n * 1024n, defaultDurationLimit: 10 * 60_000 }
    })
  }
  const n = await createLibp2p({
    addresses: { listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 1_000 },
    services: services as NonNullable<Parameters<typeof createLibp2p>[0]>['services']
  }) as unknown as Libp2p
  stops.push(async () => { await n.stop() })
  return n
}

async function serve (n: Libp2p, onEnvelope: OnEnvelope): Promise<DmServer> {
  const server = new DmServer(n, { onEnvelope })
  await server.start()
  stops.push(async () => { await server.stop() })
  return server
}

function client (n: Libp2p, init: DmClientInit = {}): DmClient {
  const c = new DmClient(n, init)
  c.start()
  stops.push(() => { c.stop() })
  return c
}

function tcpAddr (n: Libp2p): Multiaddr {
  const addr = n.getMultiaddrs().find(a => a.toString().includes('/tcp/') && !a.toString().includes('p2p-circuit'))
  assert.ok(addr != null, 'a TCP address')
  return addr
}

function dmStreams (from: Libp2p, to: Libp2p): number {
  return from.getConnections(to.peerId).flatMap(c => c.streams).filter(s => s.protocol === DM_PROTOCOL).length
}

async function outcome (promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    return 'ok'
  } catch (err) {
    return (err as Error).name
  }
}

describe('dm protocol between libp2p nodes (TCP, Noise, yamux)', function () {
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop()
  })

  this.timeout(60_000)

  it('delivers 1,000 pipelined envelopes on one stream, each stored once, in order', async () => {
    const alice = await node()
    const bob = await node()
    const calls: string[] = []
    await serve(bob, async (envelope, from) => {
      assert.equal(from.toString(), alice.peerId.toString())
      calls.push(envelopeIdHex(envelope))
      // a store that takes a little while, so many envelopes are in flight at once
      if (calls.length % 50 === 0) await new Promise(resolve => setTimeout(resolve, 5))
    })
    const dm = client(alice)
    const envelopes = Array.from({ length: 1000 }, () => fakeEnvelope(1024))
    let resolved = 0
    await Promise.all(envelopes.map(async e => {
      await dm.send(bob.peerId, e, { addrs: [tcpAddr(bob)] })
      resolved++
    }))
    assert.equal(resolved, 1000)
    assert.deepEqual(calls, envelopes.map(envelopeIdHex))
    assert.equal(new Set(calls).size, 1000)
    assert.equal(dmStreams(alice, bob), 1)
  })

  it('acknowledges only what a synced group commit has stored, many envelopes per batch', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'starling-dm-'))
    const store = new LevelStore(join(dir, 'db'))
    await store.open()
    stops.push(async () => {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    })
    const writer = new GroupCommitWriter(store)
    const alice = await node()
    const bob = await node()
    await serve(bob, async (envelope, _from, _connection, { id }) => {
      await writer.commit([{ type: 'put', namespace: 'relay', key: id, value: envelope }])
    })
    const dm = client(alice)
    const envelopes = Array.from({ length: 1000 }, () => fakeEnvelope(1024))
    await Promise.all(envelopes.map(async e => {
      await dm.send(bob.peerId, e, { addrs: [tcpAddr(bob)] })
      // acknowledged means stored
      assert.equal(envelopeIdHex((await store.get('relay', e.subarray(1, 17))) ?? new Uint8Array(17)), envelopeIdHex(e))
    }))
    assert.equal(writer.stats.commits, 1000)
    assert.ok(writer.stats.batches < 500, `${writer.stats.batches} batches`)
  })

  it('drops a misbehaving peer\'s stream while a good peer keeps being served', async () => {
    const alice = await node()
    const mallory = await node()
    const eve = await node()
    const bob = await node()
    const received: string[] = []
    await serve(bob, async (_envelope, from) => {
      if (from.equals(eve.peerId)) throw new Error('blocked peer')
      received.push(from.toString())
    })
    await mallory.peerStore.merge(bob.peerId, { multiaddrs: [tcpAddr(bob)] })
    await eve.peerStore.merge(bob.peerId, { multiaddrs: [tcpAddr(bob)] })
    const dm = client(alice)
    const good = Array.from({ length: 200 }, async () => { await dm.send(bob.peerId, fakeEnvelope(), { addrs: [tcpAddr(bob)] }) })

    // mallory writes garbage on a raw dm stream
    const raw = await mallory.dialProtocol(bob.peerId, DM_PROTOCOL)
    raw.send(rawFrame(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])))
    // eve's envelopes are refused by the messenger (a blocked peer)
    const eveDm = client(eve)
    const eveResult = outcome(eveDm.send(bob.peerId, fakeEnvelope()))

    await Promise.all(good)
    assert.equal(await closed(raw), 'reset')
    assert.equal(await eveResult, 'DmStreamClosedError')
    assert.equal(received.filter(p => p === alice.peerId.toString()).length, 200)
    assert.equal(received.length, 200)
    // bob's connections stay up: only streams were dropped
    assert.ok(mallory.getConnections(bob.peerId).length > 0)
    await dm.send(bob.peerId, fakeEnvelope())
  })

  it('fails in-flight sends when the stream breaks mid-burst; later sends succeed on a new stream', async () => {
    const alice = await node()
    const bob = await node()
    let calls = 0
    let done = 0
    let broken = false
    await serve(bob, async (_envelope, _from, connection) => {
      calls++
      await new Promise(resolve => setTimeout(resolve, 2))
      if (++done === 50 && !broken) {
        broken = true
        connection.streams.find(s => s.protocol === DM_PROTOCOL)?.abort(new Error('broken mid-burst'))
      }
    })
    const dm = client(alice)
    const firstStream = async (): Promise<string | undefined> => alice.getConnections(bob.peerId).flatMap(c => c.streams).find(s => s.protocol === DM_PROTOCOL)?.id
    const burst = Array.from({ length: 200 }, async () => await outcome(dm.send(bob.peerId, fakeEnvelope(), { addrs: [tcpAddr(bob)] })))
    await waitFor(() => calls > 0)
    const before = await firstStream()
    const results = await Promise.all(burst)
    const failed = results.filter(r => r !== 'ok')
    assert.ok(failed.length > 0, 'some sends were in flight when the stream broke')
    assert.deepEqual([...new Set(failed)], ['DmStreamClosedError'])
    const later = await Promise.all(Array.from({ length: 20 }, async () => await outcome(dm.send(bob.peerId, fakeEnvelope()))))
    assert.deepEqual([...new Set(later)], ['ok'])
    assert.notEqual(await firstStream(), before)
    assert.equal(dmStreams(alice, bob), 1)
  })

  it('carries real sealed envelopes over a relayed (limited) connection', async () => {
    const relay = await node({ relay: true })
    const relayAddr = tcpAddr(relay)
    const bob = await node({ listen: [relayAddr.encapsulate('/p2p-circuit').toString()] })
    const alice = await node()
    await waitFor(() => bob.getMultiaddrs().some(a => a.toString().includes('p2p-circuit'))) // a relay reservation
    const circuit = bob.getMultiaddrs().filter(a => a.toString().includes('p2p-circuit'))
    const received: string[] = []
    await serve(bob, async (envelope, from, connection) => {
      assert.ok(connection.limits != null, 'the connection is relayed')
      assert.equal(from.toString(), alice.peerId.toString())
      received.push(envelopeIdHex(envelope))
    })
    const dm = client(alice)
    const envelopes = await Promise.all(Array.from({ length: 30 }, async () => await sealedEnvelope()))
    await Promise.all(envelopes.map(async e => { await dm.send(bob.peerId, e, { addrs: circuit }) }))
    assert.deepEqual(received, envelopes.map(envelopeIdHex))
    const connections = alice.getConnections(bob.peerId)
    assert.equal(connections.length, 1)
    assert.ok(connections[0].limits != null)
  })

  it('rejects with DmUnreachableError for a peer without the protocol', async () => {
    const alice = await node()
    const bob = await node()
    const dm = client(alice)
    assert.equal(await outcome(dm.send(bob.peerId, fakeEnvelope(), { addrs: [tcpAddr(bob)] })), 'DmUnreachableError')
  })
})
