/**
 * Adversaries in a simulation (issue 15, item 6). Each runs the real node
 * of src/peer, subverted at its edges the way an attacker would modify
 * their own copy; nothing of the honest nodes' code is replaced:
 *
 * - a malicious relay: its store service's `put` (the StoreBackend method
 *   the store protocol calls before signing the custody receipt) is
 *   replaced on the running relay: `drop` refuses every put (the sender
 *   gets an error, no receipt), `delay` answers late, `discard` lets the
 *   relay sign a valid receipt for an envelope it never stores nor gossips,
 *   and answers every fetch with an empty page;
 * - a malicious DHT server: the relay's DHT datastore takes every record
 *   and provider record and keeps none, so its kad-dht answers "none";
 * - a sybil user: a real user node whose name is an honest user's (its own
 *   key, so its own tag), which floods junk envelopes into that user's
 *   mailboxes on that user's relays through the real store client, from its
 *   own loopback address, so the relays' per-source budgets apply to it.
 *
 * Who is malicious is drawn from the seed (a stream of its own, so the
 * schedule of a scenario without adversaries is unchanged).
 */
import { NotFoundError } from '@libp2p/interface'
import type { AbortOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { LevelDatastore } from 'datastore-level'
import type { Key } from 'interface-datastore'
import { ENVELOPE_ID_LENGTH, ENVELOPE_VERSION } from '../../src/crypto/envelope.js'
import { storeEnvelope } from '../../src/protocols/store/index.js'
import type { StoreDialer } from '../../src/protocols/store/index.js'
import type { PutOutcome } from '../../src/protocols/store/store.js'
import type { StarlingRelay } from '../../src/peer/index.js'
import { adversaryCount } from './adversaries-schema.js'
import type { RelayBehaviour } from './adversaries-schema.js'
import type { Scenario } from './scenario.js'
import { seededRandom } from './schedule.js'

/** Mixed into the seed for the adversaries' own random stream. */
const ADVERSARY_SEED_MIX = 0xAD7E5A11
/** Where kad-dht keeps value records and provider records in its datastore. */
const HIDDEN_PREFIXES = ['/dht/record/', '/dht/provider/']
/** How long one flood put may take before it counts as failed, wall ms. */
const FLOOD_PUT_TIMEOUT_MS = 10_000
/** How long a discarded envelope is claimed to be kept (what an honest relay would say: 30 days). */
const CLAIMED_RETENTION_MS = 30 * 24 * 3_600_000

/** What the adversaries did, summed over a worker (sent with the fault counts). */
export interface AdversaryCounts {
  relayPutsDropped: number
  relayPutsDelayed: number
  receiptsForgedThenDiscarded: number
  relayFetchesEmptied: number
  dhtRecordsHidden: number
  dhtLookupsHidden: number
  sybilClaims: number
  floodPutsStored: number
  floodPutsRefused: number
  floodPutsFailed: number
}

/** Counters all at zero. */
export function noAdversaryCounts (): AdversaryCounts {
  return { relayPutsDropped: 0, relayPutsDelayed: 0, receiptsForgedThenDiscarded: 0, relayFetchesEmptied: 0, dhtRecordsHidden: 0, dhtLookupsHidden: 0, sybilClaims: 0, floodPutsStored: 0, floodPutsRefused: 0, floodPutsFailed: 0 }
}

/** The counter names, in the order the summary shows them. */
export const ADVERSARY_COUNTERS = Object.keys(noAdversaryCounts()) as Array<keyof AdversaryCounts>

/** Who is malicious in a run. */
export interface AdversaryRoles {
  /** Malicious relays by index, with what each does. */
  relays: Map<number, RelayBehaviour>
  /** Relays whose DHT server hides records. */
  dhtServers: Set<number>
  /** Sybil users by index, with the honest user each targets (claims the name of, floods). */
  sybils: Map<number, number>
}

/** Draws who is malicious from the scenario's seed: the same seed, the same choice. */
export function chooseAdversaries (scenario: Scenario): AdversaryRoles {
  const random = seededRandom((scenario.seed ^ ADVERSARY_SEED_MIX) >>> 0)
  const a = scenario.adversaries
  const pick = (total: number, n: number): number[] => {
    const order = Array.from({ length: total }, (_, i) => i)
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[order[i], order[j]] = [order[j], order[i]]
    }
    return order.slice(0, n).sort((x, y) => x - y)
  }
  const relays = new Map<number, RelayBehaviour>()
  for (const [k, r] of pick(scenario.relays, adversaryCount(a.relays, scenario.relays)).entries()) relays.set(r, a.relays.behaviours[k % a.relays.behaviours.length])
  const dhtServers = new Set(pick(scenario.relays, adversaryCount(a.dhtServers, scenario.relays)))
  const sybilList = pick(scenario.users, adversaryCount(a.users, scenario.users))
  const honest = Array.from({ length: scenario.users }, (_, i) => i).filter(i => !sybilList.includes(i))
  const sybils = new Map<number, number>()
  for (const s of sybilList) sybils.set(s, honest[Math.floor(random() * honest.length)])
  return { relays, dhtServers, sybils }
}

/** True when the scenario has any adversary. */
export function hasAdversaries (roles: AdversaryRoles): boolean {
  return roles.relays.size + roles.dhtServers.size + roles.sybils.size > 0
}

/**
 * A loopback address of a user's own, 127.0.0.2 onwards (all of 127/8 is
 * the loopback interface): its TCP connections then come from a source of
 * its own, as from a host of its own, and the relays' per-source budgets
 * apply per user rather than to all users at once.
 */
export function userLoopbackAddress (index: number): string {
  const n = index + 2
  return `127.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${n & 0xff}`
}

/**
 * Subverts a running relay's store service (see the file comment). The
 * store protocol calls the service's `put` and `fetch` as a StoreBackend,
 * so replacing them on the instance changes what this relay does with
 * envelopes, and nothing else: its receipts are still signed with its key.
 */
export function subvertRelay (relay: StarlingRelay, behaviour: RelayBehaviour, delayMs: number, counts: AdversaryCounts): void {
  const mailbox = relay.mailbox
  const honestPut = mailbox.put.bind(mailbox)
  switch (behaviour) {
    case 'drop':
      mailbox.put = async () => {
        counts.relayPutsDropped++
        throw new Error('dropped by a malicious relay')
      }
      break
    case 'delay':
      mailbox.put = async (...args) => {
        counts.relayPutsDelayed++
        await new Promise(resolve => setTimeout(resolve, delayMs))
        return await honestPut(...args)
      }
      break
    case 'discard':
      mailbox.put = async (): Promise<PutOutcome> => {
        counts.receiptsForgedThenDiscarded++
        const storedAt = Date.now()
        return { storedAt, expiresAt: storedAt + CLAIMED_RETENTION_MS, duplicate: false }
      }
      mailbox.fetch = async () => {
        counts.relayFetchesEmptied++
        return { envelopes: [], cursor: new Uint8Array(0), more: false }
      }
      break
  }
}

/**
 * A DHT datastore that takes every value record and provider record and
 * keeps none: kad-dht on top of it acknowledges stores and answers every
 * lookup with "none" (and the closer peers, as an honest server would).
 */
export class HidingDatastore extends LevelDatastore {
  private readonly counts: AdversaryCounts

  constructor (db: ConstructorParameters<typeof LevelDatastore>[0], counts: AdversaryCounts) {
    super(db)
    this.counts = counts
  }

  override async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    if (!hidden(key)) return await super.put(key, value, options)
    this.counts.dhtRecordsHidden++
    return key
  }

  override async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    if (!hidden(key)) return await super.get(key, options)
    this.counts.dhtLookupsHidden++
    throw new NotFoundError('hidden by a malicious DHT server')
  }

  override async has (key: Key, options?: AbortOptions): Promise<boolean> {
    return hidden(key) ? false : await super.has(key, options)
  }
}

function hidden (key: Key): boolean {
  const text = key.toString()
  return HIDDEN_PREFIXES.some(p => text.startsWith(p))
}

/** Where a flooder puts junk: a relay, and the victim's mailbox on it. */
export interface FloodTarget {
  relay: Multiaddr[]
  mailbox: Uint8Array
}

/**
 * A sybil's flood: junk envelopes (a valid header, random bytes) put one at
 * a time into its victim's mailboxes, `putsPerSecond` (of wall time) until
 * stopped, through the real store client of the sybil's own node. Refusals
 * (the relays' quotas and rate limits) are counted: they are the budgets
 * holding.
 */
export class Flooder {
  private timer?: ReturnType<typeof setTimeout>
  private stopped = false
  private next = 0

  constructor (
    /** The sybil's node while it is online. */
    private readonly node: () => StoreDialer | undefined,
    private readonly targets: FloodTarget[],
    private readonly init: { intervalMs: number, envelopeBytes: number, counts: AdversaryCounts }
  ) {}

  start (): void {
    if (this.targets.length === 0) return
    this.schedule()
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  private schedule (): void {
    if (this.stopped) return
    this.timer = setTimeout(() => { void this.tick().finally(() => { this.schedule() }) }, this.init.intervalMs)
  }

  private async tick (): Promise<void> {
    const node = this.node()
    if (node == null) return
    const target = this.targets[this.next++ % this.targets.length]
    const counts = this.init.counts
    try {
      await storeEnvelope(node, target.relay, target.mailbox, junkEnvelope(this.init.envelopeBytes), { signal: AbortSignal.timeout(FLOOD_PUT_TIMEOUT_MS) })
      counts.floodPutsStored++
    } catch (err) {
      const name = (err as Error).name
      if (name === 'QuotaExceededError' || name === 'RateLimitedError') counts.floodPutsRefused++
      else counts.floodPutsFailed++
    }
  }
}

/** Bytes that pass a relay's checks (version, id) and open for nobody. */
export function junkEnvelope (length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  crypto.getRandomValues(bytes)
  bytes[0] = ENVELOPE_VERSION
  if (length < 1 + ENVELOPE_ID_LENGTH) throw new RangeError(`a junk envelope of ${length} bytes has no room for its id`)
  return bytes
}
