/**
 * The summary's figures for a run with adversaries (test/sim/adversaries.ts):
 * delivery, duplicates and latency of the messages between honest users
 * (sender and recipient both honest), who was malicious, and what the
 * adversaries did (their counters, summed over the workers).
 */
import { ADVERSARY_COUNTERS, chooseAdversaries } from './adversaries.js'
import type { AdversaryCounts } from './adversaries.js'
import type { RelayBehaviour } from './adversaries-schema.js'
import type { RunLog } from './run-log.js'
import { latencies, percentiles } from './summary.js'
import type { Percentiles } from './summary.js'

/** Delivery between honest users. */
export interface HonestFigures {
  /** Queued honest messages whose honest recipient was online at some point after the send. */
  toReturningRecipients: number
  delivered: number
  /** Of those queued: what relays and delivery did. */
  deliveryRatio: number
  /** Honest messages to such recipients whose send was attempted: queued, or failed before it was (its contact did not resolve). */
  attempted: number
  /**
   * Delivered of those attempted: an adversary whose effect is that sends
   * fail before they are queued (hidden DHT records, claimed names) shows
   * here, where the delivery ratio of the queued ones does not see it.
   */
  endToEndRatio: number
  duplicates: number
  sendFailed: number
  latencyMs: Percentiles
  undelivered: number[]
}

/** Who was malicious and what they did. */
export interface AdversarySummary {
  relays: Record<string, RelayBehaviour>
  dhtServers: number[]
  /** Sybil user index: the honest user whose name it claimed and whose mailboxes it flooded. */
  sybils: Record<string, number>
  counts: AdversaryCounts
}

/** Honest figures and the adversaries, or undefined when the run had none. */
export function adversaryFigures (run: RunLog): { honest: HonestFigures, adversaries: AdversarySummary } | undefined {
  const roles = chooseAdversaries(run.scenario)
  if (roles.relays.size + roles.dhtServers.size + roles.sybils.size === 0) return undefined
  const honestMessage = (seq: number): boolean => {
    const m = run.schedule.messages[seq]
    return !roles.sybils.has(m.from) && !roles.sybils.has(m.to)
  }
  const toReturning = (seq: number): boolean => {
    if (!honestMessage(seq)) return false
    const m = run.schedule.messages[seq]
    return run.schedule.users[m.to].sessions.some(([, b]) => b > m.at)
  }
  const returning = [...run.sent.keys()].filter(toReturning)
  const attempted = returning.length + [...run.failed.keys()].filter(seq => !run.sent.has(seq) && toReturning(seq)).length
  const delivered = returning.filter(seq => run.receptions.has(seq))
  let duplicates = 0
  for (const [seq, list] of run.receptions) if (honestMessage(seq)) duplicates += list.length - 1
  const counts = Object.fromEntries(ADVERSARY_COUNTERS.map(k => [k, run.faults.get(k) ?? 0])) as unknown as AdversaryCounts
  return {
    honest: {
      toReturningRecipients: returning.length,
      delivered: delivered.length,
      deliveryRatio: returning.length === 0 ? 1 : delivered.length / returning.length,
      attempted,
      endToEndRatio: attempted === 0 ? 1 : delivered.length / attempted,
      duplicates,
      sendFailed: [...run.failed.keys()].filter(honestMessage).length,
      latencyMs: percentiles(latencies(run).filter(l => honestMessage(l.seq)).map(l => l.ms)),
      undelivered: returning.filter(seq => !run.receptions.has(seq)).slice(0, 50)
    },
    adversaries: {
      relays: Object.fromEntries(roles.relays),
      dhtServers: [...roles.dhtServers],
      sybils: Object.fromEntries(roles.sybils),
      counts
    }
  }
}

/** The fault counts without the adversaries' counters (those are reported apart). */
export function faultCounts (faults: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...faults].filter(([k]) => !(ADVERSARY_COUNTERS as string[]).includes(k)))
}
