/**
 * The messages between the coordinator (scripts/simulate.ts) and its worker
 * processes (scripts/sim-worker.ts), over the child process IPC channel.
 * Phases: init → relays-up → start-users → users-up → (add-contacts →
 * contacts-added, with known contacts) → go → (events) → stop → stopped.
 */
import type { Scenario } from './scenario.js'
import type { Schedule } from './schedule.js'

/** A relay as every worker knows it before any starts: its key, its TCP port. */
export interface RelayInfo {
  index: number
  /** The peer key, protobuf, base64. */
  key: string
  peerId: string
  port: number
  worker: number
}

/** A user as every worker knows it once all are up. */
export interface UserInfo {
  handle: string
  peerId: string
}

export type ToWorker =
  | { type: 'init', scenario: Scenario, schedule: Schedule, worker: number, runId: string, relays: RelayInfo[] }
  | { type: 'start-users' }
  | { type: 'add-contacts', users: UserInfo[] }
  | { type: 'go', wallStart: number, users: UserInfo[] }
  | { type: 'stop' }

/** Resource use of one worker at one moment. */
export interface WorkerStats {
  worker: number
  /** Wall ms since the epoch. */
  t: number
  /** Bytes written to connections (TCP and memory) since start. */
  bytes: number
  rssBytes: number
  heapBytes: number
  /** CPU ms (user + system) since start. */
  cpuMs: number
  /** Event-loop delay over the last interval, ms. */
  lagP50: number
  lagP99: number
  lagMax: number
  usersOnline: number
  relaysUp: number
  nodes: number
}

export type FromWorker =
  | { type: 'relays-up', worker: number }
  /** `published`: whether the user's records were in the DHT when warm-up ended. */
  | { type: 'users-up', worker: number, users: Array<UserInfo & { index: number, published: boolean }> }
  /** `wall`: when the send call started (after the first resolution of the contact). */
  | { type: 'sent', seq: number, wall: number, id: string }
  | { type: 'send-failed', seq: number, wall: number, error: string }
  | { type: 'received', seq: number, user: number, wall: number, via: 'direct' | 'relay' }
  /** One resolution of a contact's handle (`attempt`: its try, from 1, when contacts are added at warm-up). */
  | { type: 'resolved', user: number, contact: number, ms: number, ok: boolean, attempt?: number }
  /** Contacts a worker's users added at warm-up, those not added (out of tries, or cut off), and those cut off by the deadline. */
  | { type: 'contacts-added', worker: number, added: number, failed: number, cutOff: number }
  | { type: 'online', user: number, on: boolean, wall: number }
  | { type: 'relay', relay: number, up: boolean, wall: number }
  | { type: 'stats', stats: WorkerStats }
  | { type: 'faults', worker: number, counts: Record<string, number> }
  | { type: 'log', worker: number, line: string }
  | { type: 'stopped', worker: number }
