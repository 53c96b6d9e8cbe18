/**
 * `npm run bench:resolve`: in a network of 1 relay and 30 user nodes on
 * loopback (real libp2p nodes over TCP, Noise, yamux, in this process), the
 * time to resolve a handle that is not cached, by bare name and by
 * name~tag, next to a raw kad-dht get of a record of the same size measured
 * in the same run. Prints one JSON object.
 *
 * Options: --nodes N (30), --samples N (200).
 */
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { createStarlingNode } from '../src/net/node.js'
import type { StarlingLibp2p } from '../src/net/node.js'
import { Directory } from '../src/net/directory.js'
import { createPrekeyState, publicPrekeys } from '../src/crypto/prekeys.js'
import { encodeHandleClaim, starlingDhtValidators } from '../src/identity/index.js'
import { createNodeCrypto } from '../node/crypto/node-provider.js'

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '30' }, samples: { type: 'string', default: '200' } } })
const NODES = Number(values.nodes)
const SAMPLES = Number(values.samples)
const crypto = createNodeCrypto()

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]
}
function summary (ms: number[]): { median: number, p99: number, mean: number } {
  const s = [...ms].sort((a, b) => a - b)
  const round = (x: number): number => Math.round(x * 1000) / 1000
  return { median: round(percentile(s, 50)), p99: round(percentile(s, 99)), mean: round(s.reduce((a, b) => a + b, 0) / s.length) }
}

// A namespace for the raw records: any value accepted, first one kept.
function validatorsFor (): ReturnType<typeof starlingDhtValidators> {
  const v = starlingDhtValidators(crypto, { now: Date.now })
  return {
    validators: { ...v.validators, bench: async () => {} },
    selectors: { ...v.selectors, bench: () => 0 }
  }
}

const relay = await createStarlingNode({
  privateKey: await generateKeyPair('Ed25519'),
  role: 'relay',
  transports: [tcp()],
  listen: ['/ip4/127.0.0.1/tcp/0'],
  loopback: true,
  ...validatorsFor()
})
const relayAddr = relay.getMultiaddrs()[0].toString()

interface User { node: StarlingLibp2p, directory: Directory, name: string, handle: string }
const users: User[] = []
for (let i = 0; i < NODES; i++) {
  const privateKey = await generateKeyPair('Ed25519')
  const node = await createStarlingNode({
    privateKey,
    role: 'user',
    transports: [tcp()],
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [relayAddr],
    loopback: true,
    ...validatorsFor()
  })
  const account = await crypto.ed25519.generateKeyPair()
  const identity = await crypto.x25519.generateKeyPair()
  const prekeys = await createPrekeyState(crypto, account.secretKey, Date.now())
  const name = `user_${i}`
  const directory = new Directory(node, crypto, {
    handleName: name,
    accountSecretKey: account.secretKey,
    accountPublicKey: account.publicKey,
    devicePrivateKey: privateKey,
    identityKey: identity.publicKey,
    prekeys: () => publicPrekeys(prekeys)
  })
  users.push({ node, directory, name, handle: '' })
}

// Wait until every node is connected to the relay, then publish everyone.
const deadline = Date.now() + 30_000
while (users.some(u => u.node.getConnections().length === 0)) {
  if (Date.now() > deadline) throw new Error('nodes did not connect to the relay')
  await new Promise(resolve => setTimeout(resolve, 50))
}
await Promise.all(users.map(async u => u.directory.publish()))
process.stderr.write('published\n')

// Raw records of the same size as a handle claim, put by each node.
const claimSize = encodeHandleClaim((await users[1].directory.resolve(users[0].name)).claims[0].claim).length
process.stderr.write(`published ${NODES} identities; claim ${claimSize} bytes\n`)
const rawKeys: Uint8Array[] = []
for (const [i, u] of users.entries()) {
  const key = new TextEncoder().encode(`/bench/${i}-${Math.random().toString(36).slice(2)}`)
  await u.node.contentRouting.put(key, crypto.randomBytes(claimSize))
  rawKeys.push(key)
}
for (const u of users) u.handle = (await users[0].directory.resolve(u.name)).claims[0].handle

// Interleave the three kinds so that they see the same machine load.
const bare: number[] = []
const tagged: number[] = []
const raw: number[] = []
for (let s = 0; s < SAMPLES; s++) {
  const from = users[s % NODES]
  const to = users[(s * 7 + 3) % NODES] === from ? users[(s + 1) % NODES] : users[(s * 7 + 3) % NODES]
  const toIndex = users.indexOf(to)
  let t = performance.now()
  const r = await from.directory.resolve(to.name)
  bare.push(performance.now() - t)
  if (!r.unique || r.claims[0].handle !== to.handle) throw new Error(`wrong resolution of ${to.name}`)
  t = performance.now()
  await from.directory.resolve(to.handle)
  tagged.push(performance.now() - t)
  t = performance.now()
  const v = await from.node.contentRouting.get(rawKeys[toIndex])
  raw.push(performance.now() - t)
  if (v.length !== claimSize) throw new Error('raw get returned the wrong record')
}

const result = {
  benchmark: 'resolve',
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  network: { relays: 1, nodes: NODES, transport: 'tcp+noise+yamux on 127.0.0.1', dht: 'user nodes are DHT clients, the relay is the DHT server' },
  samples: SAMPLES,
  recordBytes: claimSize,
  resolveBareMs: summary(bare),
  resolveTaggedMs: summary(tagged),
  rawKadGetMs: summary(raw),
  ratio: {
    bareMedian: Math.round(summary(bare).median / summary(raw).median * 100) / 100,
    taggedMedian: Math.round(summary(tagged).median / summary(raw).median * 100) / 100
  },
  note: 'bare name = closest DHT servers + GET_PROVIDERS to each + device records + claim + (cached) device record; name~tag = claim + device record; raw = one kad-dht get'
}
process.stdout.write(JSON.stringify(result, null, 2) + '\n')
await Promise.all(users.map(async u => u.node.stop()))
await relay.stop()
