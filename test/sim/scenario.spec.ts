/**
 * Scenario files (test/sim/scenario.ts) and the schedule drawn from them
 * (test/sim/schedule.ts): a bad file is refused with an error naming the
 * field; defaults are filled in; the same seed gives the same workload and
 * churn schedule, another seed another; the shipped examples are valid; and
 * the messaging-layer fault wrapper loses, duplicates and cuts as told.
 */
import assert from 'node:assert/strict'
import { readFile, readdir } from 'node:fs/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { parseScenario, parseScenarioText } from './scenario.js'
import { buildSchedule, onlineAt, relayLinks } from './schedule.js'
import { faultyTransport, noFaults } from './faults.js'
import { seededRandom } from './schedule.js'
import type { DeliveryTransport } from '../../src/messenger/index.js'
import { dilatedMessengerTimers, dilatedNow } from './engine.js'
import { DEFAULT_FETCH_INTERVAL_MS, DEFAULT_RETRY_INTERVAL_MS } from '../../src/messenger/index.js'

/** Hops from relay 0 to the farthest relay, or Infinity when one cannot be reached. */
function diameterFrom0 (links: number[][]): number {
  const dist = links.map(() => Infinity)
  dist[0] = 0
  const queue = [0]
  for (let x = queue.shift(); x != null; x = queue.shift()) {
    for (const y of links[x]) if (dist[y] === Infinity) { dist[y] = dist[x] + 1; queue.push(y) }
  }
  return Math.max(...dist)
}

const base = { seed: 7, relays: 3, users: 20, durationSeconds: 120 }

describe('simulation: scenarios and schedules', () => {
  it('refuses a bad scenario with an error naming each field at fault', () => {
    const cases: Array<[unknown, string]> = [
      [{ ...base, churn: { share: 1.5 } }, '/churn/share'],
      [{ ...base, workload: { messagesPerNodePerMinute: -1 } }, '/workload/messagesPerNodePerMinute'],
      [{ ...base, relays: 2.5 }, '/relays'],
      [{ ...base, users: 'many' }, '/users'],
      [{ relays: 3, users: 20, durationSeconds: 60 }, '/seed'],
      [{ ...base, colour: 'red' }, '/colour'],
      [{ ...base, faults: { partitions: [{ atSeconds: 10 }] } }, '/faults/partitions/0/durationSeconds'],
      [{ ...base, faults: { relayCrashes: [{ relay: 3, atSeconds: 1, downSeconds: 5 }] } }, '/faults/relayCrashes/0/relay'],
      [{ ...base, workload: { minBytes: 500, maxBytes: 100 } }, '/workload/minBytes'],
      [{ ...base, workload: { knownContacts: true, contactsDeadlineSeconds: 0 } }, '/workload/contactsDeadlineSeconds'],
      [{ ...base, adversaries: { relays: { share: 1.2 } } }, '/adversaries/relays/share'],
      [{ ...base, adversaries: { relays: { behaviours: ['steal'] } } }, '/adversaries/relays/behaviours/0'],
      [{ ...base, adversaries: { relays: { behaviours: [] } } }, '/adversaries/relays/behaviours'],
      [{ ...base, adversaries: { dhtServers: { count: -1 } } }, '/adversaries/dhtServers/count'],
      [{ ...base, adversaries: { users: { flood: { envelopeBytes: 10 } } } }, '/adversaries/users/flood/envelopeBytes'],
      [{ ...base, adversaries: { sybils: 3 } }, '/adversaries/sybils'],
      [{ ...base, adversaries: { relays: { count: 3 } } }, '/adversaries/relays/count'],
      [{ ...base, adversaries: { users: { share: 0.95 } } }, '/adversaries/users/share']
    ]
    for (const [value, field] of cases) {
      assert.throws(() => parseScenario(value), (err: Error & { fields?: string[] }) => {
        assert.equal(err.name, 'ScenarioError')
        assert.ok(err.fields?.includes(field), `${JSON.stringify(value)}: ${String(err.fields)}`)
        assert.ok(err.message.includes(field), err.message)
        return true
      })
    }
    assert.throws(() => parseScenarioText('{ "relays": 3,'), { name: 'ScenarioError', message: /not JSON/ })
  })

  it('fills in the defaults and leaves the input as it was', () => {
    const input = { ...base }
    const s = parseScenario(input)
    assert.deepEqual(input, base)
    assert.equal(s.timeDilation, 1)
    assert.equal(s.churn.share, 0)
    assert.equal(s.workload.messagesPerNodePerMinute, 1)
    assert.deepEqual(s.faults.partitions, [])
  })

  it('the same seed gives the same workload and churn schedule; another seed another', () => {
    const s = parseScenario({ ...base, churn: { share: 0.3, meanOnlineSeconds: 30, meanOfflineSeconds: 20 }, workload: { messagesPerNodePerMinute: 3, contacts: 4 } })
    const a = buildSchedule(s, 2)
    assert.deepEqual(buildSchedule(s, 2), a)
    assert.notDeepEqual(buildSchedule({ ...s, seed: 8 }, 2), a)
    assert.equal(a.users.filter(u => u.churns).length, 6)
    assert.ok(a.messages.length > 50, `${a.messages.length} messages`)
    for (const m of a.messages) {
      assert.ok(onlineAt(a.users[m.from], m.at), `message ${m.seq} drawn while its sender was offline`)
      assert.ok(a.users[m.from].contacts.includes(m.to))
    }
    // Every user is back online for good once the workload ends.
    for (const u of a.users) assert.ok(onlineAt(u, a.durationMs), `${u.name} not back at the end`)
  })

  it('dilated time runs slower from the start, in whole milliseconds', () => {
    const start = 1_796_599_420_000
    assert.equal(dilatedNow(start, 1, start + 1_001), start + 1_001)
    assert.equal(dilatedNow(start, 2, start + 1_001), start + 500)
    assert.equal(dilatedNow(start, 3, start + 10_000), start + 3_333)
    assert.equal(dilatedNow(start, 2, start - 5), start - 5)
    for (let t = 0; t < 50; t++) assert.ok(Number.isInteger(dilatedNow(start, 2.5, start + t * 7)))
  })

  it('relays link sparsely but connected: symmetric, about the degree asked, a short path between any two', () => {
    for (const [n, degree] of [[20, 4], [20, 6], [10, 4], [50, 4], [7, 3]]) {
      const links = relayLinks(n, degree)
      for (const [i, peers] of links.entries()) {
        assert.ok(!peers.includes(i), `relay ${i} linked with itself`)
        assert.ok(peers.length >= 2 && peers.length <= degree + 1, `relay ${i} of ${n}: ${peers.length} links for degree ${degree}`)
        for (const j of peers) assert.ok(links[j].includes(i), `${i}→${j} but not ${j}→${i}`)
      }
      // Circulant: the same from every relay, so relay 0's eccentricity is the diameter.
      assert.ok(diameterFrom0(links) <= Math.ceil(n / degree) + 1, `${n} relays, degree ${degree}: diameter ${diameterFrom0(links)}`)
    }
    assert.deepEqual(relayLinks(4, 0), [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
    assert.deepEqual(relayLinks(4, 9), relayLinks(4, 0))
    const s = buildSchedule(parseScenario({ ...base, relays: 20, relayLinks: 4 }), 2)
    assert.deepEqual(s.relayPeers[0], [1, 5, 15, 19])
  })

  it('time dilation stretches the messenger timers by its factor, and leaves them alone in real time', () => {
    assert.deepEqual(dilatedMessengerTimers(1), {})
    const t = dilatedMessengerTimers(4)
    assert.equal(t.fetchIntervalMs, 4 * DEFAULT_FETCH_INTERVAL_MS)
    assert.equal(t.retryIntervalMs, 4 * DEFAULT_RETRY_INTERVAL_MS)
  })

  it('the example scenarios in scripts/scenarios are valid', async () => {
    const dir = new URL('../../scripts/scenarios/', import.meta.url)
    const files = (await readdir(dir)).filter(f => f.endsWith('.json'))
    assert.ok(files.length >= 2)
    for (const f of files) parseScenarioText(await readFile(new URL(f, dir), 'utf8'))
  })

  it('the fault wrapper loses, duplicates and cuts sends as told, and passes the rest through', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    let sends = 0
    const inner: DeliveryTransport = {
      sendDirect: async () => { sends++ },
      storeOnRelay: async () => ({ relay: 'r', hash: new Uint8Array(32), storedAt: 0, expiresAt: 0 }),
      fetchMailbox: async () => ({ items: [], more: false }),
      deleteFromMailbox: async () => {}
    }
    const signal = new AbortController().signal
    const clean = faultyTransport(inner, noFaults(seededRandom(1)))
    await clean.sendDirect(peer, [], new Uint8Array(1), signal)
    assert.equal(sends, 1)

    const lossy = { ...noFaults(seededRandom(2)), lossRate: 0.9 }
    const results = await Promise.allSettled(Array.from({ length: 50 }, async () => { await faultyTransport(inner, lossy).sendDirect(peer, [], new Uint8Array(1), signal) }))
    const lost = results.filter(r => r.status === 'rejected')
    assert.equal(lost.length, lossy.counts.lost)
    assert.ok(lost.length > 30)
    for (const r of lost) assert.equal((r as PromiseRejectedResult).reason.name, 'SimulatedLossError')

    sends = 0
    const dup = { ...noFaults(seededRandom(3)), duplicateRate: 1 }
    await faultyTransport(inner, dup).sendDirect(peer, [], new Uint8Array(1), signal)
    assert.equal(sends, 2)

    let cut = true
    const cutting = { ...noFaults(seededRandom(4)), cut: () => cut }
    await assert.rejects(faultyTransport(inner, cutting).fetchMailbox(peer, undefined, signal), { name: 'SimulatedLossError' })
    cut = false
    await faultyTransport(inner, cutting).fetchMailbox(peer, undefined, signal)
  })
})
