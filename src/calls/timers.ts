/**
 * A call's two clocks: the ring (nobody answered in time: missed) and the
 * connect (accepted, but no media path in time: failed). Each fires at
 * most once per arming; stopping a call stops both.
 */
import { CONNECT_TIMEOUT_MS, RING_TIMEOUT_MS } from './constants.js'

/** What the clocks call when they run out. */
export interface CallTimeouts {
  ringMs?: number
  connectMs?: number
  ring(): void
  connect(): void
}

/** The ring and connect clocks of one call. */
export class CallTimers {
  private ringTimer?: ReturnType<typeof setTimeout>
  private connectTimer?: ReturnType<typeof setTimeout>

  constructor (private readonly timeouts: CallTimeouts) {}

  /** (Re)starts the ring clock. */
  ring (): void {
    clearTimeout(this.ringTimer)
    this.ringTimer = setTimeout(() => { this.timeouts.ring() }, this.timeouts.ringMs ?? RING_TIMEOUT_MS)
  }

  /** The call was answered (or declined): it rings no more. */
  answered (): void {
    clearTimeout(this.ringTimer)
  }

  /** (Re)starts the connect clock. */
  connecting (): void {
    clearTimeout(this.connectTimer)
    this.connectTimer = setTimeout(() => { this.timeouts.connect() }, this.timeouts.connectMs ?? CONNECT_TIMEOUT_MS)
  }

  /**
   * The connect clock waits: our devices are being opened with the
   * connection made at the accept (a permission prompt is the user's to
   * answer; the caller, which has no accept yet, still rings on its own clock).
   */
  hold (): void {
    clearTimeout(this.connectTimer)
  }

  /** The call connected. */
  connected (): void {
    clearTimeout(this.connectTimer)
  }

  stop (): void {
    clearTimeout(this.ringTimer)
    clearTimeout(this.connectTimer)
  }
}
