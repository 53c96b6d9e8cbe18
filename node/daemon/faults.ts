/**
 * A test hook at the messaging layer: with STARLING_TEST_FAULTS set (JSON,
 * e.g. {"drop":0.2,"duplicate":0.2,"delayMs":50,"lostAck":0.1,"seed":1}),
 * the daemon's direct sends are dropped (the ack never comes: the send fails
 * as a lost packet would), duplicated, delayed by a random time (which
 * reorders them), or delivered with their acknowledgement lost (the
 * recipient stored the envelope, the sender thinks it failed, as when a
 * connection breaks at that moment). Noise would reject such faults inside
 * a byte stream, so they are made on whole envelopes. Never set in
 * production.
 */
import { seededRandom } from '../seeded-random.js'
import type { DeliveryTransport } from '../../src/messenger/index.js'

interface Faults {
  drop?: number
  duplicate?: number
  delayMs?: number
  lostAck?: number
  seed?: number
}


/** Wraps `transport` when `spec` is set; returns it unchanged otherwise. */
export function faultyTransport (transport: DeliveryTransport, spec: string | undefined): DeliveryTransport {
  if (spec == null || spec === '') return transport
  const faults = JSON.parse(spec) as Faults
  const random = seededRandom(faults.seed ?? Date.now())
  const delay = async (): Promise<void> => {
    if ((faults.delayMs ?? 0) > 0) await new Promise(resolve => setTimeout(resolve, random() * (faults.delayMs ?? 0)))
  }
  return {
    sendDirect: async (peer, addrs, envelope, signal) => {
      await delay()
      if (random() < (faults.drop ?? 0)) throw new Error('test hook: envelope dropped')
      if (random() < (faults.duplicate ?? 0)) await transport.sendDirect(peer, addrs, envelope, signal).catch(() => {})
      await transport.sendDirect(peer, addrs, envelope, signal)
      if ((faults.lostAck ?? 0) > 0 && random() < (faults.lostAck ?? 0)) throw new Error('test hook: acknowledgement lost')
    },
    storeOnRelay: async (relay, addrs, recipient, envelope, signal) => {
      await delay()
      if (random() < (faults.drop ?? 0)) throw new Error('test hook: envelope dropped')
      return transport.storeOnRelay(relay, addrs, recipient, envelope, signal)
    },
    fetchMailbox: async (relay, after, signal) => transport.fetchMailbox(relay, after, signal),
    deleteFromMailbox: async (relay, refs, signal) => transport.deleteFromMailbox(relay, refs, signal)
  }
}
