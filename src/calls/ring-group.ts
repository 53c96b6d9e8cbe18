/**
 * Ringing every device of a contact at once (issue 12): the caller rings
 * each device it reaches on a stream of its own, with its own call id,
 * connection and offer (a connection answers one device). The caller's
 * screen follows one ring, the lead. The first device to accept gets the
 * call, and every other ring ends as `answered-elsewhere`, on the caller's
 * side and on the device (which stops ringing). A decline from any device,
 * or the caller hanging up or its ring timing out, ends them all. A device
 * that is busy or cannot be reached drops out; if it was the lead, the
 * screen follows a ring still going, and the ring that ended says so
 * (`continuedBy`), so that the call is written into the thread once.
 */
import type { CallSession } from './session.js'

/** The rings of one call placed to several devices. */
export class RingGroup {
  private readonly rings: CallSession[] = []
  private lead?: CallSession
  private settled = false

  /** `follow` tells the host the screen now follows another ring (emitted as `outgoing`). */
  constructor (private readonly follow: (call: CallSession) => void) {}

  /** Whether another ring may still join (nobody accepted or declined, the caller did not hang up). */
  get open (): boolean {
    return !this.settled && this.lead != null && !this.lead.over
  }

  /** Adds a ring; the first added is the lead. */
  add (call: CallSession): void {
    this.rings.push(call)
    this.lead ??= call
    call.on((event) => {
      if (event.type === 'state' && event.state === 'connecting' && !this.settled) this.accepted(call)
      else if (event.type === 'ended') this.ended(call, event.reason)
    })
  }

  private accepted (call: CallSession): void {
    this.settled = true
    // The screen moves to the call first, so that the lead's end below is not shown as the call's.
    if (this.lead !== call && this.lead != null) {
      this.lead.continuedBy = call
      this.lead = call
      this.follow(call)
    }
    // Every other ring ends, and its device stops ringing.
    for (const other of this.rings) {
      if (other === call || other.over) continue
      other.continuedBy = call
      other.end('answered-elsewhere', 'answered-elsewhere')
    }
  }

  private ended (call: CallSession, reason: string): void {
    if (this.settled || reason === 'answered-elsewhere') return
    const going = this.rings.filter(r => !r.over)
    if (reason === 'declined') {
      this.settled = true
      for (const other of going) other.end('declined', 'normal')
      return
    }
    if (call !== this.lead) return
    // The caller hung up, or the ring timed out: every ring ends with it.
    if (reason === 'missed' || reason === 'hangup') {
      this.settled = true
      for (const other of going) other.end('missed', 'normal')
      return
    }
    // The lead's device is busy or gone: the screen follows a ring still going.
    const next = going[0]
    if (next == null) return
    call.continuedBy = next
    this.lead = next
    this.follow(next)
  }
}
