/**
 * Call budgets on an injected clock: how many call attempts a source may
 * make per window. One counter per device (bounded map, oldest forgotten
 * first) and one for every caller who is not a contact together, so fresh
 * peer ids do not buy fresh attempts.
 */
import { setNewest } from '../bounded.js'

/** A count of attempts per fixed window. */
class Window {
  private start: number
  private count = 0

  constructor (now: number) {
    this.start = now
  }

  take (limit: number, windowMs: number, now: number): boolean {
    if (now - this.start >= windowMs || now < this.start) {
      this.start = now
      this.count = 0
    }
    if (this.count >= limit) return false
    this.count++
    return true
  }
}

/** Limits of a {@link CallBudget}. */
export interface CallBudgetInit {
  perPeer: number
  strangers: number
  windowMs: number
  maxPeers: number
  now(): number
}

/** Call attempts per device and from strangers in all. */
export class CallBudget {
  private readonly peers = new Map<string, Window>()
  private readonly strangers: Window

  constructor (private readonly init: CallBudgetInit) {
    this.strangers = new Window(init.now())
  }

  /** Takes one attempt of `peer`'s budget; false when it is spent. */
  takePeer (peer: string): boolean {
    const now = this.init.now()
    let window = this.peers.get(peer)
    if (window == null) {
      window = new Window(now)
      setNewest(this.peers, peer, window, this.init.maxPeers)
    }
    return window.take(this.init.perPeer, this.init.windowMs, now)
  }

  /** Takes one attempt of the budget all strangers share; false when it is spent. */
  takeStranger (): boolean {
    return this.strangers.take(this.init.strangers, this.init.windowMs, this.init.now())
  }
}
