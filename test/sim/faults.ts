/**
 * Faults injected at the messaging layer (issue 15, item 5): a wrapper over
 * the delivery transport a peer's messenger sees (StarlingPeerInit's
 * `wrapTransport` hook). The messenger's own code runs unchanged; only what
 * the network does to its sends changes:
 *
 * - loss: the envelope, or its acknowledgement, is lost; the sender sees a
 *   failed send either way (an acknowledgement cannot be forged), and in the
 *   second case the recipient already has it (its de-duplication is tested);
 * - duplication: the envelope is sent twice;
 * - reordering: a send waits a random time first, so later sends overtake it;
 * - partition: sends to a peer on the other side of a cut fail at once.
 */
import type { PeerId } from '@libp2p/interface'
import type { DeliveryTransport } from '../../src/messenger/index.js'

/** A send the fault wrapper dropped. */
export class SimulatedLossError extends Error {
  override name = 'SimulatedLossError'
}

/** What the wrapper does, and where its random numbers come from. */
export interface MessagingFaults {
  lossRate: number
  duplicateRate: number
  reorderRate: number
  reorderMaxMs: number
  random: () => number
  /** True while `peer` is on the other side of a partition. */
  cut?: (peer: PeerId) => boolean
  /** Counts what was injected. */
  counts: { lost: number, duplicated: number, reordered: number, cut: number }
}

/** No faults at all. */
export function noFaults (random: () => number): MessagingFaults {
  return { lossRate: 0, duplicateRate: 0, reorderRate: 0, reorderMaxMs: 0, random, counts: { lost: 0, duplicated: 0, reordered: 0, cut: 0 } }
}

/** Wraps `inner` with `faults`; with every rate 0 and no cut it only passes calls through. */
export function faultyTransport (inner: DeliveryTransport, faults: MessagingFaults): DeliveryTransport {
  const before = async (peer: PeerId, signal: AbortSignal): Promise<void> => {
    if (faults.cut?.(peer) === true) {
      faults.counts.cut++
      throw new SimulatedLossError('partitioned')
    }
    if (faults.reorderRate > 0 && faults.random() < faults.reorderRate) {
      faults.counts.reordered++
      await sleep(faults.random() * faults.reorderMaxMs, signal)
    }
  }
  /** Runs one send with loss and duplication around it. */
  const around = async <T>(send: () => Promise<T>): Promise<T> => {
    if (faults.lossRate > 0 && faults.random() < faults.lossRate) {
      faults.counts.lost++
      // Half the losses are of the envelope, half of its acknowledgement.
      if (faults.random() < 0.5) throw new SimulatedLossError('envelope lost')
      await send()
      throw new SimulatedLossError('acknowledgement lost')
    }
    if (faults.duplicateRate > 0 && faults.random() < faults.duplicateRate) {
      faults.counts.duplicated++
      const [first] = await Promise.allSettled([send(), send()])
      if (first.status === 'rejected') throw first.reason
      return first.value
    }
    return await send()
  }
  return {
    async sendDirect (peer, addrs, envelope, signal) {
      await before(peer, signal)
      await around(async () => { await inner.sendDirect(peer, addrs, envelope, signal) })
    },
    async storeOnRelay (relay, addrs, recipient, envelope, signal) {
      await before(relay, signal)
      return await around(async () => await inner.storeOnRelay(relay, addrs, recipient, envelope, signal))
    },
    async fetchMailbox (relay, after, signal, addrs) {
      if (faults.cut?.(relay) === true) {
        faults.counts.cut++
        throw new SimulatedLossError('partitioned')
      }
      return await inner.fetchMailbox(relay, after, signal, addrs)
    },
    ...(inner.relaySet != null ? { relaySet: inner.relaySet.bind(inner) } : {}),
    async deleteFromMailbox (relay, refs, signal) {
      await inner.deleteFromMailbox(relay, refs, signal)
    }
  }
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = (): void => { clearTimeout(timer); reject(signal.reason as Error) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
