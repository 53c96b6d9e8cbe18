/** Listeners of one kind of event (a call's, the service's): a listener that throws is logged, and the others still hear the event. */
import { logger } from '@libp2p/logger'

const log = logger('starling:calls')

/** A set of listeners. */
export class Listeners<E> {
  private readonly set = new Set<(event: E) => void>()

  /** Adds `listener`; returns the function that removes it. */
  add (listener: (event: E) => void): () => void {
    this.set.add(listener)
    return () => { this.set.delete(listener) }
  }

  /** Tells every listener (those added meanwhile wait for the next event). */
  emit (event: E): void {
    for (const listener of [...this.set]) {
      try {
        listener(event)
      } catch (err) {
        log.error('call listener failed: %e', err)
      }
    }
  }
}
