/**
 * Attacks on the DTLS certificate check after connecting
 * (src/calls/sdp-binding.ts over peer-connection.ts remoteFingerprints):
 * in a browser the remote certificates come from the DTLS transports
 * (`getRemoteCertificates()`), the leaf hashed here, instead of a full
 * `getStats()` read. A man in the middle (or a callee) must not pass with a
 * chain whose leaf is not the SDP's, with no certificate on the transport
 * while the stats name another, or with one transport right and another
 * wrong: a connection whose media are not bundled has a DTLS transport per
 * media section, and the stats read this replaced checked every one.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { SdpBinding } from '../../../src/calls/sdp-binding.js'

const SDP = (fingerprint: string): string => ['v=0', 'o=- 1 2 IN IP4 0.0.0.0', 's=-', 't=0 0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', `a=fingerprint:sha-256 ${fingerprint}`, 'a=setup:actpass', ''].join('\r\n')
const fingerprintOf = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)?.join(':') ?? ''
const der = (fill: number): Uint8Array => new Uint8Array(300).fill(fill)

interface Transport { getRemoteCertificates: () => ArrayBuffer[] }
const transport = (...certificates: Uint8Array[]): Transport => ({ getRemoteCertificates: () => certificates.map(c => c.slice().buffer) })

/** A browser connection: its SCTP transport, its senders' and receivers' transports, and stats naming `stats` (one transport entry each). */
function browserPc (parts: { sctp?: Transport | null, senders?: Array<Transport | null>, receivers?: Array<Transport | null>, stats?: string[] }): { reads: number, getStats: () => Promise<Map<string, Record<string, unknown>>> } {
  const pc = {
    reads: 0,
    sctp: parts.sctp === undefined ? null : (parts.sctp == null ? null : { transport: parts.sctp }),
    getSenders: () => (parts.senders ?? []).map(t => ({ transport: t })),
    getReceivers: () => (parts.receivers ?? []).map(t => ({ transport: t })),
    getStats: async () => {
      pc.reads++
      const stats = new Map<string, Record<string, unknown>>()
      ;(parts.stats ?? []).forEach((f, i) => {
        stats.set(`T${i}`, { id: `T${i}`, type: 'transport', remoteCertificateId: `C${i}` })
        stats.set(`C${i}`, { id: `C${i}`, type: 'certificate', fingerprint: f, fingerprintAlgorithm: 'sha-256' })
      })
      return stats
    }
  }
  return pc
}

describe('calls: the DTLS certificate check under attack (browser transports)', () => {
  const sleep = async (): Promise<void> => {}
  const right = der(0x42)
  const wrong = der(0x66)

  function bound (): SdpBinding {
    const binding = new SdpBinding(() => false, { sleep, statsRetries: 2 })
    binding.take(SDP(fingerprintOf(right)))
    return binding
  }

  it('one DTLS transport right, another (a sender\'s, media not bundled) someone else\'s: the call fails', async () => {
    const pc = browserPc({ sctp: transport(right), senders: [transport(wrong)], stats: [fingerprintOf(right), fingerprintOf(wrong)] })
    await assert.rejects(bound().verify(pc), { name: 'FingerprintMismatchError' })
  })

  it('the same with the other transport on a receiver only: the call fails', async () => {
    const pc = browserPc({ sctp: transport(right), receivers: [transport(wrong)] })
    await assert.rejects(bound().verify(pc), { name: 'FingerprintMismatchError' })
  })

  it('held: a chain whose leaf is not the SDP\'s fails, even with the SDP\'s certificate further down', async () => {
    const pc = browserPc({ sctp: transport(wrong, right) })
    await assert.rejects(bound().verify(pc), { name: 'FingerprintMismatchError' })
    assert.equal(pc.reads, 0)
  })

  it('held: no certificate on the transport while the stats name another: fails (the stats are read, fail closed)', async () => {
    const pc = browserPc({ sctp: transport(), senders: [transport()], stats: [fingerprintOf(wrong)] })
    await assert.rejects(bound().verify(pc), { name: 'FingerprintMismatchError' })
    assert.equal(pc.reads, 1)
  })

  it('held: no certificate anywhere, stats empty: fails closed after the retries', async () => {
    const pc = browserPc({ sctp: transport(), stats: [] })
    await assert.rejects(bound().verify(pc), { name: 'FingerprintMismatchError' })
    assert.equal(pc.reads, 3)
  })

  it('held: the stats fallback with one transport entry right and another wrong fails', async () => {
    const pc = browserPc({ stats: [fingerprintOf(right), fingerprintOf(wrong)] })
    await assert.rejects(bound().verify(pc), { name: 'FingerprintMismatchError' })
  })

  it('held: every transport (bundled: one object, or several) with the SDP\'s leaf passes with no stats read', async () => {
    const shared = transport(right, wrong)
    const pc = browserPc({ sctp: shared, senders: [shared, null, transport(right)], receivers: [shared] })
    await bound().verify(pc)
    assert.equal(pc.reads, 0)
  })
})
