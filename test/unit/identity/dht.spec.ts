/**
 * The validators and selectors inside a real @libp2p/kad-dht: three in-memory
 * nodes (memory transport, Noise, yamux), one publishes, another reads.
 */
import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { memory } from '@libp2p/memory'
import { ping } from '@libp2p/ping'
import { createLibp2p } from 'libp2p'
import { encodeHandleClaim } from '../../../src/identity/handle-claim.js'
import { starlingDhtValidators } from '../../../src/identity/validators.js'
import { crypto, newAccount, newDevice, signedClaim, signedDevice } from './helpers.js'
import type { TestDevice } from './helpers.js'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

type DhtNode = Libp2p<{ dht: KadDHT, identify: unknown, ping: unknown }>

let counter = 0

async function startNode (privateKey?: PrivateKey): Promise<DhtNode> {
  const { validators, selectors } = starlingDhtValidators(crypto, { now: Date.now })
  return await createLibp2p({
    ...(privateKey != null ? { privateKey } : {}),
    addresses: { listen: [`/memory/starling-identity-dht-${process.pid}-${counter++}`] },
    transports: [memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: '/starling-test/kad/1.0.0',
        clientMode: false,
        peerInfoMapper: passthroughMapper,
        validators,
        selectors
      })
    }
  })
}

async function waitFor (what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function getValue (node: DhtNode, key: Uint8Array): Promise<Uint8Array | undefined> {
  let value: Uint8Array | undefined
  for await (const event of node.services.dht.get(key, { signal: AbortSignal.timeout(5000) })) {
    if (event.name === 'VALUE') value = event.value
  }
  return value
}

async function put (node: DhtNode, key: Uint8Array, value: Uint8Array): Promise<void> {
  for await (const event of node.services.dht.put(key, value, { signal: AbortSignal.timeout(5000) })) {
    void event
  }
}

describe('identity/validators in kad-dht', function () {
  this.timeout(20_000)
  let nodes: DhtNode[] = []
  let device: TestDevice

  before(async () => {
    device = await newDevice()
    nodes = [await startNode(device.privateKey), await startNode(), await startNode()]
    for (const a of nodes) {
      for (const b of nodes) {
        if (a !== b && a.getConnections(b.peerId).length === 0) await a.dial(b.getMultiaddrs())
      }
    }
    // The routing table is not in the public KadDHT type; waiting on it avoids sleeping a guessed time.
    const tableSize = (n: DhtNode): number => (n.services.dht as unknown as { routingTable: { size: number } }).routingTable.size
    await waitFor('routing tables', () => nodes.every(n => tableSize(n) === 2))
  })

  after(async () => {
    await Promise.all(nodes.map(async n => { await n.stop() }))
  })

  it('stores a device record and a handle claim that another node reads back', async () => {
    const account = await newAccount()
    const record = await signedDevice(account, device, { seq: 1, expiresAt: Date.now() + 60_000 })
    const claim = await signedClaim(account, device, { seq: 1, expiresAt: Date.now() + 60_000 })
    await put(nodes[0], record.key, record.value)
    await put(nodes[0], claim.key, claim.value)
    assert.deepEqual(await getValue(nodes[2], record.key), record.value)
    assert.deepEqual(await getValue(nodes[2], claim.key), claim.value)
  })

  it('a remote node refuses a forged record', async () => {
    const account = await newAccount()
    const claim = await signedClaim(account, device, { seq: 3, expiresAt: Date.now() + 60_000 })
    claim.record.seq = 4
    const forged = encodeHandleClaim(claim.record)
    await put(nodes[1], claim.key, forged).catch(() => {})
    // nodes[1] stored it locally without checking (kad-dht does not validate its own puts),
    // but the others refused it: nodes[2] can only find it through nodes[1], whose answer it validates.
    assert.equal(await getValue(nodes[2], claim.key), undefined)
  })

  it('a replayed older version does not replace a newer one', async () => {
    const account = await newAccount()
    const older = await signedClaim(account, device, { seq: 1, expiresAt: Date.now() + 60_000 })
    const newer = await signedClaim(account, device, { seq: 2, expiresAt: Date.now() + 60_000 })
    await put(nodes[1], newer.key, newer.value)
    await put(nodes[0], older.key, older.value).catch(() => {})
    assert.deepEqual(await getValue(nodes[2], older.key), newer.value)
  })
})
