/**
 * The DHT directory of identities (DESIGN.md, Identity): one object that
 * keeps this device's records published (publisher.ts) and resolves others'
 * names and devices (resolver.ts). The two share only the node and the
 * crypto facade; they are held together here because every caller (the
 * peer, the CLI, the tests) wants both from one place.
 */
import type { PeerId } from '@libp2p/interface'
import type { Crypto } from '../crypto/index.js'
import type { DeviceRecord } from '../identity/index.js'
import { Publisher } from './publisher.js'
import type { PublishedIdentity } from './publisher.js'
import { Resolver } from './resolver.js'
import type { Resolution, ResolvedClaim } from './resolver.js'
import type { StarlingLibp2p } from './node.js'

export { MAX_CLAIMANTS } from './name-providers.js'
export { accountFingerprint } from './resolver.js'
export type { Resolution, ResolvedClaim } from './resolver.js'
export type { PublishedIdentity } from './publisher.js'

export interface DirectoryInit {
  recordLifetimeMs?: number
  now?(): number
  /** Most devices announcing a bare name before resolving it fails loudly (default {@link MAX_CLAIMANTS}). */
  maxClaimants?: number
}

/** Publishes this device's records and resolves others'. */
export class Directory {
  private readonly publisher: Publisher
  private readonly resolver: Resolver

  constructor (node: StarlingLibp2p, crypto: Crypto, identity?: PublishedIdentity, init: DirectoryInit = {}) {
    this.publisher = new Publisher({ node, crypto, identity }, { recordLifetimeMs: init.recordLifetimeMs, now: init.now })
    this.resolver = new Resolver({ node, crypto }, { now: init.now, maxClaimants: init.maxClaimants })
  }

  /** When the records were last published, and until when they are valid. */
  get lastPublished (): Publisher['lastPublished'] {
    return this.publisher.lastPublished
  }

  /** Why the last publication failed (undefined once one succeeded). */
  get lastError (): string | undefined {
    return this.publisher.lastError
  }

  /** The device record built last (signed; whether or not its put succeeded). */
  get lastDeviceRecord (): Uint8Array | undefined {
    return this.publisher.lastDeviceRecord
  }

  /** Publishes now, then again before expiry and whenever our addresses change. */
  start (): void {
    this.publisher.start()
  }

  stop (): void {
    this.publisher.stop()
  }

  /** Publishes as soon as the current publication (if any) is done. */
  publishSoon (): void {
    this.publisher.publishSoon()
  }

  /** Publishes when our addresses differ from the last publication's (after a reservation, say). */
  publishIfAddressesChanged (): void {
    this.publisher.publishIfAddressesChanged()
  }

  /** Waits for the publication in flight, if any. */
  async settled (): Promise<void> {
    await this.publisher.settled()
  }

  /** Builds, signs and puts both records, and announces the bare name (see Publisher.publish). */
  async publish (): Promise<void> {
    await this.publisher.publish()
  }

  /** Resolves `name` or `name~tag`. */
  async resolve (input: string, options: { signal?: AbortSignal } = {}): Promise<Resolution> {
    return await this.resolver.resolve(input, options)
  }

  /** Resolves to exactly one account, or throws (unknown, or several claims). */
  async resolveOne (input: string, options: { signal?: AbortSignal } = {}): Promise<ResolvedClaim> {
    return await this.resolver.resolveOne(input, options)
  }

  /** Reads and verifies one device's current record from the DHT. */
  async lookupDevice (peerId: PeerId, options: { signal?: AbortSignal } = {}): Promise<DeviceRecord | undefined> {
    return await this.resolver.lookupDevice(peerId, options)
  }
}
