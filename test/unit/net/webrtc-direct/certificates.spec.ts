/**
 * A relay's WebRTC-direct certificates over time (src/net/webrtc-direct/
 * certificates.ts), on a fake clock: stored and reused after a restart,
 * renewed before they expire, and announced in pairs so that the
 * certhashes given out at any moment still name the served certificate a
 * full rotation interval later (an address given out before a renewal
 * keeps working after it).
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import { createCertificate } from '../../../../src/net/webrtc-direct/certificate.js'
import type { WebRTCDirectCertificate } from '../../../../src/net/webrtc-direct/certificate.js'
import { WebRTCDirectCertificates } from '../../../../src/net/webrtc-direct/certificates.js'
import { CERTIFICATE_EXPIRY_MARGIN_MS, CERTIFICATE_RETRY_MS, CERTIFICATE_ROTATION_INTERVAL_MS } from '../../../../src/net/webrtc-direct/constants.js'
import { decodeCertificates } from '../../../../src/net/webrtc-direct/stored.js'
import type { CertificateStorage } from '../../../../src/net/webrtc-direct/stored.js'

const T0 = Date.UTC(2026, 11, 6)
const DAY = 24 * 60 * 60_000
const P = CERTIFICATE_ROTATION_INTERVAL_MS
const M = CERTIFICATE_EXPIRY_MARGIN_MS

/** Storage in memory that counts writes and can be made to fail. */
class MemoryStorage implements CertificateStorage {
  data?: Uint8Array
  saves = 0
  failing = false
  async load (): Promise<Uint8Array | undefined> { return this.data }
  async save (data: Uint8Array): Promise<void> {
    if (this.failing) throw new Error('disk full')
    this.data = data
    this.saves++
  }
}

/**
 * Real certificates made once (WebCrypto is slow next to a fake clock);
 * each new one the rotation asks for is the next of them, with the dates
 * asked for, so the schedule runs in microtasks only.
 */
let pool: WebRTCDirectCertificate[] = []
let made = 0
function poolCreate (): (validity: { notBefore: number, notAfter: number }) => Promise<WebRTCDirectCertificate> {
  return async (validity) => {
    const c = pool[made++ % pool.length]
    return { ...c, notBefore: Math.floor(validity.notBefore / 1000) * 1000, notAfter: Math.floor(validity.notAfter / 1000) * 1000 }
  }
}

describe('WebRTC-direct certificates over time', () => {
  let clock: FakeTimers.Clock
  const running: WebRTCDirectCertificates[] = []

  before(async () => {
    pool = await Promise.all(Array.from({ length: 32 }, async () => await createCertificate({ notBefore: T0, notAfter: T0 + DAY })))
  })

  beforeEach(() => {
    clock = FakeTimers.install({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  })

  afterEach(() => {
    for (const c of running.splice(0)) c.stop()
    clock.uninstall()
  })

  function certificates (storage: CertificateStorage, create = poolCreate()): WebRTCDirectCertificates {
    const c = new WebRTCDirectCertificates({ storage, now: () => clock.now, create })
    running.push(c)
    return c
  }

  it('makes two certificates the first time, stores them once, and announces the served one first', async () => {
    const storage = new MemoryStorage()
    const certs = certificates(storage)
    await certs.start()
    assert.equal(storage.saves, 1)
    assert.notEqual(certs.current.certhash, certs.next.certhash)
    assert.deepEqual(certs.certhashes(), [certs.current.certhash, certs.next.certhash])
    const stored = await decodeCertificates(storage.data ?? new Uint8Array())
    assert.equal(stored.current.certhash, certs.current.certhash, 'what is stored is what is served')
    assert.equal(stored.next.certhash, certs.next.certhash)
    assert.equal(certs.next.notAfter - certs.next.notBefore, 2 * P + 2 * M)
  })

  it('reuses the stored certificates after a restart: same certhashes, nothing written', async () => {
    const storage = new MemoryStorage()
    const first = certificates(storage)
    await first.start()
    const given = first.certhashes()
    first.stop()
    await clock.tickAsync(10 * DAY)
    const again = certificates(storage)
    await again.start()
    assert.deepEqual(again.certhashes(), given)
    assert.equal(storage.saves, 1)
  })

  it('rotates after one interval: the next becomes the served one, stored before anyone is told', async () => {
    const storage = new MemoryStorage()
    const certs = certificates(storage)
    await certs.start()
    const [served, next] = certs.certhashes()
    const told: Array<{ certhash: string, stored: string }> = []
    certs.onRotate(c => { told.push({ certhash: c.certhash, stored: new TextDecoder().decode(storage.data) }) })
    await clock.tickAsync(P - 1000)
    assert.deepEqual(certs.certhashes(), [served, next], 'not before its time')
    assert.equal(told.length, 0)
    await clock.tickAsync(1000)
    assert.equal(certs.current.certhash, next)
    assert.notEqual(certs.next.certhash, served)
    assert.notEqual(certs.next.certhash, next)
    assert.equal(told.length, 1)
    assert.equal(told[0].certhash, next)
    assert.ok(told[0].stored.includes(certs.next.pem.split('\n')[1]), 'the new pair was stored before the listener ran')
    assert.equal(storage.saves, 2)
  })

  it('over 200 days: what is announced on any day names the served certificate for a full interval after, and only valid certificates', async () => {
    const storage = new MemoryStorage()
    const certs = certificates(storage)
    await certs.start()
    const days: Array<{ announced: WebRTCDirectCertificate[], served: string }> = []
    for (let d = 0; d < 200; d++) {
      const now = clock.now
      const announced = [certs.current, certs.next]
      for (const c of announced) {
        assert.ok(c.notBefore <= now, `day ${d}: announced before its validity`)
        assert.ok(now < c.notAfter - M, `day ${d}: announced within ${M} ms of its end`)
      }
      days.push({ announced, served: certs.current.certhash })
      await clock.tickAsync(DAY)
    }
    const interval = P / DAY
    for (let d = 0; d + interval < days.length; d++) {
      const given = days[d].announced.map(c => c.certhash)
      for (let e = d; e <= d + interval; e++) {
        assert.ok(given.includes(days[e].served), `address given on day ${d} fails on day ${e}`)
      }
    }
    const rotations = days.filter((day, d) => d > 0 && day.served !== days[d - 1].served).length
    assert.equal(rotations, Math.floor(199 / interval), 'one rotation per interval, no more')
  })

  it('after a long stop, replaces what may no longer be served at start', async () => {
    const storage = new MemoryStorage()
    const first = certificates(storage)
    await first.start()
    const old = first.certhashes()
    first.stop()
    await clock.tickAsync(P + DAY)
    const later = certificates(storage)
    await later.start()
    assert.equal(later.current.certhash, old[1], 'one interval late: the next one is served')
    later.stop()
    await clock.tickAsync(3 * P)
    const muchLater = certificates(storage)
    await muchLater.start()
    for (const h of muchLater.certhashes()) assert.ok(!old.includes(h), 'expired certificates are never served again')
    assert.ok(muchLater.current.notAfter - M > clock.now)
  })

  it('refuses unreadable stored certificates without replacing them', async () => {
    const storage = new MemoryStorage()
    storage.data = new TextEncoder().encode('{"version":1,"current":{"pem":"x"}}')
    await assert.rejects(certificates(storage).start(), { name: 'WebRTCDirectCertificateError' })
    storage.data = new TextEncoder().encode('not json')
    await assert.rejects(certificates(storage).start(), { name: 'WebRTCDirectCertificateError' })
    assert.equal(storage.saves, 0)
  })

  it('keeps serving the old certificates while new ones cannot be stored, and tries again', async () => {
    const storage = new MemoryStorage()
    const certs = certificates(storage)
    await certs.start()
    const before = certs.certhashes()
    storage.failing = true
    await clock.tickAsync(P)
    assert.deepEqual(certs.certhashes(), before, 'nothing served that is not stored')
    storage.failing = false
    await clock.tickAsync(CERTIFICATE_RETRY_MS)
    assert.equal(certs.current.certhash, before[1])
  })

  it('stops watching the clock when stopped', async () => {
    const certs = certificates(new MemoryStorage())
    await certs.start()
    const before = certs.certhashes()
    certs.stop()
    await clock.tickAsync(3 * P)
    assert.deepEqual(certs.certhashes(), before)
    assert.equal(clock.countTimers(), 0)
  })
})
