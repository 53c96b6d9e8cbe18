/**
 * The DTLS check after connecting (src/calls/sdp-binding.ts): a browser's
 * getStats() may not name the remote certificate yet right at "connected"
 * (Chromium hands out a cached report): the binding reads again a few times
 * before it fails closed; a certificate that is not the SDP's fails at once.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { SdpBinding } from '../../../src/calls/sdp-binding.js'

const FP = (b: number): string => Array.from({ length: 32 }, () => b.toString(16).padStart(2, '0').toUpperCase()).join(':')
const SDP = (fingerprint: string): string => ['v=0', 'o=- 1 2 IN IP4 0.0.0.0', 's=-', 't=0 0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', `a=fingerprint:sha-256 ${fingerprint}`, 'a=setup:actpass', ''].join('\r\n')

/** Stats that name no certificate for the first `empty` reads, then `certificate`. */
function statsAfter (empty: number, certificate: string): { reads: number, getStats: () => Promise<Map<string, Record<string, unknown>>> } {
  const pc = {
    reads: 0,
    getStats: async () => {
      const stats = new Map<string, Record<string, unknown>>()
      if (pc.reads++ < empty) return stats
      stats.set('T', { id: 'T', type: 'transport', remoteCertificateId: 'C' })
      stats.set('C', { id: 'C', type: 'certificate', fingerprint: certificate, fingerprintAlgorithm: 'sha-256' })
      return stats
    }
  }
  return pc
}

/** The SDP fingerprint of a DER certificate: SHA-256, colon-separated hex. */
const fingerprintOf = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)?.join(':') ?? ''

/** A browser's connection: the DTLS transport (on its SCTP transport, or a sender's) gives the certificates; its stats must not be needed. */
function browserPc (certificates: Uint8Array[], where: 'sctp' | 'sender', statsCertificate?: string): { reads: number, sctp?: unknown, getSenders?: () => unknown[], getStats: () => Promise<Map<string, Record<string, unknown>>> } {
  const transport = { getRemoteCertificates: () => certificates.map(c => c.slice().buffer) }
  const stats = statsAfter(0, statsCertificate ?? FP(0x00))
  const pc = {
    get reads () { return stats.reads },
    ...(where === 'sctp' ? { sctp: { transport } } : { sctp: null, getSenders: () => [{ transport: null }, { transport }] }),
    getStats: stats.getStats
  }
  return pc
}

describe('calls: the DTLS certificate check', () => {
  const waits: number[] = []
  const sleep = async (ms: number): Promise<void> => { waits.push(ms) }
  beforeEach(() => { waits.length = 0 })

  it('stats that name the certificate only on a later read: the call is not ended', async () => {
    const binding = new SdpBinding(() => false, { sleep })
    binding.take(SDP(FP(0x11)))
    const pc = statsAfter(3, FP(0x11))
    await binding.verify(pc)
    assert.equal(pc.reads, 4)
    assert.deepEqual(waits, [100, 100, 100])
  })

  it('stats that never name one: fails closed after the retries', async () => {
    const binding = new SdpBinding(() => false, { sleep, statsRetries: 4 })
    binding.take(SDP(FP(0x11)))
    const pc = statsAfter(1_000, FP(0x11))
    await assert.rejects(binding.verify(pc), { name: 'FingerprintMismatchError' })
    assert.equal(pc.reads, 5)
  })

  it('another certificate than the SDP named fails at the first read', async () => {
    const binding = new SdpBinding(() => false, { sleep })
    binding.take(SDP(FP(0x11)))
    const pc = statsAfter(0, FP(0xab))
    await assert.rejects(binding.verify(pc), { name: 'FingerprintMismatchError' })
    assert.equal(pc.reads, 1)
    assert.deepEqual(waits, [])
  })

  it('in a browser the DTLS transport\'s certificate is hashed and checked, with no stats read (on the SCTP transport or a sender\'s)', async () => {
    const der = new Uint8Array(300).map((_, i) => (i * 7) & 0xff)
    for (const where of ['sctp', 'sender'] as const) {
      const binding = new SdpBinding(() => false, { sleep })
      binding.take(SDP(fingerprintOf(der)))
      const pc = browserPc([der, new Uint8Array([1, 2, 3])], where)
      await binding.verify(pc)
      assert.equal(pc.reads, 0, `${where}: no getStats() read`)
    }
  })

  it('in a browser a transport certificate that is not the SDP\'s fails at once, even when the stats would name the right one', async () => {
    const der = new Uint8Array(300).fill(0x42)
    const other = new Uint8Array(300).fill(0x43)
    const binding = new SdpBinding(() => false, { sleep })
    binding.take(SDP(fingerprintOf(der)))
    const pc = browserPc([other], 'sctp', fingerprintOf(der))
    await assert.rejects(binding.verify(pc), { name: 'FingerprintMismatchError' })
    assert.equal(pc.reads, 0)
    assert.deepEqual(waits, [])
  })

  it('a transport with no certificate yet: the stats are read instead', async () => {
    const binding = new SdpBinding(() => false, { sleep })
    binding.take(SDP(FP(0x11)))
    const pc = browserPc([], 'sctp', FP(0x11))
    await binding.verify(pc)
    assert.equal(pc.reads, 1)
  })
})
