/**
 * A relay's WebRTC-direct certificates over time: kept in its data
 * directory (so a restart serves the same certificate and the address
 * given out stays the same), renewed before they expire, and announced in
 * pairs so that an address given out before a renewal keeps working after
 * it.
 *
 * Why pairs, and the NEXT certificate rather than the previous one: in
 * WebRTC-direct the server speaks first in DTLS and nothing the client
 * sends says which certhash it was given, so a relay can present only one
 * certificate, and an address works only while it names the one presented.
 * So the relay always holds two: the `current` one, which it presents, and
 * the `next` one, made in advance and valid from the day it is made. Every
 * address it announces names both (`/certhash/<current>/certhash/<next>`).
 * After one rotation interval the next becomes current and a new next is
 * made; an address given out at any moment therefore keeps working for at
 * least one interval and at most two. This is libp2p's WebTransport scheme
 * (its spec's "Certificates" section), applied to WebRTC-direct. A dialer
 * that knows it tries each certhash (dial.ts); one that reads only the
 * first certhash (stock `@libp2p/webrtc`) keeps working until the next
 * rotation.
 *
 * The schedule is a pure function of the two certificates' dates and the
 * clock (`now`, injected), so it survives restarts without more state.
 */
import { NotStartedError } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { createCertificate } from './certificate.js'
import type { WebRTCDirectCertificate } from './certificate.js'
import { CERTIFICATE_CHECK_MAX_MS, CERTIFICATE_EXPIRY_MARGIN_MS, CERTIFICATE_RETRY_MS, CERTIFICATE_ROTATION_INTERVAL_MS } from './constants.js'
import { decodeCertificates, encodeCertificates } from './stored.js'
import type { CertificatePair, CertificateStorage } from './stored.js'

const log = logger('starling:net:webrtc-direct:certificates')

/** Options of {@link WebRTCDirectCertificates}. */
export interface WebRTCDirectCertificatesInit {
  storage: CertificateStorage
  /** The clock (ms since the epoch). */
  now?: () => number
  /** How long a certificate is announced as next, then served (default CERTIFICATE_ROTATION_INTERVAL_MS). */
  rotationIntervalMs?: number
  /** No certificate is served or announced this close to its end (default CERTIFICATE_EXPIRY_MARGIN_MS). */
  expiryMarginMs?: number
  /** Makes a certificate (default: createCertificate with WebCrypto). */
  create?: (validity: { notBefore: number, notAfter: number }) => Promise<WebRTCDirectCertificate>
}

/** Called with the certificate now served, after it was stored. */
export type RotateListener = (current: WebRTCDirectCertificate) => void

/** The certificates a relay serves and announces over WebRTC-direct (see the file comment). */
export class WebRTCDirectCertificates {
  readonly rotationIntervalMs: number
  readonly expiryMarginMs: number
  /** Each certificate's lifetime: announced for one interval, served for one, and a margin at each end. */
  readonly lifetimeMs: number
  private readonly storage: CertificateStorage
  private readonly now: () => number
  private readonly create: (validity: { notBefore: number, notAfter: number }) => Promise<WebRTCDirectCertificate>
  private readonly listeners = new Set<RotateListener>()
  private pair?: CertificatePair
  private timer?: ReturnType<typeof setTimeout>
  private running = false

  constructor (init: WebRTCDirectCertificatesInit) {
    this.storage = init.storage
    this.now = init.now ?? Date.now
    this.create = init.create ?? createCertificate
    this.rotationIntervalMs = init.rotationIntervalMs ?? CERTIFICATE_ROTATION_INTERVAL_MS
    this.expiryMarginMs = init.expiryMarginMs ?? CERTIFICATE_EXPIRY_MARGIN_MS
    this.lifetimeMs = 2 * this.rotationIntervalMs + 2 * this.expiryMarginMs
  }

  /**
   * Loads the stored certificates (throws WebRTCDirectCertificateError when
   * the stored ones are unreadable: nothing is replaced, since that would
   * change the relay's address), brings them up to date, stores them if
   * they changed, and watches the clock.
   */
  async start (): Promise<void> {
    const stored = await this.storage.load()
    const loaded = stored != null ? await decodeCertificates(stored) : undefined
    const pair = await this.advance(loaded)
    if (pair !== loaded) await this.storage.save(encodeCertificates(pair))
    this.pair = pair
    this.running = true
    this.schedule(this.dueAt())
  }

  /** Stops watching the clock. */
  stop (): void {
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** The certificate presented to dialers now. */
  get current (): WebRTCDirectCertificate {
    return this.started().current
  }

  /** The certificate that will be presented after the next rotation. */
  get next (): WebRTCDirectCertificate {
    return this.started().next
  }

  /** The certhashes every address announces, the one served first (a dialer that reads one reads the first). */
  certhashes (): string[] {
    const pair = this.started()
    return [pair.current.certhash, pair.next.certhash]
  }

  /** When the certificates change next (ms since the epoch). */
  dueAt (): number {
    const { current, next } = this.started()
    return Math.min(next.notBefore + this.rotationIntervalMs, current.notAfter - this.expiryMarginMs, next.notAfter - this.expiryMarginMs)
  }

  /** Calls `listener` after each rotation; returns a function that stops calling it. */
  onRotate (listener: RotateListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Looks at the clock now: rotates (store, then tell the listeners) if it is time. Resolves true if it rotated. */
  async check (): Promise<boolean> {
    const before = this.started()
    const after = await this.advance(before)
    if (after === before || !this.running) return false
    await this.storage.save(encodeCertificates(after))
    if (!this.running) return false
    this.pair = after
    log('serving certificate %s, announcing %s next', after.current.certhash, after.next.certhash)
    for (const listener of this.listeners) listener(after.current)
    return true
  }

  /**
   * The pair as it should be now: what may no longer be served is dropped,
   * the next certificate becomes current after one interval, and a missing
   * one is made. Returns `pair` itself when nothing changes.
   */
  private async advance (pair: CertificatePair | undefined): Promise<CertificatePair> {
    const now = this.now()
    const servable = (c: WebRTCDirectCertificate | undefined): WebRTCDirectCertificate | undefined => c != null && now < c.notAfter - this.expiryMarginMs ? c : undefined
    let current = servable(pair?.current)
    let next = servable(pair?.next)
    if (current == null) {
      current = next ?? await this.make(now)
      next = undefined
    }
    if (next != null && now >= next.notBefore + this.rotationIntervalMs) {
      current = next
      next = undefined
    }
    next ??= await this.make(now)
    if (pair != null && current === pair.current && next === pair.next) return pair
    return { current, next }
  }

  private async make (now: number): Promise<WebRTCDirectCertificate> {
    return await this.create({ notBefore: now, notAfter: now + this.lifetimeMs })
  }

  private schedule (at: number): void {
    if (!this.running) return
    const delay = Math.min(Math.max(at - this.now(), 0), CERTIFICATE_CHECK_MAX_MS)
    this.timer = setTimeout(() => {
      this.check()
        .then(() => { this.schedule(this.dueAt()) })
        .catch(err => {
          // The served certificates stay until new ones are stored.
          log.error('could not renew the WebRTC-direct certificates - %e', err)
          this.schedule(this.now() + CERTIFICATE_RETRY_MS)
        })
    }, delay)
  }

  private started (): CertificatePair {
    if (this.pair == null) throw new NotStartedError('WebRTCDirectCertificates used before start()')
    return this.pair
  }
}
