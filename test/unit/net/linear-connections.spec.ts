/**
 * libp2p's connection manager lists all connections by concatenating one
 * peer's list at a time (quadratic; src/net/linear-connections.ts). The
 * node Starling makes lists them in one pass, the same connections in the
 * same order; the control test fails once upstream stops concatenating
 * (then the workaround can go). Real libp2p nodes; the map is filled with
 * stand-ins for connections (nothing here dials).
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { memory } from '@libp2p/memory'
import { createLibp2p } from 'libp2p'
import type { Connection, PeerId } from '@libp2p/interface'
import { connectionManagerOf, linearConnectionList } from '../../../src/net/linear-connections.js'
import { createStarlingNode } from '../../../src/net/node.js'
import { starlingDhtValidators } from '../../../src/identity/index.js'
import { createCrypto } from '../../../src/crypto/index.js'

const PEERS = 40

/** Stand-ins for the connections of `peers` (two for the first), put in the manager's map. */
function fill (node: object, peers: PeerId[]): Connection[] {
  const map = (connectionManagerOf(node)?.getConnectionsMap() as unknown as { set: (p: PeerId, c: Connection[]) => void })
  const all: Connection[] = []
  for (const [i, peer] of peers.entries()) {
    const list = Array.from({ length: i === 0 ? 2 : 1 }, (_, j) => ({ id: `${i}-${j}`, remotePeer: peer }) as unknown as Connection)
    map.set(peer, list)
    all.push(...list)
  }
  return all
}

/** Stops a node whose map holds stand-ins: they go first (its stop would close them: they are not connections). */
async function stopFilled (node: { stop: () => void | Promise<void> }): Promise<void> {
  (connectionManagerOf(node)?.getConnectionsMap() as unknown as { clear: () => void }).clear()
  await node.stop()
}

/** Calls of Array.prototype.concat while `fn` runs. */
function concats<T> (fn: () => T): { calls: number, result: T } {
  const original = Array.prototype.concat
  let calls = 0
  Array.prototype.concat = function (this: unknown[], ...args: unknown[]) {
    calls++
    return original.apply(this, args)
  } as typeof original
  try {
    const result = fn()
    return { calls, result }
  } finally {
    Array.prototype.concat = original
  }
}

describe('net: listing a node\'s connections', function () {
  this.timeout(60_000)
  const stops: Array<() => Promise<void>> = []
  let peers: PeerId[] = []
  before(async () => {
    peers = await Promise.all(Array.from({ length: PEERS }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
  })
  afterEach(async () => { await Promise.allSettled(stops.splice(0).map(async s => { await s() })) })

  it('control: libp2p\'s own getConnections() concatenates once per peer (fails when upstream fixes it: remove the workaround)', async () => {
    const node = await createLibp2p({ transports: [memory()] })
    stops.push(async () => { await stopFilled(node) })
    const all = fill(node, peers)
    const { calls, result } = concats(() => node.getConnections())
    assert.deepEqual(result, all)
    assert.ok(calls >= PEERS, `upstream concatenated ${calls} times for ${PEERS} peers`)
  })

  it('patched: the same connections in the same order, in one pass; a peer\'s own list unchanged', async () => {
    const node = await createLibp2p({ transports: [memory()] })
    stops.push(async () => { await stopFilled(node) })
    const all = fill(node, peers)
    linearConnectionList(node)
    const { calls, result } = concats(() => node.getConnections())
    assert.deepEqual(result, all)
    assert.equal(calls, 0)
    assert.equal(node.getConnections(peers[0]).length, 2)
    assert.deepEqual(node.getConnections(peers[3]), [all[4]])
  })

  it('the node Starling makes has it', async () => {
    const { validators, selectors } = starlingDhtValidators(createCrypto(), { now: Date.now })
    const node = await createStarlingNode({ privateKey: await generateKeyPair('Ed25519'), role: 'relay', transports: [memory()], validators, selectors, loopback: true })
    stops.push(async () => { await stopFilled(node) })
    const all = fill(node, peers)
    const { calls, result } = concats(() => node.getConnections())
    assert.deepEqual(result, all)
    assert.equal(calls, 0)
  })
})
