/**
 * Call budgets on an injected clock: how many call attempts a source may
 * make per window. One counter per device (bounded map, oldest forgotten
 * first), one per contact account for all its devices together, and one
 * for every caller who is not a contact together, so fresh peer ids do not
 * buy fresh attempts.
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

/** Takes one attempt from `key`'s window in `windows` (a bounded map: the oldest forgotten first). */
function take (windows: Map<string, Window>, key: string, init: CallBudgetInit): boolean {
  const now = init.now()
  let window = windows.get(key)
  if (window == null) {
    window = new Window(now)
    setNewest(windows, key, window, init.maxPeers)
  }
  return window.take(init.perPeer, init.windowMs, now)
}

/** Limits of a {@link CallBudget}. */
export interface CallBudgetInit {
  perPeer: number
  strangers: number
  windowMs: number
  maxPeers: number
  now(): number
}

/** Call attempts per device, per contact account, and from strangers in all. */
export class CallBudget {
  private readonly peers = new Map<string, Window>()
  private readonly accounts = new Map<string, Window>()
  private readonly strangers: Window

  constructor (private readonly init: CallBudgetInit) {
    this.strangers = new Window(init.now())
  }

  /** Takes one attempt of `peer`'s budget; false when it is spent. */
  takePeer (peer: string): boolean {
    return take(this.peers, peer, this.init)
  }

  /**
   * Takes one attempt of a contact account's budget (as much as one device
   * has): a contact pins devices by writing from them, so fresh device ids
   * must not buy it fresh rings.
   */
  takeAccount (account: string): boolean {
    // Apart from the devices': a flood of fresh peer ids (each one an entry there) must not push it out.
    return take(this.accounts, account, this.init)
  }

  /** Takes one attempt of the budget all strangers share; false when it is spent. */
  takeStranger (): boolean {
    return this.strangers.take(this.init.strangers, this.init.windowMs, this.init.now())
  }
}
