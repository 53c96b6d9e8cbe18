/**
 * Hide my IP (issue 12, item 4; DESIGN.md, Calls), with addresses that can
 * be told apart: each party in its own network namespace (test/e2e/netns.ts)
 * with its own address, the relay and coturn in a third, all real
 * processes started with `ip netns exec`. Alice and Bob are contacts; they
 * message each other and call each other both ways, while Bob's daemon
 * is watched: the ICE candidates and SDPs he receives, his `getStats()`
 * remote candidates, the remote address of every libp2p connection he has
 * (polled all along, so a connection that came and went counts), and
 * Alice's device record as the DHT gives it to him.
 *
 * With hide my IP, Alice's address appears in none of them (and the calls
 * still connect, through coturn). The control run without it shows her
 * address in each, so every check here can fail.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FAST_DAEMON_ENV, Processes, eventually } from './harness.js'
import type { Running, User } from './harness.js'
import { startCoturn } from './coturn.js'
import type { Coturn } from './coturn.js'
import { Namespaces, bridgeApi, namespaceProblem } from './netns.js'
import type { ApiBridge, Party } from './netns.js'
import type { CallObservation } from '../../node/daemon/calls.js'
import { encodeWav, tone } from '../../node/calls/wav.js'

const RELAY_IP = '10.77.0.1'
const ALICE_IP = '10.77.1.2'
const BOB_IP = '10.77.2.2'

/** What Bob saw of Alice in one run. */
interface Seen {
  /** ICE candidate lines and SDPs Bob received in both calls. */
  candidates: string[]
  sdps: string[]
  /** Remote candidates of Bob's connections' getStats(). */
  stats: string[]
  /** Remote addresses of every libp2p connection Bob had during the run. */
  connections: string[]
  /** Alice's device record's addresses, as Bob's DHT lookup returns them. */
  record: string[]
  /**
   * Bob's kernel's neighbour (ARP) table: holds Alice's address if any IP
   * packet went between them directly (on their shared segment one ARPs for
   * the other), however briefly: a connection the poll above missed, a
   * connectivity check, a refused dial.
   */
  neighbours: string[]
  /** Both calls connected (media flowed). */
  connected: boolean[]
}

interface Daemon {
  user: User
  party: Party
  running: Running
  api: ApiBridge
}

describe('hide my IP: the other side never sees the address (network namespaces)', function () {
  this.timeout(600_000)
  const procs = new Processes()
  const namespaces = new Namespaces()
  const bridges: ApiBridge[] = []
  let coturn: Coturn | undefined
  let relayAddr: string
  let dir: string

  before(async () => {
    const problem = await namespaceProblem()
    // Never a silent pass: without namespaces this test cannot show anything.
    if (problem != null) throw new Error(`hide-ip.spec needs network namespaces: ${problem}`)
    dir = await procs.tempDir('starling-hideip-')
    await namespaces.create({ r: RELAY_IP, a: ALICE_IP, b: BOB_IP })
    const infra = namespaces.party('r')
    coturn = await startCoturn(dir, { ip: RELAY_IP, prefix: infra.prefix })
    const relay = await procs.start(['relay', '--listen', `/ip4/${RELAY_IP}/tcp/0`, '--data', await procs.tempDir('starling-relay-'),
      '--turn-url', coturn.url, '--turn-secret-file', coturn.secretFile], {}, infra.prefix)
    relayAddr = (relay.ready.multiaddrs as string[])[0]
    assert.match(relayAddr, new RegExp(`^/ip4/${RELAY_IP.replaceAll('.', '\\.')}/tcp/`))
    await writeFile(join(dir, 'tone.wav'), encodeWav(tone(440, 2)))
  })

  after(async () => {
    for (const b of bridges) await b.stop().catch(() => {})
    await coturn?.stop()
    await procs.stopAll()
    const failed = await namespaces.destroy()
    const left = await namespaces.leftovers()
    assert.deepEqual([...failed, ...left], [], 'namespaces or links of this run left behind')
  })

  async function newUser (name: string): Promise<User> {
    const userDir = await procs.tempDir(`starling-${name}-`)
    const r = await procs.cli(['init', '--handle', name, '--data', userDir, '--json'])
    if (r.code !== 0) throw new Error(`init ${name}: ${r.stderr}`)
    const created = r.json[0]
    return { dir: userDir, name, handle: created.handle as string, peerId: created.peerId as string, fingerprint: created.fingerprint as string }
  }

  async function startDaemon (user: User, party: Party, extra: string[]): Promise<Daemon> {
    const running = await procs.start(['daemon', '--data', user.dir, '--listen', `/ip4/${party.ip}/tcp/0`, '--bootstrap', relayAddr,
      '--auto-answer', '--call-audio-in', join(dir, 'tone.wav'), ...extra], FAST_DAEMON_ENV, party.prefix)
    const api = await bridgeApi(party, user.dir, dir)
    bridges.push(api)
    const d = { user, party, running, api }
    await eventually(async () => (await call<{ published: unknown }>(d, 'status')).published ?? undefined, 60_000, `records of ${user.name} published`)
    return d
  }

  async function call<T = unknown> (d: Daemon, method: string, params: Record<string, unknown> = {}): Promise<T> {
    return await d.api.client.call<T>(method, params, AbortSignal.timeout(120_000))
  }

  async function received (d: Daemon, from: User, text: string): Promise<void> {
    await eventually(async () => {
      const { messages } = await call<{ messages: Array<{ text?: string }> }>(d, 'history', { handle: from.handle })
      return messages.some(m => m.text === text) ? true : undefined
    }, 60_000, `${d.user.name} received "${text}"`)
  }

  /** Alice and Bob message and call each other; what Bob saw of Alice. */
  async function run (suffix: string, aliceArgs: string[]): Promise<Seen> {
    const [aliceUser, bobUser] = await Promise.all([newUser(`alice_${suffix}`), newUser(`bob_${suffix}`)])
    // What an earlier run left in the kernels' neighbour tables is not this run's.
    await namespaces.flushNeighbours()
    const [alice, bob] = await Promise.all([
      startDaemon(aliceUser, namespaces.party('a'), aliceArgs),
      startDaemon(bobUser, namespaces.party('b'), [])
    ])
    assert.deepEqual(await call(alice, 'settings'), { hideIp: aliceArgs.includes('--hide-ip'), strangerCalls: 'request' })
    // Every connection Bob has, all along the run.
    const connections = new Set<string>()
    let watching = true
    const watcher = (async () => {
      while (watching) {
        const s = await call<{ connections: Array<{ addr: string }> }>(bob, 'status').catch(() => undefined)
        for (const c of s?.connections ?? []) connections.add(c.addr)
        await new Promise(resolve => setTimeout(resolve, 100))
      }
    })()
    try {
      // Alice writes first, so she is the one who dials Bob (by his record: his direct address first, unless hidden).
      await call(alice, 'open', { handle: bobUser.handle, confirm: true })
      await call(alice, 'send', { handle: bobUser.handle, text: 'hello Bob' })
      await received(bob, aliceUser, 'hello Bob')
      await call(bob, 'open', { handle: aliceUser.handle, confirm: true })
      await call(bob, 'send', { handle: aliceUser.handle, text: 'hello Alice' })
      await received(alice, bobUser, 'hello Alice')
      // Alice calls Bob, then Bob calls Alice (each auto-answers contacts).
      const first = await call<{ connected: boolean, endReason: string }>(alice, 'call', { handle: bobUser.handle, seconds: 2 })
      const second = await call<{ connected: boolean, endReason: string }>(bob, 'call', { handle: aliceUser.handle, seconds: 2 })
      const observed = await call<CallObservation[]>(bob, 'call-observed')
      const resolved = await call<{ claims: Array<{ devices: Array<{ peerId: string, addrs: string[] }> }> }>(bob, 'resolve', { handle: aliceUser.handle })
      return {
        candidates: observed.flatMap(o => o.candidates),
        sdps: observed.flatMap(o => o.sdps),
        stats: observed.flatMap(o => o.statsRemoteCandidates),
        connections: [...connections],
        record: resolved.claims.flatMap(c => c.devices.flatMap(d => d.addrs)),
        neighbours: await namespaces.neighbours('b'),
        connected: [first.connected, second.connected]
      }
    } finally {
      watching = false
      await watcher
      await procs.stop(alice.running)
      await procs.stop(bob.running)
    }
  }

  it('control, without hide my IP: Bob sees Alice\'s address in candidates, stats, connections and her record', async () => {
    const seen = await run('c', [])
    assert.deepEqual(seen.connected, [true, true])
    assert.ok(seen.candidates.some(c => c.includes(ALICE_IP)), `candidates: ${seen.candidates.join(' | ')}`)
    assert.ok(seen.stats.some(c => c.includes(ALICE_IP)), `stats: ${seen.stats.join(' | ')}`)
    assert.ok(seen.connections.some(c => c.includes(ALICE_IP)), `connections: ${seen.connections.join(' | ')}`)
    assert.ok(seen.record.some(c => c.includes(ALICE_IP)), `record: ${seen.record.join(' | ')}`)
    assert.ok(seen.neighbours.some(c => c.startsWith(`${ALICE_IP} `)), `neighbours: ${seen.neighbours.join(' | ')}`)
  })

  it('with hide my IP: Alice\'s address appears nowhere Bob looks; calls connect through coturn, messages through the relay', async () => {
    const seen = await run('h', ['--hide-ip'])
    assert.deepEqual(seen.connected, [true, true])
    const leaks = (list: string[]): string[] => list.filter(x => x.includes(ALICE_IP))
    assert.deepEqual(leaks(seen.candidates), [], 'in ICE candidates Bob received')
    assert.deepEqual(leaks(seen.sdps), [], 'in SDPs Bob received')
    assert.deepEqual(leaks(seen.stats), [], 'in Bob\'s getStats() remote candidates')
    assert.deepEqual(leaks(seen.connections), [], 'as the remote address of a libp2p connection of Bob\'s')
    assert.deepEqual(leaks(seen.record), [], 'in Alice\'s device record')
    assert.deepEqual(seen.neighbours.filter(n => n.startsWith(`${ALICE_IP} `)), [], 'a packet between Alice\'s and Bob\'s addresses (Bob\'s neighbour table)')
    // Not vacuous: Bob did receive Alice's candidates, all TURN relay candidates on coturn's address.
    assert.ok(seen.candidates.length > 0 && seen.candidates.every(c => c.includes(` ${RELAY_IP} `) && c.includes(' typ relay')), seen.candidates.join(' | '))
    assert.ok(seen.stats.length > 0 && seen.stats.every(c => c.startsWith(`${RELAY_IP}:`)), seen.stats.join(' | '))
    assert.ok(seen.record.length > 0 && seen.record.every(a => a.includes('/p2p-circuit')), seen.record.join(' | '))
    assert.ok(seen.connections.some(c => c.includes('/p2p-circuit')), `Bob reached Alice through the relay: ${seen.connections.join(' | ')}`)
  })
})
