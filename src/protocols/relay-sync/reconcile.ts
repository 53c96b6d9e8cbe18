/**
 * One exchange, as the initiator runs it: learn what the other relay holds
 * that this one lacks (envelopes and tombstones), then fetch it.
 *
 * 1. Compare the root of every shard (one request: equal sets cost one
 *    round trip and about a hundred bytes).
 * 2. For each shard that differs, descend: ask for the children of the
 *    nodes that differ (in batches, one request per level), compare each
 *    with this relay's own, and go on only into children whose count or
 *    fingerprint differ. A child that either side holds few items of is
 *    listed instead. n differences among N items cost about n log16 N
 *    nodes.
 * 3. Look each listed item up here: a tombstone the other has and this
 *    relay lacks is fetched with its owner's signed delete; an envelope is
 *    fetched unless this relay holds it, or holds its tombstone (a deleted
 *    envelope never comes back). Deletes first, then envelopes.
 *
 * Everything the other relay says is checked (tree.ts, verify.ts) and any
 * lie drops the exchange; every budget (requests, bytes, items, envelopes,
 * deletes, local work) ends it early, as `complete: false`, for the next
 * exchange to go on from what is then stored.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesEqual, toHex } from '../../crypto/bytes.js'
import { QuotaExceededError } from '../store/errors.js'
import { wire } from '../store/wire.js'
import type { SyncChannel } from './client.js'
import {
  FINGERPRINT_LENGTH, ITEM_KEY_LENGTH, LEAF_ITEMS, MAX_BYTES_PER_EXCHANGE, MAX_DELETES_PER_EXCHANGE, MAX_ENVELOPES_PER_EXCHANGE,
  MAX_EXPAND_PATHS, MAX_FETCH_KEYS, MAX_ITEMS_PER_EXCHANGE, MAX_NODES_PER_EXCHANGE, MAX_LIST_ITEMS, MAX_LIST_PATHS, MAX_PATH_NIBBLES, MAX_REQUESTS_PER_EXCHANGE, SHARDS
} from './constants.js'
import { SyncProtocolError } from './errors.js'
import type { Expansion } from './pb/relay-sync.js'
import type { SyncedEnvelopeEntry, SyncTarget, Work } from './relay-sync.js'
import { compareBytes, compareItems, isPath, itemCursor, keyHasPath, pathHasPrefix, pathInShard, shardOfKey } from './tree.js'
import type { ChildSummary, Summary, SyncItem } from './tree.js'
import { checkSyncedDelete, checkSyncedEnvelope } from './verify.js'
import type { CheckedDelete } from './verify.js'

/** Verified deletes an exchange remembers (a delete of many tombstones comes once per batch of them). */
const CHECKED_DELETES_KEPT = 16

/** Budgets of one exchange (defaults in constants.ts). */
export interface ExchangeLimits {
  maxRequests: number
  maxBytes: number
  maxItems: number
  maxEnvelopes: number
  maxDeletes: number
  /** Nodes to descend into (a responder that claims every child differs fills this, not memory). */
  maxNodes: number
  /** Items this relay may read of its own store to compare. */
  maxLocalWork: number
}

/** Defaults for every limit not given. */
export function resolveLimits (init: Partial<ExchangeLimits> = {}): ExchangeLimits {
  return {
    maxRequests: init.maxRequests ?? MAX_REQUESTS_PER_EXCHANGE,
    maxBytes: init.maxBytes ?? MAX_BYTES_PER_EXCHANGE,
    maxItems: init.maxItems ?? MAX_ITEMS_PER_EXCHANGE,
    maxEnvelopes: init.maxEnvelopes ?? MAX_ENVELOPES_PER_EXCHANGE,
    maxDeletes: init.maxDeletes ?? MAX_DELETES_PER_EXCHANGE,
    maxNodes: init.maxNodes ?? MAX_NODES_PER_EXCHANGE,
    maxLocalWork: init.maxLocalWork ?? 10 * MAX_ITEMS_PER_EXCHANGE
  }
}

/** What one exchange did. */
export interface ExchangeResult {
  /** False when a budget ended it before everything that differs was looked at. */
  complete: boolean
  /** The budget that ended it early (`quota`: this relay's budget for the other relay, or its storage, is full). */
  stoppedBy?: keyof ExchangeLimits | 'quota'
  shardsDiffering: number
  nodesExpanded: number
  itemsListed: number
  envelopes: { fetched: number, stored: number, duplicate: number, deleted: number, expired: number, missing: number }
  deletes: { fetched: number, tombstones: number, removed: number, expired: number, missing: number }
}

/** Ends an exchange early (not an error: the next one goes on). */
class BudgetSpent extends Error {
  constructor (readonly limit: keyof ExchangeLimits | 'quota') {
    super(`the exchange used up its ${limit}`)
  }
}

/** Options of {@link reconcile}. */
export interface ReconcileInit {
  limits?: Partial<ExchangeLimits>
  /** Milliseconds since the epoch (default `Date.now`). */
  now?: () => number
}

/**
 * Runs one exchange over `channel` and stores what this relay lacks into `local`.
 *
 * @throws {SyncProtocolError} when the other relay breaks the protocol (the exchange is dropped)
 * @throws {SyncRefusedError} when it is busy
 */
export async function reconcile (channel: SyncChannel, local: SyncTarget, init: ReconcileInit = {}): Promise<ExchangeResult> {
  return await new Exchange(channel, local, resolveLimits(init.limits), init.now ?? Date.now).run()
}

class Exchange {
  readonly result: ExchangeResult = {
    complete: true,
    shardsDiffering: 0,
    nodesExpanded: 0,
    itemsListed: 0,
    envelopes: { fetched: 0, stored: 0, duplicate: 0, deleted: 0, expired: 0, missing: 0 },
    deletes: { fetched: 0, tombstones: 0, removed: 0, expired: 0, missing: 0 }
  }

  private readonly work: Work = { units: 0 }
  private readonly checked = new Map<string, CheckedDelete>()
  private queued = 0

  constructor (
    private readonly channel: SyncChannel,
    private readonly local: SyncTarget,
    private readonly limits: ExchangeLimits,
    private readonly now: () => number
  ) {}

  async run (): Promise<ExchangeResult> {
    try {
      const remote = (await this.ask({ roots: {} })).roots
      if (remote.length !== SHARDS) throw new SyncProtocolError(`${remote.length} roots for ${SHARDS} shards`)
      const mine = await this.local.roots(this.work)
      for (let shard = 0; shard < SHARDS; shard++) {
        checkSummary(remote[shard])
        if (sameSummary(remote[shard], mine[shard])) continue
        this.result.shardsDiffering++
        await this.shard(shard, remote[shard], mine[shard])
      }
    } catch (err) {
      if (err instanceof QuotaExceededError) {
        this.result.complete = false
        this.result.stoppedBy = 'quota'
        return this.result
      }
      if (!(err instanceof BudgetSpent)) throw err
      this.result.complete = false
      this.result.stoppedBy = err.limit
    }
    return this.result
  }

  private async shard (shard: number, remote: Summary, mine: Summary): Promise<void> {
    const root = new Uint8Array(0)
    if (remote.count === 0) return
    // A shard this relay holds nothing of, or a small one, is listed at once.
    if (mine.count === 0 || remote.count <= LEAF_ITEMS) {
      await this.list(shard, [root])
      return
    }
    let frontier: Uint8Array[] = [root]
    while (frontier.length > 0) {
      const next: Uint8Array[] = []
      const leaves: Uint8Array[] = []
      for (let i = 0; i < frontier.length; i += MAX_EXPAND_PATHS) {
        const batch = frontier.slice(i, i + MAX_EXPAND_PATHS)
        const { expansions } = await this.ask({ expand: { shard, paths: batch.map(wire) } })
        if (expansions.length !== batch.length) throw new SyncProtocolError(`${expansions.length} expansions for ${batch.length} nodes`)
        for (let j = 0; j < batch.length; j++) await this.compare(shard, batch[j], expansions[j], next, leaves)
        this.result.nodesExpanded += batch.length
      }
      leaves.sort(compareBytes)
      for (let i = 0; i < leaves.length; i += MAX_LIST_PATHS) await this.list(shard, leaves.slice(i, i + MAX_LIST_PATHS))
      frontier = next
    }
  }

  /** Compares one node's children with this relay's own; sorts those that differ into `next` (descend) and `leaves` (list). */
  private async compare (shard: number, asked: Uint8Array, expansion: Expansion, next: Uint8Array[], leaves: Uint8Array[]): Promise<void> {
    const path = expansion.path
    if (!isPath(path) || !pathHasPrefix(path, asked) || !pathInShard(shard, path)) throw new SyncProtocolError('an expansion outside the node asked for')
    if (expansion.children.length === 0) return
    if (path.length >= MAX_PATH_NIBBLES) throw new SyncProtocolError('children below a whole key')
    const mine = new Map<number, ChildSummary>()
    for (const child of await this.local.children(shard, path, this.work)) mine.set(child.nibble, child)
    this.spendLocal()
    let previous = -1
    for (const child of expansion.children) {
      if (child.nibble <= previous || child.nibble > 15) throw new SyncProtocolError('children out of order')
      previous = child.nibble
      checkSummary(child)
      if (child.count === 0) throw new SyncProtocolError('an empty child')
      const own = mine.get(child.nibble)
      if (own != null && sameSummary(own, child)) continue
      const childPath = new Uint8Array(path.length + 1)
      childPath.set(path)
      childPath[path.length] = child.nibble
      this.spend('maxNodes', ++this.queued)
      // Descend only where both sides hold many: a small side on either end is cheaper listed.
      if (own == null || own.count <= LEAF_ITEMS || child.count <= LEAF_ITEMS || childPath.length === MAX_PATH_NIBBLES) leaves.push(childPath)
      else next.push(childPath)
    }
  }

  /** Lists the items under `paths` page by page and fetches what this relay lacks. */
  private async list (shard: number, paths: Uint8Array[]): Promise<void> {
    let after: SyncItem | undefined
    while (true) {
      const { items, more } = await this.ask({ list: { shard, paths: paths.map(wire), after: wire(after == null ? new Uint8Array(0) : itemCursor(after)), limit: MAX_LIST_ITEMS } })
      const wantEnvelopes: Uint8Array[] = []
      const wantDeletes: Uint8Array[] = []
      // Items and paths both ascend: one pass over each checks every item lies under one of the paths.
      let under = 0
      for (const item of items) {
        if (item.key.length !== ITEM_KEY_LENGTH) throw new SyncProtocolError(`a listed key of ${item.key.length} bytes`)
        if (after != null && compareItems(item, after) <= 0) throw new SyncProtocolError('listed items out of order')
        while (under < paths.length && !keyHasPath(item.key, paths[under])) under++
        if (under >= paths.length || shardOfKey(item.key) !== shard) throw new SyncProtocolError('a listed item outside the nodes asked for')
        after = item
        this.result.itemsListed++
        const state = await this.local.lookup(item)
        if (item.tombstone && state !== 'tombstone') wantDeletes.push(item.key)
        if (!item.tombstone && state === 'absent') wantEnvelopes.push(item.key)
      }
      this.spend('maxItems', this.result.itemsListed)
      await this.fetchDeletes(wantDeletes)
      await this.fetchEnvelopes(wantEnvelopes)
      if (!more) return
      if (items.length === 0) throw new SyncProtocolError('an empty page with more to come')
    }
  }

  private async fetchDeletes (keys: Uint8Array[]): Promise<void> {
    let left = keys
    while (left.length > 0) {
      const asked = left.slice(0, MAX_FETCH_KEYS)
      const { deletes, answered } = await this.ask({ tombstones: { keys: asked.map(wire) } })
      checkAnswered(answered, asked.length)
      const open = new Map(asked.slice(0, answered).map(key => [toHex(key), key]))
      for (const bytes of deletes) {
        this.result.deletes.fetched++
        this.spend('maxDeletes', this.result.deletes.fetched)
        // A delete naming more than one batch of tombstones comes once per batch: its signature is checked once.
        const digest = toHex(sha256(bytes))
        let checked = this.checked.get(digest)
        if (checked == null) {
          checked = await checkSyncedDelete(bytes, this.now(), this.local.tombstoneLifetimeMs)
          // Copied out of the answer's frame, and only the last few: the cache holds no frames.
          this.checked.set(digest, { ...checked, mailbox: Uint8Array.from(checked.mailbox), refs: checked.refs.map(r => ({ id: Uint8Array.from(r.id), hash: Uint8Array.from(r.hash) })) })
          if (this.checked.size > CHECKED_DELETES_KEPT) this.checked.delete(this.checked.keys().next().value as string)
        }
        const refs = checked.refs.filter(ref => open.delete(toHex(keyOf(checked.mailbox, ref))))
        if (refs.length === 0) throw new SyncProtocolError('a delete that names none of the tombstones asked for')
        if (checked.expired) {
          this.result.deletes.expired += refs.length
          continue
        }
        const stored = await this.local.storeDelete({ mailbox: checked.mailbox, refs, signed: bytes, timestamp: checked.timestamp })
        this.result.deletes.tombstones += stored.tombstones
        this.result.deletes.removed += stored.removed
      }
      this.result.deletes.missing += open.size
      left = left.slice(answered)
    }
  }

  private async fetchEnvelopes (keys: Uint8Array[]): Promise<void> {
    let left = keys
    while (left.length > 0) {
      const asked = left.slice(0, MAX_FETCH_KEYS)
      const { envelopes, answered } = await this.ask({ envelopes: { keys: asked.map(wire) } })
      checkAnswered(answered, asked.length)
      let at = 0
      let spent: BudgetSpent | undefined
      const valid: SyncedEnvelopeEntry[] = []
      for (const entry of envelopes) {
        // In the order asked, each once, within what the answer covers.
        while (at < answered && !bytesEqual(asked[at], entry.key)) at++
        if (at >= answered) throw new SyncProtocolError('an envelope that was not asked for')
        at++
        if (++this.result.envelopes.fetched > this.limits.maxEnvelopes) {
          spent = new BudgetSpent('maxEnvelopes')
          break
        }
        const synced = { key: entry.key, envelope: entry.envelope, storedAt: Number(entry.storedAt) }
        if (checkSyncedEnvelope(synced, this.now(), this.local.retentionMs)) valid.push(synced)
        else this.result.envelopes.expired++
      }
      // A page is stored concurrently: its writes share a few synced batches (group commit) instead of one fsync each.
      const outcomes = await Promise.allSettled(valid.map(async entry => await this.local.storeEnvelope(entry)))
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') continue
        if (outcome.value === 'stored') this.result.envelopes.stored++
        else if (outcome.value === 'duplicate') this.result.envelopes.duplicate++
        else this.result.envelopes.deleted++
      }
      const failed = outcomes.find(o => o.status === 'rejected')
      if (failed != null) throw failed.reason
      if (spent != null) throw spent
      this.result.envelopes.missing += answered - envelopes.length
      left = left.slice(answered)
    }
  }

  private async ask (request: Parameters<SyncChannel['request']>[0]): Promise<Awaited<ReturnType<SyncChannel['request']>>> {
    this.spend('maxRequests', this.channel.stats.requests + 1)
    const response = await this.channel.request(request)
    this.spend('maxBytes', this.channel.stats.bytesIn)
    return response
  }

  private spendLocal (): void {
    this.spend('maxLocalWork', this.work.units)
  }

  private spend (limit: keyof ExchangeLimits, used: number): void {
    if (used > this.limits[limit]) throw new BudgetSpent(limit)
  }
}

function keyOf (mailbox: Uint8Array, ref: { id: Uint8Array, hash: Uint8Array }): Uint8Array {
  const key = new Uint8Array(ITEM_KEY_LENGTH)
  key.set(mailbox)
  key.set(ref.id, mailbox.length)
  key.set(ref.hash, mailbox.length + ref.id.length)
  return key
}

function checkSummary (summary: Summary | undefined): void {
  if (summary == null || summary.fingerprint.length !== FINGERPRINT_LENGTH) throw new SyncProtocolError('a summary without a fingerprint')
}

function sameSummary (a: Summary, b: Summary | undefined): boolean {
  return b != null && a.count === b.count && bytesEqual(a.fingerprint, b.fingerprint)
}

/** An answer covers at least one key (or the exchange could loop) and no more than were asked. */
function checkAnswered (answered: number, asked: number): void {
  if (answered < 1 || answered > asked) throw new SyncProtocolError(`an answer covering ${answered} of ${asked} keys`)
}

