/**
 * A call that loses its path recovers by ICE restart instead of ending
 * (issue 12): a connection `disconnected` for DISCONNECTED_RESTART_MS, or
 * `failed`, or a network change the host reports, makes the caller send an
 * `iceRestart` offer (the callee asks it to with a `restart` frame, so the
 * two never offer at once); the call ends as failed if it is not connected
 * again within RECONNECT_TIMEOUT_MS. Renegotiations are budgeted per call.
 */
import { DISCONNECTED_RESTART_MS, MAX_RENEGOTIATIONS_PER_CALL, RECONNECT_TIMEOUT_MS } from './constants.js'
import { CallBudgetError, CallProtocolError } from './errors.js'
import type { CallPeerConnection } from './peer-connection.js'
import { stripAddresses } from './sdp.js'
import type { CallState } from './types.js'
import type { Signal } from './wire.js'

/** What recovery needs of its call. */
export interface IceRecoveryHost {
  direction: 'outgoing' | 'incoming'
  pc(): CallPeerConnection | undefined
  state(): CallState
  /** The call is trying to get its path back. */
  reconnecting(): void
  /** The connection is up (again): check its certificate, then it is connected. */
  connected(pc: CallPeerConnection): void
  /** A remote SDP of a renegotiation (checked against the call's binding; throws to refuse it). */
  takeSdp(sdp: string): void
  send(signal: Signal): void
  fail(message: string): void
}

/** ICE restarts of one call. */
export class IceRecovery {
  private renegotiations = 0
  private restartRequests = 0
  private restartTimer?: ReturnType<typeof setTimeout>
  private failTimer?: ReturnType<typeof setTimeout>

  constructor (private readonly host: IceRecoveryHost) {}

  /** Restarts ICE now: the caller offers, the callee asks the caller to. */
  restart (): void {
    const pc = this.host.pc()
    if (pc == null || this.host.state() === 'ended') return
    this.host.reconnecting()
    this.armFailTimer()
    if (this.host.direction === 'incoming') {
      this.host.send({ kind: 'restart' })
      return
    }
    void (async () => {
      const offer = await pc.createOffer({ iceRestart: true })
      await pc.setLocalDescription({ type: 'offer', sdp: offer.sdp ?? '' })
      this.host.send({ kind: 'renegotiate', sdp: stripAddresses(offer.sdp ?? ''), answer: false })
    })().catch((err: Error) => { this.host.fail(`the ICE restart failed: ${err.message}`) })
  }

  /**
   * The callee asks for an ICE restart (it has no offer of its own to make).
   * Each restart gathers again (a TURN allocation per server), so the asks
   * share the renegotiation budget; one over it throws, dropping the stream.
   */
  onRestartRequest (): void {
    if (++this.restartRequests > MAX_RENEGOTIATIONS_PER_CALL) throw new CallBudgetError(`more than ${MAX_RENEGOTIATIONS_PER_CALL} ICE restarts asked for on one call`)
    this.restart()
  }

  /**
   * A renegotiation frame: the callee answers the caller's offer, the caller
   * takes the answer. Throws (dropping the stream) for one out of turn or
   * over the budget.
   */
  onRenegotiate (sdp: string, answer: boolean): void {
    const pc = this.host.pc()
    if (pc == null) throw new CallProtocolError('a renegotiation before the connection was made')
    if (++this.renegotiations > MAX_RENEGOTIATIONS_PER_CALL) throw new CallBudgetError(`more than ${MAX_RENEGOTIATIONS_PER_CALL} renegotiations on one call`)
    // The caller makes every offer, so the two sides never cross (no glare).
    if (answer !== (this.host.direction === 'outgoing')) throw new CallProtocolError(answer ? 'an answer to an offer never made' : 'an offer from the callee')
    this.host.takeSdp(sdp)
    // Candidates come trickled, through the candidate gate: any left in the SDP would skip it.
    const remote = stripAddresses(sdp)
    const run = answer
      ? pc.setRemoteDescription({ type: 'answer', sdp: remote })
      : (async () => {
          await pc.setRemoteDescription({ type: 'offer', sdp: remote })
          const reply = await pc.createAnswer()
          await pc.setLocalDescription({ type: 'answer', sdp: reply.sdp ?? '' })
          this.host.send({ kind: 'renegotiate', sdp: stripAddresses(reply.sdp ?? ''), answer: true })
        })()
    run.catch((err: Error) => { this.host.fail(`the ICE restart failed: ${err.message}`) })
  }

  /** Follows the connection's state. */
  onConnectionState (): void {
    const pc = this.host.pc()
    const state = this.host.state()
    if (pc == null || state === 'ended') return
    switch (pc.connectionState) {
      case 'connected':
        clearTimeout(this.restartTimer)
        this.restartTimer = undefined
        this.host.connected(pc)
        return
      case 'disconnected':
        // Often a moment's loss; restart ICE if it lasts.
        if (this.restartTimer == null && state === 'connected') {
          this.restartTimer = setTimeout(() => {
            this.restartTimer = undefined
            if (this.host.pc()?.connectionState !== 'connected') this.restart()
          }, DISCONNECTED_RESTART_MS)
        }
        return
      case 'failed':
        if (state === 'connected' || state === 'reconnecting') this.restart()
        else this.host.fail('no media path could be found')
    }
  }

  /** Connected again: no failure pending. */
  recovered (): void {
    clearTimeout(this.failTimer)
    this.failTimer = undefined
  }

  /** The call is over. */
  stop (): void {
    clearTimeout(this.restartTimer)
    clearTimeout(this.failTimer)
  }

  private armFailTimer (): void {
    if (this.failTimer != null) return
    this.failTimer = setTimeout(() => {
      this.failTimer = undefined
      if (this.host.state() === 'reconnecting') this.host.fail('the connection did not come back')
    }, RECONNECT_TIMEOUT_MS)
  }
}
