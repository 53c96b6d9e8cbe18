/**
 * What binds a call's media to its signalling (issue 12, Binding): the
 * first SDP taken names the DTLS fingerprints of the call; none of them may
 * be one of an earlier call (a replayed SDP), a renegotiation may not name
 * another nor add or drop a media section (at most MAX_MEDIA_SECTIONS), and once DTLS is up the remote certificate must be one of them.
 */
import { CallBindingError, CallProtocolError, FingerprintMismatchError } from './errors.js'
import { remoteFingerprints } from './peer-connection.js'
import type { CallPeerConnection } from './peer-connection.js'
import { mediaSections, sdpFingerprints } from './sdp.js'
import { MAX_MEDIA_SECTIONS } from './constants.js'

/**
 * How often, and how far apart, the stats are read again while they name no
 * remote certificate yet: in Chromium a read right at "connected" sometimes
 * names none (seen when the page polls stats every 2 ms, as the benchmark
 * does; likely its short-lived stats cache).
 */
const STATS_RETRIES = 10
const STATS_RETRY_MS = 100

/** Options of an {@link SdpBinding}. */
export interface SdpBindingOptions {
  /** Reads of the stats after the first while they name no certificate. */
  statsRetries?: number
  statsRetryMs?: number
  /** Waits between reads (tests pass a fake). */
  sleep?: (ms: number) => Promise<void>
}

/** The fingerprints one call is bound to. */
export class SdpBinding {
  /** The remote SDPs taken (bounded by the call's frame and renegotiation budgets; diagnostics and tests). */
  readonly received: string[] = []
  private expected?: string[]
  /** The media sections of the first SDP (see {@link mediaSections}). */
  private sections?: string
  private readonly retries: number
  private readonly retryMs: number
  private readonly sleep: (ms: number) => Promise<void>

  constructor (private readonly seenBefore: (fingerprint: string) => boolean, options: SdpBindingOptions = {}) {
    this.retries = options.statsRetries ?? STATS_RETRIES
    this.retryMs = options.statsRetryMs ?? STATS_RETRY_MS
    this.sleep = options.sleep ?? (async (ms) => { await new Promise(resolve => setTimeout(resolve, ms)) })
  }

  /** The fingerprints the remote SDP named (empty before the first). */
  get fingerprints (): string[] {
    return this.expected ?? []
  }

  /** Takes a remote SDP of this call; CallBindingError for a replay or a swapped certificate. */
  take (sdp: string): void {
    const fingerprints = sdpFingerprints(sdp)
    if (this.expected == null) {
      // Checked before the offer reaches a connection (a contact's is applied while it rings): renegotiations keep them.
      const sections = mediaSections(sdp)
      const count = sections === '' ? 0 : sections.split(' ').length
      if (count > MAX_MEDIA_SECTIONS) throw new CallProtocolError(`the SDP has ${count} media sections (at most ${MAX_MEDIA_SECTIONS})`)
      for (const f of fingerprints) {
        if (this.seenBefore(f)) throw new CallBindingError('the SDP names the DTLS certificate of an earlier call: a replay')
      }
      this.expected = fingerprints
      this.sections = sections
      this.received.push(sdp)
      return
    }
    if (fingerprints.some(f => !(this.expected ?? []).includes(f))) throw new CallBindingError('a renegotiation names another DTLS certificate')
    if (mediaSections(sdp) !== this.sections) throw new CallProtocolError(`a renegotiation changes the media sections (${this.sections ?? ''} to ${mediaSections(sdp).slice(0, 80)}): only ICE restarts are renegotiated`)
    this.received.push(sdp)
  }

  /**
   * Checks the connected remote certificate (from `getStats()`) against the
   * SDP's. Stats that name none yet are read again a few times; none
   * reported after that counts as a mismatch (fail closed), and a
   * certificate that is not the SDP's fails at once.
   *
   * @throws {FingerprintMismatchError}
   */
  async verify (pc: Pick<CallPeerConnection, 'getStats'>): Promise<void> {
    let seen = await remoteFingerprints(pc)
    for (let i = 0; i < this.retries && seen.length === 0; i++) {
      await this.sleep(this.retryMs)
      seen = await remoteFingerprints(pc)
    }
    const expected = this.expected ?? []
    if (seen.length === 0 || !seen.every(f => expected.includes(f))) {
      throw new FingerprintMismatchError(`the remote DTLS certificate (${seen[0] ?? 'none reported'}) is not the one its SDP named: the call was ended, it may have been tampered with`)
    }
  }
}
