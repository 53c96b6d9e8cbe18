/**
 * Publishing this device in the DHT (DESIGN.md, Identity): its signed device
 * record under `/starling/device/<peer id>`, its account's handle claim under
 * `/starling/handle/<name~tag>`, and a provider record for the bare name's
 * content id, so that a bare name finds every claimant. Both records are
 * republished before they expire (sooner after a failure), and again whenever
 * the device's addresses change (libp2p's `self:peer:update` also fires for
 * a new protocol or metadata: those leave the records as they are and cost
 * no publication, each being two DHT reads, two puts and a provide, every
 * one reaching up to k servers). kad-dht reports a put or provide that
 * reached no server as a success, so each is counted here and zero is a
 * PublishError.
 */
import { logger } from '@libp2p/logger'
import type { PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Crypto } from '../crypto/index.js'
import {
  buildDeviceRecord,
  buildHandleClaim,
  deviceRecordKey,
  handleProviderCid,
  handleRecordKey,
  handleTag,
  selectStarlingRecord,
  verifyStarlingRecord
} from '../identity/index.js'
import type { PrekeyPublic } from '../identity/index.js'
import { PublishError } from './errors.js'
import { readDhtRecord } from './dht-read.js'
import { waitForDhtServer } from './dht-servers.js'
import { RESOLVE_TIMEOUT_MS } from './resolver.js'
import type { StarlingLibp2p } from './node.js'
import { RECORD_LIFETIME_MS, REPUBLISH_FRACTION } from './constants.js'

const log = logger('starling:net:directory')

/** The first retry after a failed publication, ms; each further failure in a row doubles it. */
export const PUBLISH_RETRY_MS = 5_000
/** The longest wait between retries, ms. */
export const MAX_PUBLISH_RETRY_MS = 5 * 60_000

/**
 * The wait before retry `failures` (1 for the first) of a failed
 * publication: 5 s doubling up to 5 minutes, and never beyond a quarter of
 * the republish interval (short lifetimes in tests). A fixed 5 s made a
 * loaded node that could not publish (its lookups timing out) publish
 * forty times in 20 minutes, each time two reads, two puts and a provide
 * over every relay, which kept it loaded.
 */
export function publishRetryDelay (failures: number, recordLifetimeMs: number): number {
  const backoff = PUBLISH_RETRY_MS * 2 ** Math.min(Math.max(0, failures - 1), 16)
  return Math.min(backoff, MAX_PUBLISH_RETRY_MS, recordLifetimeMs * REPUBLISH_FRACTION / 4)
}

/** What a device publishes about itself. */
export interface PublishedIdentity {
  handleName: string
  accountSecretKey: Uint8Array
  accountPublicKey: Uint8Array
  devicePrivateKey: PrivateKey
  identityKey: Uint8Array
  /** The current public prekeys (read at each publish: they rotate). */
  prekeys(): { signedPrekey: PrekeyPublic, kemPrekey: PrekeyPublic }
}

/** What {@link Publisher} works with. */
export interface PublisherComponents {
  node: StarlingLibp2p
  crypto: Crypto
  /** Absent: nothing to publish (a node that only resolves). */
  identity?: PublishedIdentity
}

export interface PublisherInit {
  recordLifetimeMs?: number
  now?(): number
}

/** Keeps this device's records published. */
export class Publisher {
  private readonly node: StarlingLibp2p
  private readonly crypto: Crypto
  private readonly identity?: PublishedIdentity
  private readonly recordLifetimeMs: number
  private readonly now: () => number
  private timer?: ReturnType<typeof setTimeout>
  private lastSeq = 0
  private publishing?: Promise<void>
  private again = false
  private stopped = true
  /** When the records were last published, and until when they are valid. */
  lastPublished?: { at: number, expiresAt: number, seq: number }
  lastError?: string
  /** The device record built last (signed; whether or not its put succeeded). */
  lastDeviceRecord?: Uint8Array
  /** The addresses the publication in flight or the last one put in the device record. */
  private publishedAddrs?: string
  private againIfAddressesChanged = false
  /** Publications failed in a row (the retry waits longer after each). */
  private failures = 0

  constructor (components: PublisherComponents, init: PublisherInit = {}) {
    this.node = components.node
    this.crypto = components.crypto
    this.identity = components.identity
    this.recordLifetimeMs = init.recordLifetimeMs ?? RECORD_LIFETIME_MS
    this.now = init.now ?? Date.now
  }

  /** Publishes now, then again before expiry and whenever our addresses change. */
  start (): void {
    this.stopped = false
    this.node.addEventListener('self:peer:update', this.onAddressChange)
    this.publishSoon()
  }

  stop (): void {
    this.stopped = true
    this.node.removeEventListener('self:peer:update', this.onAddressChange)
    clearTimeout(this.timer)
  }

  private readonly onAddressChange = (): void => { this.publishIfAddressesChanged() }

  /**
   * Publishes when our addresses differ from those of the last publication
   * (or the one in flight, which then is followed by one more only if they
   * still differ when it ends).
   */
  publishIfAddressesChanged (): void {
    if (this.stopped || this.identity == null) return
    if (this.publishing != null) {
      this.againIfAddressesChanged = true
      return
    }
    if (this.addressesChanged()) this.publishSoon()
  }

  private addressesChanged (): boolean {
    return this.publishedAddrs !== this.recordAddrs().join(' ')
  }

  /** The addresses the device record names: ours, without the trailing `/p2p/<us>`. */
  private recordAddrs (): Multiaddr[] {
    return this.node.getMultiaddrs().map(ma => ma.decapsulateCode(421))
  }

  /** Publishes as soon as the current publication (if any) is done. */
  publishSoon (): void {
    if (this.stopped || this.identity == null) return
    if (this.publishing != null) {
      this.again = true
      return
    }
    this.publishing = this.publish()
      .catch(err => {
        this.lastError = (err as Error).message
        log.error('publishing failed: %s', this.lastError)
      })
      .finally(() => {
        this.publishing = undefined
        this.schedule()
        const again = this.again || (this.againIfAddressesChanged && this.addressesChanged())
        this.again = false
        this.againIfAddressesChanged = false
        if (again) this.publishSoon()
      })
  }

  /** Waits for the publication in flight, if any. */
  async settled (): Promise<void> {
    while (this.publishing != null) await this.publishing
  }

  private schedule (): void {
    clearTimeout(this.timer)
    if (this.stopped) return
    // Republish well before expiry; retry sooner after a failure.
    this.failures = this.lastError == null ? 0 : this.failures + 1
    const delay = this.lastError == null
      ? this.recordLifetimeMs * REPUBLISH_FRACTION
      : publishRetryDelay(this.failures, this.recordLifetimeMs)
    this.timer = setTimeout(() => this.publishSoon(), delay)
  }

  /**
   * Builds, signs and puts both records, and announces the bare name. The
   * seq is a millisecond timestamp, above our last one and above the seq of
   * our records the DHT holds now: a record of ours a little ahead (our
   * clock was fast, or an old record replayed) must not keep the new one out.
   */
  async publish (): Promise<void> {
    const id = this.identity
    if (id == null) throw new Error('this directory has no identity to publish')
    // A publication may wait for the DHT as long as a resolution may.
    const signal = AbortSignal.timeout(RESOLVE_TIMEOUT_MS)
    await waitForDhtServer(this.node, signal, () => new PublishError('no DHT server to publish to (not connected to any relay yet)'))
    const deviceKey = deviceRecordKey(this.node.peerId)
    const claimKey = handleRecordKey(id.handleName, handleTag(this.crypto, id.handleName, id.accountPublicKey))
    const current = await this.currentSeq([deviceKey, claimKey], signal)
    const now = this.now()
    const seq = Math.max(this.lastSeq + 1, now, current + 1)
    this.lastSeq = seq
    const expiresAt = now + this.recordLifetimeMs
    const { signedPrekey, kemPrekey } = id.prekeys()
    const addrs = this.recordAddrs()
    this.publishedAddrs = addrs.join(' ')
    const device = await buildDeviceRecord(this.crypto, {
      accountSecretKey: id.accountSecretKey,
      devicePrivateKey: id.devicePrivateKey,
      addrs,
      identityKey: id.identityKey,
      signedPrekey,
      kemPrekey,
      seq,
      expiresAt
    })
    this.lastDeviceRecord = device.value
    const claim = await buildHandleClaim(this.crypto, {
      accountSecretKey: id.accountSecretKey,
      name: id.handleName,
      devices: [this.node.peerId],
      seq,
      expiresAt
    })
    await this.put(device.key, device.value, signal)
    await this.put(claim.key, claim.value, signal)
    let announced = 0
    for await (const event of this.node.services.dht.provide(handleProviderCid(this.crypto, id.handleName), { signal })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'ADD_PROVIDER') announced++
    }
    if (announced === 0) throw new PublishError('no DHT server accepted the provider record of the name')
    this.lastPublished = { at: now, expiresAt, seq }
    this.lastError = undefined
    log('published %s with seq %d until %d', id.handleName, seq, expiresAt)
  }

  /**
   * The highest seq of our records under `keys` that the DHT holds and that
   * verify here (0 when none): verification bounds it (no seq more than
   * MAX_SEQ_AHEAD_MS ahead), so a server cannot push ours up without limit.
   */
  private async currentSeq (keys: Uint8Array[], signal: AbortSignal): Promise<number> {
    const seqs = await Promise.all(keys.map(async key => {
      const bytes = await readDhtRecord(this.node.services.dht, key, { signal, select: async (k, records) => await selectStarlingRecord(this.crypto, k, records, this.now()) })
      if (bytes == null) return 0
      try {
        return (await verifyStarlingRecord(this.crypto, key, bytes, this.now())).seq
      } catch (err) {
        log('ignoring our own record that does not verify: %s', (err as Error).message)
        return 0
      }
    }))
    return Math.max(0, ...seqs)
  }

  /**
   * Puts a record and checks that at least one DHT server stored it: kad-dht
   * reports a put that reached nobody as a success.
   */
  private async put (key: Uint8Array, value: Uint8Array, signal: AbortSignal): Promise<void> {
    let stored = 0
    for await (const event of this.node.services.dht.put(key, value, { signal })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') stored++
    }
    if (stored === 0) throw new PublishError('no DHT server accepted the record')
   }
}
