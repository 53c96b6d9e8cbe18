/**
 * A relay as an operator runs it (issue 14), with real relay processes on
 * loopback and lean clients (raw libp2p nodes speaking the store protocol):
 *
 *   - `relay init` writes a config; `relay --config` takes it, flags over it;
 *     the relay prints its metrics and health URLs; the metrics count what
 *     clients did (and carry libp2p's own); `relay status` reads the health.
 *   - With a linked relay configured and unreachable, the relay is not ready.
 *   - SIGTERM under load: the relay finishes, exits 0, and after a restart
 *     holds every envelope it acknowledged. SIGKILL under load: the same.
 *   - A relay whose storage budget is reached refuses puts with the reason
 *     (relay-full) and keeps serving fetches.
 *   - Restarted with a changed config, it keeps its peer id and its data.
 */
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { toHex } from '../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../src/crypto/envelope.js'
import { StoreClient, mailboxId } from '../../src/protocols/store/index.js'
import { fakeEnvelope } from '../unit/relay/helpers.js'
import { Processes, eventually } from './harness.js'
import type { Running } from './harness.js'
import { nodeFrom } from './measure.js'

/** Store requests are not what these tests measure: lift the per-source rate limit. */
const NO_RATE_LIMIT = ['--rate-burst', '1000000', '--rate-per-second', '1000000']

/** One value of a Prometheus text exposition (the first sample whose name and labels start with `prefix`). */
function sample (text: string, prefix: string): number {
  const line = text.split('\n').find(l => l.startsWith(prefix))
  assert.ok(line != null, `metric ${prefix} is exported`)
  return Number(line.slice(line.lastIndexOf(' ') + 1))
}

async function get (url: string): Promise<{ status: number, text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(20_000) })
  return { status: res.status, text: await res.text() }
}

/** A device (mailbox owner) and a lean client node from 127.0.0.1. */
interface Device { key: PrivateKey, mailbox: Uint8Array }

async function device (): Promise<Device> {
  const key = await generateKeyPair('Ed25519')
  return { key, mailbox: mailboxId(peerIdFromPrivateKey(key)) }
}

/** Every envelope id a mailbox holds, paging through it. */
async function held (client: StoreClient, relayAddr: string, owner: Device): Promise<Set<string>> {
  const ids = new Set<string>()
  let after: Uint8Array | undefined
  for (let page = 0; page < 1000; page++) {
    const result = await client.fetch(multiaddr(relayAddr), owner.key, { after })
    for (const e of result.envelopes) ids.add(toHex(e.id))
    after = result.cursor
    if (!result.more) break
  }
  return ids
}

/**
 * `writers` clients each store envelopes into their own device's mailbox
 * as fast as the relay answers, until `stop` or the first failure (the
 * relay went away); resolves to the ids each device got a receipt for.
 */
/** Puts each writer of {@link load} keeps in flight. */
const PIPELINED = 8

function load (relayAddr: string, devices: Device[], stop: AbortSignal): { acked: Array<Set<string>>, done: Promise<void> } {
  const acked = devices.map(() => new Set<string>())
  const nodes: Libp2p[] = []
  const done = (async () => {
    try {
      await Promise.all(devices.map(async (owner, i) => {
        const node = await nodeFrom('127.0.0.1')
        nodes.push(node)
        const client = new StoreClient(node, { timeoutMs: 20_000 })
        // PIPELINED puts in flight per writer, on its client's one kept-open stream (the relay answers them
        // several at once): the signal finds puts under way side by side, not one. Bounded: at most 5,000
        // puts per writer, and only until stopped or refused.
        let n = 0
        await Promise.all(Array.from({ length: PIPELINED }, async () => {
          while (n < 5000 && !stop.aborted) {
            n++
            const envelope = fakeEnvelope(600)
            try {
              await client.put(multiaddr(relayAddr), owner.mailbox, envelope)
            } catch {
              break
            }
            acked[i].add(toHex(parseEnvelopeHeader(envelope).id))
          }
        }))
      }))
    } finally {
      await Promise.all(nodes.map(async n => { await n.stop() }))
    }
  })()
  return { acked, done }
}

describe('e2e: a relay as an operator runs it', function () {
  this.timeout(300_000)
  const procs = new Processes()
  after(async () => procs.stopAll())

  async function startRelay (dataDir: string, args: string[] = []): Promise<{ running: Running, addr: string }> {
    const running = await procs.start(['relay', '--listen', '/ip4/127.0.0.1/tcp/0', '--data', dataDir, ...args])
    return { running, addr: (running.ready.multiaddrs as string[])[0] }
  }

  it('relay init writes a config the relay runs from (flags over it); metrics count what clients did, status reads the health', async () => {
    const dir = await procs.tempDir('starling-relay-ops-')
    const config = join(dir, 'relay.jsonc')
    const init = await procs.cli(['relay', 'init', config, '--json'])
    assert.equal(init.code, 0, init.stderr)
    const check = await procs.cli(['relay', '--config', config, '--check', '--json'])
    assert.equal(check.code, 0, check.stderr)
    assert.equal(check.json[0].metrics, '127.0.0.1:9464')
    assert.equal(check.json[0].health, '127.0.0.1:9465')

    // The file's budget stays; the flags move the listeners and endpoints to free ports.
    const { running, addr } = await startRelay(join(dir, 'data'), ['--config', config, '--metrics', '127.0.0.1:0', '--health', '127.0.0.1:0', '--max-storage-per-source', '64MiB', ...NO_RATE_LIMIT])
    const ready = running.ready
    assert.equal(ready.level, 'info')
    assert.equal(typeof ready.time, 'string')
    assert.match(String(ready.metrics), /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    assert.match(String(ready.health), /^http:\/\/127\.0\.0\.1:\d+\/health$/)
    const storage = (ready.limits as { storage: Record<string, number> }).storage
    assert.equal(storage.maxTotalBytes, 8 * 1024 ** 3, 'from the file')
    assert.equal(storage.maxBytesPerSource, 64 * 1024 ** 2, 'the flag over the file')

    const owners = [await device(), await device(), await device()]
    const node = await nodeFrom('127.0.0.1')
    const client = new StoreClient(node)
    try {
      for (const [i, owner] of owners.entries()) {
        for (let j = 0; j <= i; j++) await client.put(multiaddr(addr), owner.mailbox, fakeEnvelope(500))
      }
      assert.equal((await held(client, addr, owners[2])).size, 3)
    } finally {
      await client.close()
      await node.stop()
    }
    const metrics = await get(String(ready.metrics))
    assert.equal(metrics.status, 200)
    assert.equal(sample(metrics.text, 'starling_relay_envelopes_stored_total'), 6)
    assert.equal(sample(metrics.text, 'starling_relay_envelopes_fetched_total'), 3)
    assert.equal(sample(metrics.text, 'starling_relay_envelopes_held'), 6)
    assert.equal(sample(metrics.text, 'starling_relay_mailboxes'), 3)
    assert.equal(sample(metrics.text, 'starling_relay_request_duration_seconds_count{op="put",status="OK"}'), 6)
    assert.ok(sample(metrics.text, 'starling_relay_storage_bytes') > 6 * 500)
    assert.ok(sample(metrics.text, 'starling_relay_data_dir_bytes') > 0)
    assert.ok(sample(metrics.text, 'libp2p_connection_manager_connections') >= 0, 'libp2p\'s own metrics')
    assert.ok(sample(metrics.text, 'nodejs_heap_size_used_bytes') > 0, 'process metrics')
    // Every series the sample Grafana dashboard plots is one the relay exports.
    const dashboard = await readFile(join(import.meta.dirname, '../../deploy/grafana-dashboard.json'), 'utf8')
    const plotted = new Set([...dashboard.matchAll(/\b((?:starling_relay|process|nodejs|libp2p)_[a-z0-9_]+)/g)].map(m => m[1]))
    assert.ok(plotted.size >= 20)
    for (const name of plotted) assert.ok(metrics.text.includes(`\n${name}`), `the dashboard's ${name} is exported`)

    const health = await get(String(ready.health))
    assert.equal(health.status, 200)
    assert.equal((JSON.parse(health.text) as { ready: boolean }).ready, true)
    const healthAddress = String(ready.health).replace(/^http:\/\//, '').replace(/\/health$/, '')
    const status = await procs.cli(['relay', 'status', '--health', healthAddress, '--json'])
    assert.equal(status.code, 0, status.stderr)
    assert.equal(status.json[0].ready, true)
    assert.equal(status.json[0].envelopes, 6)
    assert.equal(status.json[0].mailboxes, 3)
    await procs.stop(running)
    // Nothing answers any more: status says so in one line and fails.
    const gone = await procs.cli(['relay', 'status', '--health', healthAddress])
    assert.equal(gone.code, 1)
    assert.match(gone.stderr, /no relay answers at/)
  })

  it('is not ready while no linked relay it was given is connected', async () => {
    const dir = await procs.tempDir('starling-relay-ops-')
    const absent = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const { running } = await startRelay(dir, ['--health', '127.0.0.1:0', '--peer', `/ip4/127.0.0.1/tcp/9/p2p/${absent.toString()}`])
    const health = await get(String(running.ready.health))
    assert.equal(health.status, 503)
    const report = JSON.parse(health.text) as { ready: boolean, checks: Record<string, unknown> }
    assert.deepEqual(report.checks, { listeners: true, store: true, linked: false, stopping: false })
    const status = await procs.cli(['relay', 'status', '--health', String(running.ready.health).slice(7, -7)])
    assert.equal(status.code, 1)
    assert.match(status.stdout, /NOT READY/)
    await procs.stop(running)
  })

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`${signal} under load: after a restart the relay holds every envelope it acknowledged`, async () => {
      const dir = await procs.tempDir('starling-relay-ops-')
      const { running, addr } = await startRelay(dir, NO_RATE_LIMIT)
      const owners = await Promise.all(Array.from({ length: 8 }, device))
      const stop = new AbortController()
      const { acked, done } = load(addr, owners, stop.signal)
      // Signalled while stores are under way: once every writer has had 100 acknowledged (a count, not a time).
      await eventually(async () => acked.every(s => s.size >= 100) ? true : undefined, 120_000, 'every writer to store 100 envelopes')
      await procs.stop(running, signal)
      stop.abort()
      await done
      const total = acked.reduce((n, s) => n + s.size, 0)
      assert.ok(total > 0, 'some envelopes were acknowledged before the signal')
      if (signal === 'SIGTERM') {
        assert.equal(running.proc.exitCode, 0, running.stderr.join('\n'))
        assert.deepEqual(running.events.slice(-2).map(e => e.event), ['stopping', 'stopped'])
      }

      const again = await startRelay(dir, NO_RATE_LIMIT)
      assert.equal(again.running.ready.peerId, running.ready.peerId)
      const node = await nodeFrom('127.0.0.1')
      const client = new StoreClient(node)
      let missing = 0
      try {
        for (const [i, owner] of owners.entries()) {
          const ids = await held(client, again.addr, owner)
          for (const id of acked[i]) if (!ids.has(id)) missing++
        }
      } finally {
        await client.close()
        await node.stop()
      }
      console.log(`      ${signal}: ${total} envelopes acknowledged before the signal, ${missing} missing after the restart`)
      assert.equal(missing, 0)
      await procs.stop(again.running)
    })
  }

  it('a full relay refuses puts with the reason and keeps serving fetches; restarted with a changed config it keeps its identity and data', async () => {
    const dir = await procs.tempDir('starling-relay-ops-')
    const config = join(dir, 'relay.jsonc')
    // Room for about 8 envelopes of 1 KiB (each is charged its bytes plus a fixed overhead).
    await writeFile(config, '{\n  // a tiny relay\n  "max-storage": "12KiB",\n  "rate-burst": 1000,\n}\n')
    const { running, addr } = await startRelay(join(dir, 'data'), ['--config', config])
    const owner = await device()
    const node = await nodeFrom('127.0.0.1')
    const client = new StoreClient(node)
    try {
      let stored = 0
      let refusal: (Error & { quota?: string }) | undefined
      for (let i = 0; i < 50 && refusal == null; i++) {
        try {
          await client.put(multiaddr(addr), owner.mailbox, fakeEnvelope(1024))
          stored++
        } catch (err) {
          refusal = err as Error & { quota?: string }
        }
      }
      assert.ok(stored > 0)
      assert.ok(refusal != null, 'refused once the budget is reached')
      assert.equal(refusal.name, 'QuotaExceededError')
      assert.equal(refusal.quota, 'relay-full')
      assert.match(refusal.message, /storage is full/)
      assert.equal((await held(client, addr, owner)).size, stored, 'fetches still served')

      await procs.stop(running)
      await writeFile(config, '{ "max-storage": "1MiB", "retention": "7d", "rate-burst": 1000 }\n')
      const again = await startRelay(join(dir, 'data'), ['--config', config])
      assert.equal(again.running.ready.peerId, running.ready.peerId, 'same identity')
      assert.equal((again.running.ready.limits as { retentionMs: number }).retentionMs, 7 * 86_400_000)
      assert.equal((await held(client, again.addr, owner)).size, stored, 'same data')
      await client.put(multiaddr(again.addr), owner.mailbox, fakeEnvelope(1024))
      assert.equal((await held(client, again.addr, owner)).size, stored + 1, 'the larger budget takes more')
      await procs.stop(again.running)
    } finally {
      await client.close()
      await node.stop()
    }
  })
})
