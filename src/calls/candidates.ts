/**
 * Which ICE candidates of a call cross, and when (issue 12: merely ringing
 * someone reveals no address). Ours wait in a bounded buffer until the call
 * is accepted (the callee's user accepted, or the caller received the
 * accept); under relay-only (hide my IP, a stranger's call) only `typ relay`
 * candidates leave, whatever the WebRTC stack gathered; on a loopback-only
 * set-up only loopback ones. Theirs are refused before the accept and
 * counted against the call's budget.
 */
import { logger } from '@libp2p/logger'
import { MAX_CANDIDATES_PER_CALL } from './constants.js'
import { CallBudgetError, CallProtocolError } from './errors.js'
import type { IceCandidate } from './peer-connection.js'
import { isLoopbackCandidate, isRelayCandidate } from './sdp.js'

const log = logger('starling:calls:candidates')

/** The candidate rules of one call. */
export class CandidateGate {
  /** Relay only: set when the connection is made, from its transport policy. */
  relayOnly = false
  /** The candidate lines the other side sent (bounded by the budget; diagnostics and tests). */
  readonly received: string[] = []
  private open = false
  private readonly waiting: IceCandidate[] = []
  private remoteCount = 0

  /**
   * `hides` says whether hide my IP is on now: checked as each candidate
   * would leave, so that one gathered after the setting was turned on (a
   * connection made before it, an ICE restart) never carries an address
   * whatever the order of WebRTC's events.
   */
  constructor (private readonly send: (candidate: IceCandidate) => void, private readonly loopbackOnly = false, private readonly hides: () => boolean = () => false) {}

  /** Whether the call was accepted (candidates may cross). */
  get accepted (): boolean {
    return this.open
  }

  /** The call is accepted: what waited goes out, and what is gathered from now on goes at once. */
  accept (): void {
    this.open = true
    for (const candidate of this.waiting.splice(0)) this.leave(candidate)
  }

  /** Drops what waits for the accept (gathered by a connection that is replaced before it). */
  discardWaiting (): void {
    this.waiting.length = 0
  }

  /** A candidate our connection gathered: sent, kept until the accept, or dropped. */
  local (candidate: IceCandidate | null): void {
    if (candidate == null || candidate.candidate === '') return
    if (this.loopbackOnly && !isLoopbackCandidate(candidate.candidate)) return
    if (this.withheld(candidate)) return
    if (!this.open) {
      if (this.waiting.length < MAX_CANDIDATES_PER_CALL) this.waiting.push(candidate)
      return
    }
    this.send(candidate)
  }

  /** Sends one of ours, unless it is withheld now (hide my IP turned on since it was gathered). */
  private leave (candidate: IceCandidate): void {
    if (!this.withheld(candidate)) this.send(candidate)
  }

  /**
   * Whether one of ours carries an address that must not leave: under
   * relay only (the stack's to enforce; one that gathers other candidates
   * anyway must not hand them over) or with hide my IP on now.
   */
  private withheld (candidate: IceCandidate): boolean {
    if (isRelayCandidate(candidate.candidate) || (!this.relayOnly && !this.hides())) return false
    log('a %s candidate was not sent (relay only or hide my IP)', candidate.candidate.split(' ')[7] ?? 'malformed')
    return true
  }

  /**
   * A candidate the other side sent: true when the connection should take
   * it. Throws (dropping the stream) before the accept, over the budget, or
   * for a line that is no candidate.
   */
  remote (candidate: IceCandidate): boolean {
    if (!this.open) throw new CallProtocolError('an ICE candidate before the call was accepted')
    if (++this.remoteCount > MAX_CANDIDATES_PER_CALL) throw new CallBudgetError(`more than ${MAX_CANDIDATES_PER_CALL} ICE candidates on one call`)
    if (candidate.candidate === '') return false
    this.received.push(candidate.candidate)
    // Parsed whatever the setting: a line that is no candidate is a protocol error.
    const loopback = isLoopbackCandidate(candidate.candidate, { strict: true })
    return !this.loopbackOnly || loopback
  }
}
