/**
 * The relay's health: ready means its listeners are bound, its envelope
 * store is open (it answers), and, when linked relays are configured, at
 * least one of them is connected. A relay that is stopping is not ready,
 * so that a load balancer or an orchestrator stops sending users to it
 * while it finishes the stores under way. `starling relay status` prints
 * this report.
 */
import type { StarlingRelay } from '../../src/peer/relay.js'

/** How long the store may take to answer before the check says it is not open. */
export const STORE_CHECK_TIMEOUT_MS = 5_000

/** What `/health` answers, as JSON. */
export interface HealthReport {
  ready: boolean
  /** Each condition of readiness; `linked` is null when no relay is configured. */
  checks: { listeners: boolean, store: boolean, linked: boolean | null, stopping: boolean }
  peerId: string
  multiaddrs: string[]
  uptimeSeconds: number
  envelopes: number
  mailboxes: number
  storageBytes: number
  storageBudgetBytes: number
  connections: number
  reservations: number
  linked: { configured: number, connected: number }
}

/** The parts of a relay the health check reads. */
export type HealthSubject = Pick<StarlingRelay, 'node' | 'mailbox' | 'relaySet'>

/** Reads the relay's readiness now. */
export async function healthReport (relay: HealthSubject, init: { startedAt: number, now: number, listening: number, stopping: boolean }): Promise<HealthReport> {
  const node = relay.node
  let held = { count: 0, bytes: 0 }
  let store: boolean
  try {
    held = await Promise.race([
      relay.mailbox.store.held(),
      new Promise<never>((_resolve, reject) => { setTimeout(() => { reject(new Error('store check timed out')) }, STORE_CHECK_TIMEOUT_MS).unref() })
    ])
    store = true
  } catch {
    store = false
  }
  const configured = relay.relaySet.linked.length
  const connected = relay.relaySet.linked.filter(r => node.getConnections(r.peerId).length > 0).length
  // Every listen address bound: libp2p lists one or more addresses per bound listener.
  const listeners = init.listening > 0 && node.getMultiaddrs().length >= 1 && node.status === 'started'
  const linked = configured > 0 ? connected > 0 : null
  const reservations = (node.services.relay as { reservations?: { size: number } } | undefined)?.reservations
  return {
    ready: listeners && store && linked !== false && !init.stopping,
    checks: { listeners, store, linked, stopping: init.stopping },
    peerId: node.peerId.toString(),
    multiaddrs: node.getMultiaddrs().map(String),
    uptimeSeconds: Math.round((init.now - init.startedAt) / 1000),
    envelopes: held.count,
    mailboxes: relay.mailbox.store.mailboxes,
    storageBytes: held.bytes,
    storageBudgetBytes: relay.mailbox.store.budgets.maxTotalBytes,
    connections: node.getConnections().length,
    reservations: reservations?.size ?? 0,
    linked: { configured, connected }
  }
}
