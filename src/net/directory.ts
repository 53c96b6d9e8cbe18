/**
 * Publishing and resolving identities in the DHT (DESIGN.md, Identity).
 *
 * A device publishes its signed device record under `/starling/device/<peer id>`
 * and its account's handle claim under `/starling/handle/<name~tag>`, and
 * announces itself as a provider of the bare name's content id, so that a
 * bare name finds every claimant. Both records are republished before they
 * expire, and again whenever the device's addresses change.
 *
 * Resolving `name~tag` reads exactly one key. Resolving a bare `name` asks for
 * the providers of the name, reads each provider's device record to learn its
 * account key, derives that account's tag and reads its claim; every distinct
 * account is reported and nothing is ever picked silently.
 */
import { logger } from '@libp2p/logger'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Crypto } from '../crypto/index.js'
import {
  buildDeviceRecord,
  buildHandleClaim,
  deviceRecordKey,
  formatHandle,
  handleProviderCid,
  handleRecordKey,
  handleTag,
  parseHandle,
  verifyDeviceRecord,
  verifyHandleClaim,
  selectStarlingRecord,
  verifyStarlingRecord
} from '../identity/index.js'
import type { DeviceRecord, HandleClaim, PrekeyPublic } from '../identity/index.js'
import { AmbiguousHandleError, DhtUnavailableError, PublishError, UnknownHandleError } from './errors.js'
import { MAX_CLAIMANTS, findNameProviders } from './name-providers.js'
import { readDhtRecord } from './dht-read.js'
import { routingTableSize } from './node.js'
import type { StarlingLibp2p } from './node.js'
import { RECORD_LIFETIME_MS, REPUBLISH_FRACTION } from './constants.js'

const log = logger('starling:net:directory')

/** Longest a resolution waits for the DHT. */
export const RESOLVE_TIMEOUT_MS = 15_000

/** How long a resolution waits for a first DHT server (a node still connecting to its relays) before it says there is none. */
export const DHT_SERVER_WAIT_MS = 5_000
/** DHT reads (device records, claims) of one resolution in flight at once. */
export const DEVICE_READ_CONCURRENCY = 16
export { MAX_CLAIMANTS } from './name-providers.js'

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

/** One device of a resolved account. */
export interface ResolvedDevice {
  peerId: PeerId
  /** Absent when the device's record could not be read (offline for long). */
  record?: DeviceRecord
  addrs: string[]
}

/** One account's claim of a name. */
export interface ResolvedClaim {
  handle: string
  name: string
  tag: string
  accountKey: Uint8Array
  fingerprint: string
  claim: HandleClaim
  devices: ResolvedDevice[]
}

/** The answer to "who is this handle?". */
export interface Resolution {
  query: string
  /** True when exactly one account claims the name (always true for `name~tag`). */
  unique: boolean
  claims: ResolvedClaim[]
}

export interface DirectoryInit {
  recordLifetimeMs?: number
  now?(): number
  /** Most devices announcing a bare name before resolving it fails loudly (default {@link MAX_CLAIMANTS}). */
  maxClaimants?: number
}

/** A short, readable digest of an account key: 40 hex digits in groups of 4. */
export function accountFingerprint (crypto: Crypto, accountKey: Uint8Array): string {
  const digest = crypto.hash.sha256(new Uint8Array([...new TextEncoder().encode('starling-fingerprint-v1'), ...accountKey]))
  const hex = Array.from(digest.subarray(0, 20), b => b.toString(16).padStart(2, '0')).join('')
  return hex.match(/.{4}/g)?.join(' ') ?? hex
}

/** Publishes this device's records and resolves others'. */
export class Directory {
  private readonly recordLifetimeMs: number
  private readonly now: () => number
  private readonly maxClaimants: number
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

  constructor (
    private readonly node: StarlingLibp2p,
    private readonly crypto: Crypto,
    private readonly identity?: PublishedIdentity,
    init: DirectoryInit = {}
  ) {
    this.recordLifetimeMs = init.recordLifetimeMs ?? RECORD_LIFETIME_MS
    this.now = init.now ?? Date.now
    this.maxClaimants = init.maxClaimants ?? MAX_CLAIMANTS
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

  private readonly onAddressChange = (): void => { this.publishSoon() }

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
        if (this.again) {
          this.again = false
          this.publishSoon()
        }
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
    const delay = this.lastError == null
      ? this.recordLifetimeMs * REPUBLISH_FRACTION
      : Math.min(5_000, this.recordLifetimeMs * REPUBLISH_FRACTION / 4)
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
    const signal = AbortSignal.timeout(RESOLVE_TIMEOUT_MS)
    await this.waitForDhtPeers(signal)
    const deviceKey = deviceRecordKey(this.node.peerId)
    const claimKey = handleRecordKey(id.handleName, handleTag(this.crypto, id.handleName, id.accountPublicKey))
    const current = await this.currentSeq([deviceKey, claimKey], signal)
    const now = this.now()
    const seq = Math.max(this.lastSeq + 1, now, current + 1)
    this.lastSeq = seq
    const expiresAt = now + this.recordLifetimeMs
    const { signedPrekey, kemPrekey } = id.prekeys()
    const addrs = this.node.getMultiaddrs().map(ma => ma.decapsulateCode(421))
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
      const bytes = await this.get(key, signal)
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

  /** Waits until the routing table has a DHT server, or throws `unavailable()` once `signal` aborts. */
  private async waitForDhtPeers (signal: AbortSignal, unavailable: () => Error = () => new PublishError('no DHT server to publish to (not connected to any relay yet)')): Promise<void> {
    while (routingTableSize(this.node) === 0) {
      if (signal.aborted) throw unavailable()
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  /** Resolves `name` or `name~tag`. */
  async resolve (input: string, options: { signal?: AbortSignal } = {}): Promise<Resolution> {
    const { name, tag } = parseHandle(input)
    const signal = options.signal ?? AbortSignal.timeout(RESOLVE_TIMEOUT_MS)
    // "Nobody claims it" would be a lie when there is no DHT server to ask.
    // A node that has just started may still be connecting to its relays:
    // give it a moment before saying so.
    await this.waitForDhtPeers(AbortSignal.any([signal, AbortSignal.timeout(DHT_SERVER_WAIT_MS)]),
      () => new DhtUnavailableError(`cannot resolve ${input}: not connected to any DHT server (is a relay reachable?)`))
    if (tag != null) {
      const claim = await this.readClaim(name, tag, signal)
      if (claim == null) throw new UnknownHandleError(`unknown handle ${formatHandle(name, tag)}: no valid claim in the DHT`)
      return { query: formatHandle(name, tag), unique: true, claims: [claim] }
    }
    const claims = await this.findClaims(name, signal)
    if (claims.length === 0) throw new UnknownHandleError(`unknown handle ${name}: nobody claims it`)
    return { query: name, unique: claims.length === 1, claims }
  }

  /** Resolves to exactly one account, or throws (unknown, or several claims). */
  async resolveOne (input: string, options: { signal?: AbortSignal } = {}): Promise<ResolvedClaim> {
    const resolution = await this.resolve(input, options)
    if (!resolution.unique) {
      throw new AmbiguousHandleError(
        `${resolution.query} is claimed by ${resolution.claims.length} accounts: ${resolution.claims.map(c => c.handle).join(', ')}; use the full name~tag`,
        resolution.claims.map(c => c.handle)
      )
    }
    return resolution.claims[0]
  }

  /** Reads and verifies one device's current record from the DHT. */
  async lookupDevice (peerId: PeerId, options: { signal?: AbortSignal } = {}): Promise<DeviceRecord | undefined> {
    return this.fetchDevice(peerId, options.signal ?? AbortSignal.timeout(RESOLVE_TIMEOUT_MS))
  }

  /**
   * Every account that claims `name`: every device announcing the name (from
   * every DHT server holding the name, up to {@link MAX_CLAIMANTS}: more is a
   * TooManyClaimsError), each device's record naming its account, and each
   * account's claim under its tag. Device records are read
   * {@link DEVICE_READ_CONCURRENCY} at a time.
   */
  private async findClaims (name: string, signal: AbortSignal): Promise<ResolvedClaim[]> {
    const { providers } = await findNameProviders(this.node, name, handleProviderCid(this.crypto, name), { signal, maxClaimants: this.maxClaimants })
    // Each provider's device record names its account; the account's key gives the tag.
    const tags = new Set<string>()
    const devices = new Map<string, Promise<DeviceRecord | undefined>>()
    // A record no DHT server answered for (after retries) may be the owner's:
    // then nobody can say who claims the name, neither "nobody" nor "only one".
    let unreadable: Error | undefined
    const unlessUnreadable = async (read: () => Promise<void>): Promise<void> => {
      try {
        await read()
      } catch (err) {
        if (signal.aborted || (err as Error).name !== 'DhtUnavailableError') throw err
        unreadable ??= err as Error
      }
    }
    await eachLimited(providers, DEVICE_READ_CONCURRENCY, async peerId => {
      await unlessUnreadable(async () => {
        const record = await this.readDevice(peerId, signal, devices)
        if (record != null) tags.add(handleTag(this.crypto, name, record.accountKey))
      })
    })
    const claims: Array<ResolvedClaim | undefined> = []
    await eachLimited([...tags], DEVICE_READ_CONCURRENCY, async t => {
      await unlessUnreadable(async () => { claims.push(await this.readClaim(name, t, signal, devices)) })
    })
    if (unreadable != null) throw new DhtUnavailableError(`cannot read the claims of ${name}: ${unreadable.message}`)
    return claims
      .filter((c): c is ResolvedClaim => c != null)
      .sort((a, b) => a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0)
  }

  private async readClaim (name: string, tag: string, signal: AbortSignal, seen = new Map<string, Promise<DeviceRecord | undefined>>()): Promise<ResolvedClaim | undefined> {
    const key = handleRecordKey(name, tag)
    const bytes = await this.get(key, signal)
    if (bytes == null) return undefined
    let claim: HandleClaim
    try {
      claim = await verifyHandleClaim(this.crypto, key, bytes, this.now())
    } catch (err) {
      log('ignoring invalid claim for %s~%s: %s', name, tag, (err as Error).message)
      return undefined
    }
    const devices = await Promise.all(claim.devices.map(async bytesId => {
      const peerId = peerIdFromMultihash(Digest.decode(bytesId))
      const record = await this.readDevice(peerId, signal, seen)
      // A device record that names another account does not count for this claim.
      const valid = record != null && equalBytes(record.accountKey, claim.accountKey) ? record : undefined
      return { peerId, record: valid, addrs: valid?.addrs.map(a => multiaddr(a).toString()) ?? [] }
    }))
    return {
      handle: formatHandle(name, tag),
      name,
      tag,
      accountKey: claim.accountKey,
      fingerprint: accountFingerprint(this.crypto, claim.accountKey),
      claim,
      devices
    }
  }

  /** Reads a device record once per resolution (`seen` holds the reads in flight or done). */
  private async readDevice (peerId: PeerId, signal: AbortSignal, seen: Map<string, Promise<DeviceRecord | undefined>>): Promise<DeviceRecord | undefined> {
    const id = peerId.toString()
    let read = seen.get(id)
    if (read == null) {
      read = this.fetchDevice(peerId, signal)
      seen.set(id, read)
    }
    return read
  }

  private async fetchDevice (peerId: PeerId, signal: AbortSignal): Promise<DeviceRecord | undefined> {
    const key = deviceRecordKey(peerId)
    const bytes = await this.get(key, signal)
    if (bytes == null) return undefined
    try {
      return await verifyDeviceRecord(this.crypto, key, bytes, this.now())
    } catch (err) {
      log('ignoring invalid device record of %p: %s', peerId, (err as Error).message)
      return undefined
    }
  }

  /** A record: undefined when the DHT servers that answered hold none; DhtUnavailableError when none answered (src/net/dht-read.ts). */
  private async get (key: Uint8Array, signal: AbortSignal): Promise<Uint8Array | undefined> {
    return await readDhtRecord(this.node.services.dht, key, { signal, select: async (records) => await selectStarlingRecord(this.crypto, key, records, this.now()) })
  }
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function eachLimited<T> (items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items]
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item != null; item = queue.shift()) await fn(item)
  }
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker))
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}
