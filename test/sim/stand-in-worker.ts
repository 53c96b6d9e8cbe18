/**
 * A worker engine (test/sim/engine.ts) for tests of its phases: three users
 * (their relay is another worker's, so none starts here) whose peers are
 * stand-ins with only what the phase under test uses; no libp2p.
 */
import assert from 'node:assert/strict'
import { WorkerEngine } from './engine.js'
import type { WorkerEngineOptions } from './engine.js'
import type { SimUser } from './nodes.js'
import type { FromWorker, RelayInfo } from './protocol.js'
import { parseScenario } from './scenario.js'
import { buildSchedule } from './schedule.js'
import type { Schedule } from './schedule.js'
import type { StarlingPeer } from '../../src/peer/index.js'

export interface StandInWorker {
  engine: WorkerEngine
  /** Everything the engine sent to the coordinator, in order. */
  sent: FromWorker[]
  users: SimUser[]
  schedule: Schedule
}

/** A started worker of three users, one contact each; `workload` adds to the scenario's. */
export async function standInWorker (options: WorkerEngineOptions = {}, workload: Record<string, unknown> = {}): Promise<StandInWorker> {
  const scenario = parseScenario({ name: 'stand-in', seed: 3, relays: 1, relaysPerUser: 1, users: 3, workers: 1, durationSeconds: 10, workload: { contacts: 1, ...workload } })
  const schedule = buildSchedule(scenario, 1)
  const relays: RelayInfo[] = [{ index: 0, key: '', peerId: 'relay-0', port: 1, worker: 1 }]
  const sent: FromWorker[] = []
  const engine = new WorkerEngine((msg) => { sent.push(msg) }, options)
  await engine.handle({ type: 'init', scenario, schedule, worker: 0, runId: `stand-in-${process.pid}`, relays })
  const users = [...(engine as unknown as { users: Map<number, SimUser> }).users.values()]
  assert.equal(users.length, 3)
  return { engine, sent, users, schedule }
}

/** Gives `user` a running stand-in peer. */
export function standInPeer (user: SimUser, peer: Partial<Record<keyof StarlingPeer, unknown>>): void {
  user.peer = peer as unknown as StarlingPeer
}
