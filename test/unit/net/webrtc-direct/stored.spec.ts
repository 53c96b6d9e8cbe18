/**
 * Stored WebRTC-direct certificates (src/net/webrtc-direct/stored.ts): what
 * is written reads back, the certhash is computed from the certificate (never
 * taken from the file), and anything else is refused with a named error.
 */
import assert from 'node:assert/strict'
import { createCertificate } from '../../../../src/net/webrtc-direct/certificate.js'
import type { WebRTCDirectCertificate } from '../../../../src/net/webrtc-direct/certificate.js'
import { decodeCertificates, encodeCertificates } from '../../../../src/net/webrtc-direct/stored.js'

const T0 = Date.UTC(2026, 11, 6)
const DAY = 24 * 60 * 60_000
const bytes = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v))

describe('stored WebRTC-direct certificates', () => {
  let current: WebRTCDirectCertificate
  let next: WebRTCDirectCertificate

  before(async () => {
    current = await createCertificate({ notBefore: T0, notAfter: T0 + 62 * DAY })
    next = await createCertificate({ notBefore: T0, notAfter: T0 + 62 * DAY })
  })

  it('reads back what it wrote, certhashes included', async () => {
    assert.deepEqual(await decodeCertificates(encodeCertificates({ current, next })), { current, next })
  })

  it('computes the certhash from the certificate: a certhash in the file is ignored', async () => {
    const written = JSON.parse(new TextDecoder().decode(encodeCertificates({ current, next }))) as { current: Record<string, unknown> }
    written.current.certhash = next.certhash
    assert.equal((await decodeCertificates(bytes(written))).current.certhash, current.certhash)
  })

  it('refuses other versions, other shapes, broken certificates and oversized files', async () => {
    const good = JSON.parse(new TextDecoder().decode(encodeCertificates({ current, next }))) as Record<string, Record<string, unknown>>
    const cases: unknown[] = [
      { ...good, version: 2 },
      [],
      { version: 1, current: good.current },
      { ...good, next: { ...good.next, notAfter: good.next.notBefore } },
      { ...good, next: { ...good.next, notBefore: 'soon' } },
      { ...good, current: { ...good.current, privateKey: 'secret' } },
      { ...good, current: { ...good.current, pem: good.current.privateKey } },
      { ...good, current: { ...good.current, pem: '-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n' } },
      'x'.repeat(70 * 1024)
    ]
    for (const c of cases) await assert.rejects(decodeCertificates(bytes(c)), { name: 'WebRTCDirectCertificateError' }, JSON.stringify(c).slice(0, 80))
  })
})
