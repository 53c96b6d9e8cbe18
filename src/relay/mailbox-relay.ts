/**
 * The relay's offline-message service: serves `/starling/store/3.0.0` from
 * an {@link EnvelopeStore}, publishes every stored envelope and every
 * owner-signed delete on its mailbox shard topic, stores what the relays it
 * is linked with publish (and nothing from anyone else), and sweeps expired
 * envelopes on a timer. A libp2p service: it takes gossipsub from the
 * `pubsub` service, which must be listed before it.
 */
import { logger } from '@libp2p/logger'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import type { GossipsubMessage } from '@libp2p/gossipsub'
import type { PeerId, PrivateKey, Startable } from '@libp2p/interface'
import { allShardTopics, mailboxTopic } from '../protocols/store/mailbox.js'
import { StoreServer } from '../protocols/store/store.js'
import type {
  MailboxPage, PutOutcome, PutSource, SignedDelete, StoreBackend, StoreServerComponents, StoreServerInit, StoreServerMetrics
} from '../protocols/store/store.js'
import { wire } from '../protocols/store/wire.js'
import { DeletedByOwnerError, QuotaExceededError } from '../protocols/store/errors.js'
import { GossipDelete } from '../protocols/store/pb/store.js'
import type { EnvelopeStore, EnvelopeStoreMetrics } from './envelope-store.js'
import { checkGossip, encodeDeleteGossip, encodeEnvelopeGossip, validateGossip } from './gossip.js'
import type { RelaySet } from './relay-set.js'
import type { DeleteProof } from './tombstones.js'

const log = logger('starling:relay:mailbox')

/** How often expired envelopes are swept (hourly). */
export const SWEEP_INTERVAL_MS = 60 * 60 * 1000

/** What the service takes from libp2p's components. */
export interface MailboxRelayComponents extends StoreServerComponents {
  peerId: PeerId
  privateKey: PrivateKey
  /** Gossipsub, configured with `mailboxGossipsubOptions()`. */
  pubsub: GossipSub
}

/** Options of a {@link MailboxRelay}. */
export interface MailboxRelayInit extends Omit<StoreServerInit, 'backend'> {
  /** The envelopes (over an open store the caller closes after stopping libp2p). */
  store: EnvelopeStore
  /**
   * The relays whose gossip is taken (the same set given to
   * {@link mailboxGossipsubOptions}); with `size` 0 nothing is published
   * (a set that does not say its size is published to).
   */
  relaySet: Pick<RelaySet, 'has'> & Partial<Pick<RelaySet, 'size'>>
  /** Default {@link SWEEP_INTERVAL_MS}; 0 turns the timer off (tests call `sweep()`). */
  sweepIntervalMs?: number
}

/** Counters of the mailbox gossip. */
export interface GossipMetrics {
  published: number
  publishFailed: number
  received: number
  stored: number
  duplicates: number
  deletes: number
  /** Refused by the topic validator (malformed, wrong shard, unsigned or forged delete, or not from a linked relay). */
  rejected: number
  /** Of those: gossip from a peer that is not a linked relay. */
  notLinked: number
  /** Valid gossip this relay could not store (its own quota, a failed write). */
  dropped: number
  /** Envelopes not stored again: their owner deleted them here (a tombstone is held). */
  deletedByOwner: number
}

/** Every counter of the relay's offline path, as a plain object (for Prometheus export). */
export interface MailboxRelayMetrics {
  store: EnvelopeStoreMetrics
  server: StoreServerMetrics
  gossip: GossipMetrics
}

/** The relay's offline-message service. */
export class MailboxRelay implements Startable, StoreBackend {
  readonly server: StoreServer
  readonly store: EnvelopeStore
  private readonly components: MailboxRelayComponents
  private readonly now: () => number
  private readonly authFreshnessMs: number | undefined
  private readonly sweepIntervalMs: number
  private readonly gossipMetrics: GossipMetrics = { published: 0, publishFailed: 0, received: 0, stored: 0, duplicates: 0, deletes: 0, rejected: 0, notLinked: 0, dropped: 0, deletedByOwner: 0 }
  private readonly relaySet: MailboxRelayInit['relaySet']
  private sweepTimer: ReturnType<typeof setInterval> | undefined
  private sweeping: Promise<unknown> | undefined
  private readonly receiving = new Set<Promise<void>>()
  private readonly onMessage: (evt: CustomEvent<GossipsubMessage>) => void

  constructor (components: MailboxRelayComponents, init: MailboxRelayInit) {
    this.components = components
    this.store = init.store
    this.now = init.now ?? Date.now
    this.authFreshnessMs = init.authFreshnessMs
    this.sweepIntervalMs = init.sweepIntervalMs ?? SWEEP_INTERVAL_MS
    this.relaySet = init.relaySet
    this.server = new StoreServer(components, { ...init, backend: this })
    this.onMessage = (evt) => {
      const done = this.receive(evt.detail).finally(() => { this.receiving.delete(done) })
      this.receiving.add(done)
    }
  }

  readonly [Symbol.toStringTag] = 'starling:mailbox-relay'

  async start (): Promise<void> {
    await this.server.start()
  }

  /** Subscribes once gossipsub runs: relays subscribe at start, since publishing right after subscribing loses messages until the mesh forms. */
  afterStart (): void {
    const pubsub = this.components.pubsub
    pubsub.addEventListener('gossipsub:message', this.onMessage)
    for (const topic of allShardTopics()) {
      pubsub.topicValidators.set(topic, async (peer, message) => {
        // Gossip is taken only from the relays this one is linked with, whatever it holds.
        if (!this.relaySet.has(peer)) {
          this.gossipMetrics.rejected++
          this.gossipMetrics.notLinked++
          return TopicValidatorResult.Reject
        }
        const result = await validateGossip(message.topic, message.data, this.gossipCheck())
        if (result !== TopicValidatorResult.Accept) this.gossipMetrics.rejected++
        return result
      })
      pubsub.subscribe(topic)
    }
    if (this.sweepIntervalMs > 0) {
      this.sweepTimer = setInterval(() => { this.sweepInBackground() }, this.sweepIntervalMs)
      this.sweepInBackground()
    }
  }

  /** Leaves the topics while gossipsub still runs (libp2p stops components concurrently). */
  beforeStop (): void {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer)
    this.sweepTimer = undefined
    const pubsub = this.components.pubsub
    pubsub.removeEventListener('gossipsub:message', this.onMessage)
    for (const topic of allShardTopics()) {
      pubsub.topicValidators.delete(topic)
      if (pubsub.getTopics().includes(topic)) pubsub.unsubscribe(topic)
    }
  }

  async stop (): Promise<void> {
    await this.server.stop()
    // Let gossip already taken in and a running sweep finish before the caller closes the store.
    await Promise.allSettled([...this.receiving])
    await this.sweeping
    await this.store.flush()
  }

  /** A snapshot of every counter. */
  metrics (): MailboxRelayMetrics {
    return structuredClone({ store: this.store.metrics, server: this.server.metrics, gossip: this.gossipMetrics })
  }

  /** Removes expired envelopes now. */
  async sweep (): Promise<number> {
    return await this.store.sweep()
  }

  /** {@link StoreBackend.put}: store durably, then spread to the other relays. */
  async put (mailbox: Uint8Array, id: Uint8Array, envelope: Uint8Array, from: PutSource): Promise<PutOutcome> {
    const outcome = await this.store.put(mailbox, id, envelope, from)
    // Duplicates too: if the first publish found no mesh, this one may (gossipsub drops repeats cheaply).
    this.publish(mailbox, () => encodeEnvelopeGossip(mailbox, envelope))
    return outcome
  }

  /** {@link StoreBackend.fetch}. */
  async fetch (mailbox: Uint8Array, after: Uint8Array | undefined, limit: number, maxBytes: number): Promise<MailboxPage> {
    return await this.store.fetch(mailbox, after, limit, maxBytes)
  }

  /** {@link StoreBackend.delete}: delete here (keeping tombstones, with the signed delete as their proof), then spread the signed delete. */
  async delete (request: SignedDelete): Promise<number> {
    const signed: GossipDelete = {
      mailbox: wire(request.mailbox),
      refs: request.refs.map(r => ({ id: wire(r.id), hash: wire(r.hash) })),
      auth: request.auth,
      relay: wire(request.relay)
    }
    const deleted = await this.store.delete(request.mailbox, request.refs, proofOf(signed))
    this.publish(request.mailbox, () => encodeDeleteGossip(signed))
    return deleted
  }

  private gossipCheck (): { now: number, freshnessMs?: number } {
    return { now: this.now(), freshnessMs: this.authFreshnessMs }
  }

  /** Publishes on the mailbox's shard topic; `encode` runs only when someone is there to receive it. */
  private publish (mailbox: Uint8Array, encode: () => Uint8Array): void {
    // No linked relay: no peer takes this gossip (each accepts only its own linked relays'), so nothing is built.
    // With linked relays it is published even while none is subscribed yet: gossipsub keeps it in its message
    // cache, and a relay whose subscription arrives within a few heartbeats still gets it.
    if (this.relaySet.size === 0) return
    this.components.pubsub.publish(mailboxTopic(mailbox), encode()).then(() => {
      this.gossipMetrics.published++
    }, (err: Error) => {
      this.gossipMetrics.publishFailed++
      log('publish failed: %s', err.message)
    })
  }

  private async receive ({ msg: message, propagationSource }: GossipsubMessage): Promise<void> {
    if (!allShardTopics().includes(message.topic)) return
    // The validator already refused these; checked again so that storing never depends on it alone.
    if (!this.relaySet.has(propagationSource)) return
    this.gossipMetrics.received++
    try {
      const checked = await checkGossip(message.topic, message.data, this.gossipCheck())
      if (checked.kind === 'envelope') {
        // Charged to the linked relay it came from: its own budget, no mailbox share (it applied that at its door).
        const outcome = await this.store.put(checked.mailbox, checked.id, checked.envelope, { source: `relay:${propagationSource.toString()}`, linked: true })
        if (outcome.duplicate) this.gossipMetrics.duplicates++
        else this.gossipMetrics.stored++
      } else {
        await this.store.delete(checked.mailbox, checked.refs, proofOf(checked.signed))
        this.gossipMetrics.deletes++
      }
    } catch (err) {
      if ((err as Error).name === 'InvalidGossipError') {
        this.gossipMetrics.rejected++
      } else if (err instanceof DeletedByOwnerError) {
        // Its owner deleted it here already: gossip that arrived late, or from a relay that missed the delete.
        this.gossipMetrics.deletedByOwner++
      } else {
        this.gossipMetrics.dropped++
        if (!(err instanceof QuotaExceededError)) log.error('could not store gossip: %e', err)
      }
    }
  }

  private sweepInBackground (): void {
    if (this.sweeping !== undefined) return
    this.sweeping = this.store.sweep().catch(err => {
      log.error('sweep failed: %e', err)
    }).finally(() => {
      this.sweeping = undefined
    })
  }
}

/** The owner's signed delete as a tombstone's proof. */
function proofOf (signed: GossipDelete): DeleteProof {
  return { signed: GossipDelete.encode(signed), timestamp: Number(signed.auth?.timestamp ?? 0) }
}

/**
 * A libp2p service factory: `services: { pubsub: gossipsub(mailboxGossipsubOptions()), mailbox: mailboxRelay({ store }) }`.
 */
export function mailboxRelay (init: MailboxRelayInit): (components: MailboxRelayComponents) => MailboxRelay {
  return (components) => new MailboxRelay(components, init)
}
