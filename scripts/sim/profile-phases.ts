/**
 * Profiles one process's relays and users in two phases, start-up and idle,
 * each in its own CPU profile (node:inspector), so their costs are told
 * apart: `node --import tsx scripts/sim/profile-phases.ts RELAYS USERS IDLE_S
 * OUT_DIR [DILATION]`. The nodes are the simulation's (test/sim/nodes.ts):
 * relays linked as `relayLinks(RELAYS, 4)`, each user on two relays, users
 * started four at a time (the next when one has published).
 */
import { Session } from 'node:inspector/promises'
import { writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { freePort } from '../../node/free-port.js'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { nodeCrypto } from '../../node/platform.js'
import { SimRelay, SimUser } from '../../test/sim/nodes.js'
import { relayLinks } from '../../test/sim/schedule.js'
import type { RelayInfo } from '../../test/sim/protocol.js'
import { dilatedMessengerTimers, simDhtMaintenance } from '../../test/sim/engine.js'
import { SYNC_INTERVAL_MS } from '../../src/relay/index.js'
import { Publisher } from '../../src/net/publisher.js'

/** libp2p's connection monitor's default ping interval (test/sim/engine.ts stretches it the same way). */
const DEFAULT_PING_INTERVAL_MS = 10_000

const [relayCount, userCount, idleSeconds] = process.argv.slice(2, 5).map(Number)
const outDir = process.argv[5] ?? '.data/profile'
const dilation = Number(process.argv[6] ?? 1)
/** SIM_KAD_DEFAULTS=1: kad-dht's own maintenance timers (to compare). */
const maintenance = process.env.SIM_KAD_DEFAULTS !== '1'
await mkdir(outDir, { recursive: true })
/** SIM_PROFILE=0: CPU time only (handing a large profile over blocks the loop for seconds, which the next phase would pay for in dropped connections). */
const profiling = process.env.SIM_PROFILE !== '0'
const crypto = nodeCrypto()
const session = new Session()
session.connect()
await session.post('Profiler.enable')
await session.post('Profiler.setSamplingInterval', { interval: 1000 })


const profiles: Array<[string, unknown]> = []

async function phase (name: string, fn: () => Promise<void>): Promise<void> {
  const cpu = process.cpuUsage()
  const wall = Date.now()
  if (profiling) await session.post('Profiler.start')
  await fn()
  if (profiling) {
    // Written at the end: serialising a profile blocks the event loop for seconds, long enough for pings to fail and connections to drop.
    const { profile } = await session.post('Profiler.stop')
    profiles.push([name, profile])
  }
  const used = process.cpuUsage(cpu)
  const ms = (used.user + used.system) / 1000
  process.stdout.write(`${name}: ${((Date.now() - wall) / 1000).toFixed(1)} s wall, ${ms.toFixed(0)} ms CPU, ${(ms / (relayCount + userCount) / ((Date.now() - wall) / 1000)).toFixed(2)} ms/node/s, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`)
}

/** Publications (each: two DHT reads, two puts, a provide, every one a lookup reaching up to 20 servers), counted here only. */
let publications = 0
const publish = Publisher.prototype.publish
Publisher.prototype.publish = async function (this: Publisher): Promise<void> {
  publications++
  await publish.call(this)
}

/** Connections per user and per relay (all of a user's relays and DHT servers). */
function connections (): void {
  const perUser = users.map(u => u.peer?.node.getConnections().length ?? 0)
  const perRelay = relays.map(r => r.relay?.node.getConnections().length ?? 0)
  const mean = (xs: number[]): string => (xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)).toFixed(1)
  process.stdout.write(`connections: ${mean(perUser)} per user, ${mean(perRelay)} per relay; publications so far: ${(publications / Math.max(1, users.length)).toFixed(2)} per user; relays' connections opened so far: ${opened}\n`)
}

const infos: RelayInfo[] = []
for (let i = 0; i < relayCount; i++) {
  const key = await generateKeyPair('Ed25519')
  infos.push({ index: i, key: Buffer.from(privateKeyToProtobuf(key)).toString('base64'), peerId: peerIdFromPrivateKey(key).toString(), port: await freePort(), worker: 0 })
}
const addr = (i: number): string => `/ip4/127.0.0.1/tcp/${infos[i].port}/p2p/${infos[i].peerId}`
const links = relayLinks(relayCount, 4)
const relays = infos.map(info => new SimRelay(info, { crypto, latencyMs: 0, runId: String(process.pid), peers: links[info.index].map(addr), keepAliveIntervalMs: DEFAULT_PING_INTERVAL_MS * dilation, syncIntervalMs: SYNC_INTERVAL_MS * dilation, dhtMaintenance: maintenance ? simDhtMaintenance(dilation) : undefined }))
const users = Array.from({ length: userCount }, (_, i) => new SimUser({
  crypto, latencyMs: 0, runId: String(process.pid), name: `user${i}`, index: i,
  bootstrap: [addr(i % relayCount), addr((i + 1) % relayCount)],
  gater: {}, wrapTransport: undefined, now: Date.now,
  messenger: dilatedMessengerTimers(dilation), keepAliveIntervalMs: DEFAULT_PING_INTERVAL_MS * dilation,
  dhtMaintenance: maintenance ? simDhtMaintenance(dilation) : undefined
}))

await phase('relays-start', async () => { for (const r of relays) await r.start() })
/** Connections the relays opened or accepted (new connections cost a Noise handshake, identify and peer store writes on both sides). */
let opened = 0
for (const r of relays) r.relay?.node.addEventListener('connection:open', () => { opened++ })
await phase('startup', async () => {
  let next = 0
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < users.length) {
      const u = users[next++]
      await u.create()
      await u.start()
      const deadline = Date.now() + 120_000
      while (u.peer?.directory.lastPublished == null && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
    }
  }))
  process.stdout.write(`published: ${users.filter(u => u.peer?.directory.lastPublished != null).length}/${users.length}\n`)
  connections()
})
await phase('idle', async () => { await new Promise(resolve => setTimeout(resolve, idleSeconds * 1000)) })
connections()
await Promise.allSettled(users.map(async u => { await u.stop() }))
await Promise.allSettled(relays.map(async r => { await r.stop() }))
for (const [name, profile] of profiles) await writeFile(join(outDir, `${name}.cpuprofile`), JSON.stringify(profile))
process.exit(0)
