/**
 * What binds a call's media to its signalling (issue 12, Binding): the
 * first SDP taken names the DTLS fingerprints of the call; none of them may
 * be one of an earlier call (a replayed SDP), a renegotiation may not name
 * another, and once DTLS is up the remote certificate must be one of them.
 */
import { CallBindingError, FingerprintMismatchError } from './errors.js'
import { remoteFingerprints } from './peer-connection.js'
import type { CallPeerConnection } from './peer-connection.js'
import { sdpFingerprints } from './sdp.js'

/** The fingerprints one call is bound to. */
export class SdpBinding {
  private expected?: string[]

  constructor (private readonly seenBefore: (fingerprint: string) => boolean) {}

  /** The fingerprints the remote SDP named (empty before the first). */
  get fingerprints (): string[] {
    return this.expected ?? []
  }

  /** Takes a remote SDP of this call; CallBindingError for a replay or a swapped certificate. */
  take (sdp: string): void {
    const fingerprints = sdpFingerprints(sdp)
    if (this.expected == null) {
      for (const f of fingerprints) {
        if (this.seenBefore(f)) throw new CallBindingError('the SDP names the DTLS certificate of an earlier call: a replay')
      }
      this.expected = fingerprints
      return
    }
    if (fingerprints.some(f => !(this.expected ?? []).includes(f))) throw new CallBindingError('a renegotiation names another DTLS certificate')
  }

  /**
   * Checks the connected remote certificate (from `getStats()`) against the
   * SDP's; none reported counts as a mismatch (fail closed).
   *
   * @throws {FingerprintMismatchError}
   */
  async verify (pc: Pick<CallPeerConnection, 'getStats'>): Promise<void> {
    const seen = await remoteFingerprints(pc)
    const expected = this.expected ?? []
    if (seen.length === 0 || !seen.every(f => expected.includes(f))) {
      throw new FingerprintMismatchError(`the remote DTLS certificate (${seen[0] ?? 'none reported'}) is not the one its SDP named: the call was ended, it may have been tampered with`)
    }
  }
}
