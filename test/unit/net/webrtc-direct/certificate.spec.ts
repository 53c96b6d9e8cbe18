/**
 * The relay's WebRTC-direct certificate (src/net/webrtc-direct/certificate.ts
 * and der.ts), checked by an independent parser: Node's X509Certificate
 * (OpenSSL) reads it, its self-signature verifies, its key is the stored
 * private key, its dates are the ones asked for, and its certhash is the
 * SHA-256 multihash of its DER, as the webrtc-direct spec defines it.
 */
import assert from 'node:assert/strict'
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto'
import { base64url } from 'multiformats/bases/base64'
import { createCertificate, certhashOfPem } from '../../../../src/net/webrtc-direct/certificate.js'
import { time, tlv } from '../../../../src/net/webrtc-direct/der.js'

const T0 = Date.UTC(2026, 11, 6, 12, 0, 0, 789)
const DAY = 24 * 60 * 60_000

describe('WebRTC-direct certificate', () => {
  it('is a self-signed ECDSA P-256 X.509 v3 certificate that OpenSSL reads, with the dates asked for', async () => {
    const c = await createCertificate({ notBefore: T0, notAfter: T0 + 62 * DAY })
    const x = new X509Certificate(c.pem)
    assert.equal(x.verify(x.publicKey), true, 'self-signature verifies')
    assert.equal(x.checkIssued(x), true)
    assert.equal(x.checkPrivateKey(createPrivateKey(c.privateKey)), true, 'the stored key is the certificate key')
    assert.equal(x.publicKey.asymmetricKeyType, 'ec')
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1')
    assert.equal(x.ca, false)
    assert.equal(new Date(x.validFrom).getTime(), Math.floor(T0 / 1000) * 1000)
    assert.equal(new Date(x.validTo).getTime(), Math.floor((T0 + 62 * DAY) / 1000) * 1000)
    assert.equal(c.notBefore, Math.floor(T0 / 1000) * 1000, 'dates kept in whole seconds, as in the certificate')
    assert.match(x.serialNumber, /^[0-7][0-9A-F]*$/, 'serial number positive')
  })

  it('has as certhash the base64url multibase of the SHA-256 multihash of its DER', async () => {
    const c = await createCertificate({ notBefore: T0, notAfter: T0 + DAY })
    const der = new X509Certificate(c.pem).raw
    const expected = base64url.encode(Uint8Array.from([0x12, 0x20, ...createHash('sha256').update(der).digest()]))
    assert.equal(c.certhash, expected)
    assert.equal(await certhashOfPem(c.pem), expected)
    assert.match(c.certhash, /^u[A-Za-z0-9_-]{46}$/)
  })

  it('makes a new key and certhash every time', async () => {
    const a = await createCertificate({ notBefore: T0, notAfter: T0 + DAY })
    const b = await createCertificate({ notBefore: T0, notAfter: T0 + DAY })
    assert.notEqual(a.certhash, b.certhash)
    assert.notEqual(a.privateKey, b.privateKey)
  })

  it('writes dates from 2050 on as GeneralizedTime (RFC 5280 4.1.2.5)', async () => {
    assert.equal(time(Date.UTC(2049, 11, 31, 23, 59, 59))[0], 0x17)
    assert.equal(time(Date.UTC(2050, 0, 1))[0], 0x18)
    const late = await createCertificate({ notBefore: Date.UTC(2049, 11, 1), notAfter: Date.UTC(2050, 1, 1) })
    assert.equal(new Date(new X509Certificate(late.pem).validTo).getTime(), Date.UTC(2050, 1, 1))
  })

  it('encodes long DER lengths in long form', () => {
    assert.deepEqual([...tlv(0x04, new Uint8Array(127)).subarray(0, 2)], [0x04, 127])
    assert.deepEqual([...tlv(0x04, new Uint8Array(200)).subarray(0, 3)], [0x04, 0x81, 200])
    assert.deepEqual([...tlv(0x04, new Uint8Array(300)).subarray(0, 4)], [0x04, 0x82, 0x01, 0x2c])
  })

  it('refuses a validity that ends before it starts, and text that is not a PEM certificate', async () => {
    await assert.rejects(createCertificate({ notBefore: T0, notAfter: T0 }), { name: 'WebRTCDirectCertificateError' })
    await assert.rejects(certhashOfPem('hello'), { name: 'WebRTCDirectCertificateError' })
    const c = await createCertificate({ notBefore: T0, notAfter: T0 + DAY })
    await assert.rejects(certhashOfPem(c.privateKey), { name: 'WebRTCDirectCertificateError' }, 'a key is not a certificate')
  })
})
