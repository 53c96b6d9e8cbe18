/**
 * Handles resolved through the DHT, with a relay and daemons as separate
 * processes on loopback (issue: foundation).
 */
import assert from 'node:assert/strict'
import { Processes, eventually } from './harness.js'
import type { Running } from './harness.js'
import { MAX_RESERVATION_BACKOFF_MS } from '../../src/net/reservations.js'

interface Resolved {
  query: string
  unique: boolean
  claims: Array<{ handle: string, fingerprint: string, devices: Array<{ peerId: string, online: boolean }> }>
}

describe('e2e: identities and handles', function () {
  this.timeout(180_000)
  const procs = new Processes()
  after(async () => procs.stopAll())

  async function startRelay (dataDir?: string, listen = '/ip4/127.0.0.1/tcp/0'): Promise<{ relay: Running, addr: string, dataDir: string }> {
    const dir = dataDir ?? await procs.tempDir('starling-relay-')
    const relay = await procs.start(['relay', '--listen', listen, '--data', dir])
    const addr = (relay.ready.multiaddrs as string[])[0]
    return { relay, addr, dataDir: dir }
  }

  async function newUser (handle: string): Promise<{ dir: string, handle: string, peerId: string, fingerprint: string }> {
    const dir = await procs.tempDir(`starling-${handle}-`)
    const r = await procs.cli(['init', '--handle', handle, '--data', dir, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const created = r.json[0]
    return { dir, handle: created.handle as string, peerId: created.peerId as string, fingerprint: created.fingerprint as string }
  }

  async function startDaemon (dir: string, relayAddr: string, extra: string[] = []): Promise<Running> {
    return procs.start(['daemon', '--data', dir, '--bootstrap', relayAddr, '--listen', '/ip4/127.0.0.1/tcp/0', ...extra])
  }

  async function published (dir: string, afterSeq = 0): Promise<number> {
    return eventually(async () => {
      const r = await procs.cli(['status', '--data', dir, '--json'])
      const seq = (r.json[0]?.published as { seq: number } | null)?.seq
      return seq != null && seq > afterSeq ? seq : undefined
    }, 30_000, `records of ${dir} published`)
  }

  async function resolve (fromDir: string, handle: string): Promise<Resolved> {
    const r = await procs.cli(['resolve', handle, '--data', fromDir, '--json'])
    assert.equal(r.code, 0, `resolve ${handle}: ${r.stderr}`)
    return r.json[0] as unknown as Resolved
  }

  it('one relay and three daemons: each resolves the others by bare handle and by name~tag', async () => {
    const { addr } = await startRelay()
    const users = await Promise.all(['alice', 'bob', 'carol'].map(async h => newUser(h)))
    await Promise.all(users.map(async u => startDaemon(u.dir, addr)))
    await Promise.all(users.map(async u => published(u.dir)))
    for (const from of users) {
      for (const to of users) {
        if (from === to) continue
        const bare = await resolve(from.dir, to.handle.split('~')[0])
        assert.equal(bare.unique, true)
        assert.equal(bare.claims.length, 1)
        assert.equal(bare.claims[0].handle, to.handle)
        assert.equal(bare.claims[0].fingerprint, to.fingerprint)
        assert.deepEqual(bare.claims[0].devices.map(d => d.peerId), [to.peerId])
        const full = await resolve(from.dir, to.handle)
        assert.equal(full.unique, true)
        assert.equal(full.claims[0].fingerprint, to.fingerprint)
      }
    }
  })

  it('two keys claiming one name: the bare name reports both; each name~tag resolves to its own key', async () => {
    const { addr } = await startRelay()
    const d1 = await newUser('dave')
    const d2 = await newUser('dave')
    const eve = await newUser('eve')
    assert.notEqual(d1.handle, d2.handle)
    await Promise.all([d1, d2, eve].map(async u => startDaemon(u.dir, addr)))
    await Promise.all([d1, d2, eve].map(async u => published(u.dir)))
    const bare = await resolve(eve.dir, 'dave')
    assert.equal(bare.unique, false)
    assert.deepEqual(bare.claims.map(c => c.handle).sort(), [d1.handle, d2.handle].sort())
    for (const d of [d1, d2]) {
      const full = await resolve(eve.dir, d.handle)
      assert.equal(full.unique, true)
      assert.equal(full.claims.length, 1)
      assert.equal(full.claims[0].fingerprint, d.fingerprint)
      assert.equal(full.claims[0].devices[0].peerId, d.peerId)
    }
  })

  it('a restarted daemon keeps its identity and handle; a restarted relay keeps its peer id and daemons get their reservation back', async () => {
    const { relay, addr, dataDir: relayDir } = await startRelay()
    const frank = await newUser('frank')
    const grace = await newUser('grace')
    let frankDaemon = await startDaemon(frank.dir, addr)
    await startDaemon(grace.dir, addr)
    await published(frank.dir)
    await published(grace.dir)

    // Daemon restart: same identity, still resolvable.
    await procs.stop(frankDaemon)
    frankDaemon = await startDaemon(frank.dir, addr)
    assert.equal(frankDaemon.ready.handle, frank.handle)
    assert.equal(frankDaemon.ready.peerId, frank.peerId)
    const seq = await published(frank.dir)
    assert.equal((await resolve(grace.dir, 'frank')).claims[0].fingerprint, frank.fingerprint)

    // Relay restart on the same address: same peer id, reservations come back.
    const port = /\/tcp\/(\d+)\//.exec(addr)?.[1]
    await procs.stop(relay)
    const again = await startRelay(relayDir, `/ip4/127.0.0.1/tcp/${port}`)
    assert.equal(again.relay.ready.peerId, relay.ready.peerId)
    assert.equal(again.addr, addr)
    for (const u of [frank, grace]) {
      await eventually(async () => {
        const r = await procs.cli(['status', '--data', u.dir, '--json'])
        const res = r.json[0]?.reservations as Array<{ reserved: boolean }> | undefined
        return res?.length === 1 && res[0].reserved ? true : undefined
        // A daemon retries a relay that went away on a doubling wait capped at
        // MAX_RESERVATION_BACKOFF_MS: when the relay was away long (a slow
        // restart on a busy machine), the next try may be that far off.
      }, MAX_RESERVATION_BACKOFF_MS + 30_000, `${u.handle} reservation after relay restart`)
    }
    await published(frank.dir, seq)
    assert.equal((await resolve(grace.dir, frank.handle)).claims[0].fingerprint, frank.fingerprint)
    assert.equal((await resolve(frank.dir, 'grace')).claims[0].fingerprint, grace.fingerprint)
  })

  it('with record lifetimes shortened, daemons republish before expiry and handles keep resolving', async () => {
    const { addr } = await startRelay()
    const hal = await newUser('hal')
    const ivy = await newUser('ivy')
    const lifetime = ['--record-lifetime', '3']
    await startDaemon(hal.dir, addr, lifetime)
    await startDaemon(ivy.dir, addr, lifetime)
    const first = await published(hal.dir)
    await published(ivy.dir)
    // Three lifetimes later every record first published has expired: only
    // republished ones can resolve.
    await new Promise(resolve => setTimeout(resolve, 9_500))
    const later = await published(hal.dir, first)
    assert.ok(later > first, `${later} > ${first}`)
    const r = await resolve(ivy.dir, 'hal')
    assert.equal(r.claims[0].fingerprint, hal.fingerprint)
    const s = await procs.cli(['status', '--data', hal.dir, '--json'])
    const pub = s.json[0].published as { at: number, expiresAt: number }
    assert.ok(pub.expiresAt > Date.now(), `${pub.expiresAt} > ${Date.now()}`)
    assert.equal(pub.expiresAt - pub.at, 3_000)
  })
})
