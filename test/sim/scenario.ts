/**
 * A simulation scenario (issue 15): how many relays and user nodes, the
 * links' latency and loss, churn, the workload, faults, duration and seed,
 * read from JSON and checked against a JSON schema with ajv, so that a bad
 * file is refused with an error naming the field (`/churn/share must be <= 1`)
 * rather than by hand-written checks. Defaults are filled in by the schema.
 */
import { Ajv } from 'ajv'
import type { ErrorObject } from 'ajv'
import { ADVERSARIES_SCHEMA, adversaryCount } from './adversaries-schema.js'
import type { Adversaries } from './adversaries-schema.js'

/** A scenario file that is not valid JSON or does not match the schema. */
export class ScenarioError extends Error {
  override name = 'ScenarioError'
  /** The fields at fault, as JSON pointers (`/workload/messagesPerNodePerMinute`). */
  readonly fields: string[]
  constructor (message: string, fields: string[] = []) {
    super(message)
    this.fields = fields
  }
}

/** A scenario with every default filled in. */
export interface Scenario {
  name: string
  seed: number
  /** Simulated seconds of workload and churn. */
  durationSeconds: number
  /** After the duration every node comes back; the run waits at most this long for the last deliveries. */
  settleSeconds: number
  /** Wall-clock seconds per simulated second (1: real time). */
  timeDilation: number
  /** Worker processes (0: one per core). */
  workers: number
  relays: number
  users: number
  /** Relays each user bootstraps from and reserves a slot on. */
  relaysPerUser: number
  /**
   * Relays each relay is linked with (0: all others). Fewer gives a sparse
   * but connected pattern (a ring with chords, schedule.ts): every linked
   * pair holds a gossip mesh, an anti-entropy channel and a DHT
   * connection, and each user reads every relay its own relays name.
   */
  relayLinks: number
  /** Users each worker starts at a time at warm-up; the next starts once one has published its records. */
  startConcurrency: number
  network: {
    /** One-way latency of every connection inside a worker (memory transport), ms. */
    latencyMs: number
  }
  churn: {
    /** Share of the users that come and go. */
    share: number
    meanOnlineSeconds: number
    meanOfflineSeconds: number
  }
  workload: {
    messagesPerNodePerMinute: number
    /** Contacts each user has; messages go to one of them at random. */
    contacts: number
    minBytes: number
    maxBytes: number
    /** Share of the messages that carry an attachment. */
    attachmentShare: number
    attachmentBytes: number
    /**
     * True: each user adds its contacts during warm-up (resolves and pins
     * them, as a user with an address book has), so a message goes to a
     * contact already known; false: the first message to each contact
     * resolves its handle then, as a first contact does.
     */
    knownContacts: boolean
    /**
     * With known contacts: the wall seconds a worker may spend adding them;
     * past it, the contacts not added yet count as not added and the run
     * goes on. Absent: 1 s per contact the worker adds, at least 300 s
     * (test/sim/contacts.ts).
     */
    contactsDeadlineSeconds?: number
  }
  faults: {
    /** Messaging-layer faults on every send (a wrapper over the delivery transport). */
    lossRate: number
    duplicateRate: number
    reorderRate: number
    reorderMaxMs: number
    /** Users and relays split in two halves (by index parity) that cannot reach each other, then heal. */
    partitions: Array<{ atSeconds: number, durationSeconds: number }>
    /** A relay stops (its memory kept) and comes back. */
    relayCrashes: Array<{ relay: number, atSeconds: number, downSeconds: number }>
    /** Run each worker in its own network namespace when the machine allows it. */
    namespaces: boolean
  }
  /** Malicious relays, DHT servers and sybil users (test/sim/adversaries.ts). */
  adversaries: Adversaries
}

const range = (min: number, max?: number, def?: number): Record<string, unknown> => ({ type: 'number', minimum: min, ...(max != null ? { maximum: max } : {}), ...(def != null ? { default: def } : {}) })
const int = (min: number, max?: number, def?: number): Record<string, unknown> => ({ ...range(min, max, def), type: 'integer' })

/** The scenario's JSON schema (draft 2019-09 subset ajv checks by default). */
export const SCENARIO_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['relays', 'users', 'durationSeconds', 'seed'],
  properties: {
    $schema: { type: 'string' },
    name: { type: 'string', default: 'scenario' },
    seed: int(0, 2 ** 32 - 1),
    durationSeconds: range(1, 86_400),
    settleSeconds: range(0, 3_600, 120),
    timeDilation: range(1, 100, 1),
    workers: int(0, 64, 0),
    relays: int(1, 1_000),
    users: int(2, 100_000),
    relaysPerUser: int(1, 10, 2),
    relayLinks: int(0, 1_000, 0),
    startConcurrency: int(1, 1_000, 4),
    network: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { latencyMs: range(0, 10_000, 0) }
    },
    churn: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        share: range(0, 1, 0),
        meanOnlineSeconds: range(1, 86_400, 120),
        meanOfflineSeconds: range(1, 86_400, 60)
      }
    },
    workload: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        messagesPerNodePerMinute: range(0, 600, 1),
        contacts: int(1, 1_000, 5),
        minBytes: int(1, 10_000, 20),
        maxBytes: int(1, 10_000, 200),
        attachmentShare: range(0, 1, 0),
        attachmentBytes: int(1, 16 * 1024 * 1024, 50_000),
        knownContacts: { type: 'boolean', default: false },
        contactsDeadlineSeconds: range(1, 86_400)
      }
    },
    faults: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        lossRate: range(0, 0.9, 0),
        duplicateRate: range(0, 1, 0),
        reorderRate: range(0, 1, 0),
        reorderMaxMs: range(0, 60_000, 500),
        partitions: {
          type: 'array',
          default: [],
          items: { type: 'object', additionalProperties: false, required: ['atSeconds', 'durationSeconds'], properties: { atSeconds: range(0), durationSeconds: range(1) } }
        },
        relayCrashes: {
          type: 'array',
          default: [],
          items: { type: 'object', additionalProperties: false, required: ['relay', 'atSeconds', 'downSeconds'], properties: { relay: int(0), atSeconds: range(0), downSeconds: range(1) } }
        },
        namespaces: { type: 'boolean', default: false }
      }
    },
    adversaries: ADVERSARIES_SCHEMA
  }
} as const

const ajv = new Ajv({ allErrors: true, useDefaults: true })
const validate = ajv.compile(SCENARIO_SCHEMA)

function describe (e: ErrorObject): string {
  const at = e.instancePath === '' ? '(top level)' : e.instancePath
  if (e.keyword === 'additionalProperties') return `${at === '(top level)' ? '' : at}/${String(e.params.additionalProperty)} is not a scenario field`
  if (e.keyword === 'required') return `${at === '(top level)' ? '' : at}/${String(e.params.missingProperty)} is required`
  return `${at} ${e.message ?? 'is invalid'}`
}

/**
 * Checks a parsed scenario against the schema and fills in the defaults.
 *
 * @throws {ScenarioError} naming every field at fault
 */
export function parseScenario (value: unknown): Scenario {
  const copy: unknown = structuredClone(value)
  if (!validate(copy)) {
    const errors = validate.errors ?? []
    const fields = errors.map(e => e.keyword === 'required' ? `${e.instancePath}/${String(e.params.missingProperty)}` : e.keyword === 'additionalProperties' ? `${e.instancePath}/${String(e.params.additionalProperty)}` : e.instancePath)
    throw new ScenarioError(`invalid scenario: ${errors.map(describe).join('; ')}`, fields)
  }
  const s = copy as unknown as Scenario
  // What the schema cannot say: relations between fields.
  if (s.workload.minBytes > s.workload.maxBytes) throw new ScenarioError('invalid scenario: /workload/minBytes must be <= /workload/maxBytes', ['/workload/minBytes'])
  if (s.workload.contacts >= s.users) throw new ScenarioError('invalid scenario: /workload/contacts must be less than /users', ['/workload/contacts'])
  if (s.relaysPerUser > s.relays) throw new ScenarioError('invalid scenario: /relaysPerUser must be <= /relays', ['/relaysPerUser'])
  for (const [i, c] of s.faults.relayCrashes.entries()) {
    if (c.relay >= s.relays) throw new ScenarioError(`invalid scenario: /faults/relayCrashes/${i}/relay must be < /relays`, [`/faults/relayCrashes/${i}/relay`])
  }
  checkAdversaryCounts(s)
  return s
}

/** Malicious relays and DHT servers leave at least one honest relay, sybils at least two honest users. */
function checkAdversaryCounts (s: Scenario): void {
  const a = s.adversaries
  const kinds: Array<[string, { share: number, count?: number }, number, number]> = [
    ['/adversaries/relays', a.relays, s.relays, 1],
    ['/adversaries/dhtServers', a.dhtServers, s.relays, 1],
    ['/adversaries/users', a.users, s.users, 2]
  ]
  for (const [at, kind, total, honest] of kinds) {
    if (adversaryCount(kind, total) <= total - honest) continue
    const field = kind.count != null ? `${at}/count` : `${at}/share`
    throw new ScenarioError(`invalid scenario: ${field} leaves fewer than ${honest} honest`, [field])
  }
}

/** Parses a scenario file's text. @throws {ScenarioError} */
export function parseScenarioText (text: string): Scenario {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ScenarioError(`scenario is not JSON: ${(err as Error).message}`)
  }
  return parseScenario(json)
}
