/**
 * Sealed envelopes: what relays store and peers exchange. The sender's
 * identity is only inside; the outer layer is addressed to the recipient
 * device's X25519 identity key with a fresh ephemeral key, in two layers as
 * in Signal's sealed sender v1 (an ephemeral layer hides the sender's key; a
 * static layer, keyed by DH(sender identity, recipient identity), proves the
 * sender holds that key). The outer envelope id is random, readable without
 * keys, and authenticated, so relays and recipients de-duplicate on it.
 *
 * Wire format, version 1:
 *
 *   offset  size  field
 *   0       1     version = 0x01
 *   1       16    envelope id (random 128 bits)
 *   17      32    ephemeral public key E
 *   49      80    sender block: AES-256-GCM(K1, 0, sender account key (32) || sender identity key (32), aad = bytes 0..48)
 *   129     n+16  content: AES-256-GCM(K2, 0, pad(inner), aad = bytes 0..128)
 *
 *   K1 || C = HKDF(DH(E, R), salt = id, info = "starling-envelope-v1 ephemeral" || E || R, 64)
 *   K2      = HKDF(DH(S, R), salt = C,  info = "starling-envelope-v1 static" || sender block, 32)
 *
 * K1 and K2 are fresh per envelope (the id is a random salt), so the zero
 * nonce never repeats under a key, even when E is used again: on the direct
 * path, inside a Noise connection only the recipient can read, a sender may
 * reuse one ephemeral key per recipient device for a while
 * ({@link DirectEphemerals}) and the recipient may remember DH(R, E)
 * ({@link EphemeralSecrets}), which saves both sides an X25519 per envelope.
 * Envelopes handed to relays always get a fresh E, so a relay cannot link two
 * envelopes to one sender. Content is padded (padding.ts): every inner
 * message up to 255 bytes gives a 401-byte envelope. `openEnvelope` proves the sender holds the
 * secret of the identity key it names; whether that key belongs to the named
 * account (its signature, a pinned contact) is for the caller to check.
 */
import { bytesEqual, concatBytes, utf8 } from './bytes.js'
import { InvalidMessageError } from './errors.js'
import { pad, unpad } from './padding.js'
import { setNewest } from '../bounded.js'
import type { Crypto, KeyPair } from './index.js'

export const ENVELOPE_VERSION = 0x01
export const ENVELOPE_ID_LENGTH = 16
const HEADER_LENGTH = 1 + ENVELOPE_ID_LENGTH + 32
const SENDER_BLOCK_LENGTH = 64 + 16
/** Bytes an envelope adds to its padded content. */
export const ENVELOPE_OVERHEAD = HEADER_LENGTH + SENDER_BLOCK_LENGTH + 16
/** Envelopes larger than this are refused unread (DoS bound; attachments travel separately). */
export const MAX_ENVELOPE_LENGTH = 1 << 20

const ZERO_NONCE = new Uint8Array(12)
const EPHEMERAL_INFO = utf8('starling-envelope-v1 ephemeral')
const STATIC_INFO = utf8('starling-envelope-v1 static')

/** The sender as named inside an envelope. */
export interface EnvelopeSender {
  accountKey: Uint8Array
  identityKey: Uint8Array
}

/** What the outside of an envelope says, readable without keys. */
export interface EnvelopeHeader {
  version: number
  id: Uint8Array
}

/** Reads version and id; InvalidMessageError for anything that is not a version-1 envelope. */
export function parseEnvelopeHeader (envelope: Uint8Array): EnvelopeHeader {
  if (envelope.length < ENVELOPE_OVERHEAD) throw new InvalidMessageError(`envelope of ${envelope.length} bytes is too short`)
  if (envelope.length > MAX_ENVELOPE_LENGTH) throw new InvalidMessageError(`envelope of ${envelope.length} bytes is too long`)
  if (envelope[0] !== ENVELOPE_VERSION) throw new InvalidMessageError(`unknown envelope version ${envelope[0]}`)
  return { version: envelope[0], id: envelope.slice(1, 1 + ENVELOPE_ID_LENGTH) }
}

function ephemeralKeys (crypto: Crypto, dh: Uint8Array, id: Uint8Array, e: Uint8Array, r: Uint8Array): { k1: Uint8Array, chain: Uint8Array } {
  const out = crypto.hash.hkdf(dh, id, concatBytes(EPHEMERAL_INFO, e, r), 64)
  return { k1: out.subarray(0, 32), chain: out.subarray(32, 64) }
}

/** Static DH results remembered (long-term key pairs only), at most this many. */
export const STATIC_DH_CACHE_SIZE = 4096

const staticCache = new Map<string, { secret: Uint8Array, mine: Uint8Array, theirs: Uint8Array }>()

function hex (bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16)
  return s
}

/**
 * DH(our identity key, their identity key): the same for every envelope
 * between two devices, so it is computed once per pair (one X25519 less per
 * envelope on each side). The entry keeps copies of both keys and is used
 * only when they still match, and the cache is bounded (oldest dropped).
 */
async function staticSecret (crypto: Crypto, ours: KeyPair, theirs: Uint8Array): Promise<Uint8Array> {
  const key = hex(ours.publicKey) + hex(theirs)
  const hit = staticCache.get(key)
  if (hit != null && bytesEqual(hit.mine, ours.secretKey) && bytesEqual(hit.theirs, theirs)) return hit.secret
  const secret = await crypto.x25519.sharedSecret(ours.secretKey, theirs)
  setNewest(staticCache, key, { secret, mine: ours.secretKey.slice(), theirs: theirs.slice() }, STATIC_DH_CACHE_SIZE)
  return secret
}

/** An ephemeral public key and its DH with the recipient's identity key. */
export interface Ephemeral {
  publicKey: Uint8Array
  sharedSecret: Uint8Array
}

/** A one-time key pair's public key and its DH with `theirs` (natively in one step where the provider can). */
async function ephemeral (crypto: Crypto, theirs: Uint8Array): Promise<Ephemeral> {
  if (crypto.x25519.ephemeral != null) return crypto.x25519.ephemeral(theirs)
  const pair = await crypto.x25519.generateKeyPair()
  return { publicKey: pair.publicKey, sharedSecret: await crypto.x25519.sharedSecret(pair.secretKey, theirs) }
}

/** A fresh random envelope id. */
export function newEnvelopeId (crypto: Crypto): Uint8Array {
  return crypto.randomBytes(ENVELOPE_ID_LENGTH)
}

/** Options of {@link sealEnvelope}. */
export interface SealOptions {
  /** The envelope id (default: a fresh random one). Sealing the same message again keeps its id, so duplicates are recognised. */
  id?: Uint8Array
  /** An ephemeral key made for this recipient key, to use again (direct path only, see {@link DirectEphemerals}); default: a fresh one. */
  ephemeral?: Ephemeral
}

/**
 * Seals `inner` (typically a session message) for the device whose X25519
 * identity key is `recipientIdentityKey`, from `sender` (account key and the
 * sender device's identity key pair).
 */
export async function sealEnvelope (crypto: Crypto, recipientIdentityKey: Uint8Array, sender: { accountKey: Uint8Array, identityKey: KeyPair }, inner: Uint8Array, options: SealOptions = {}): Promise<{ id: Uint8Array, envelope: Uint8Array }> {
  const id = options.id ?? newEnvelopeId(crypto)
  if (id.length !== ENVELOPE_ID_LENGTH) throw new RangeError(`an envelope id is ${ENVELOPE_ID_LENGTH} bytes`)
  const eph = options.ephemeral ?? await ephemeral(crypto, recipientIdentityKey)
  const header = concatBytes(new Uint8Array([ENVELOPE_VERSION]), id, eph.publicKey)
  const { k1, chain } = ephemeralKeys(crypto, eph.sharedSecret, id, eph.publicKey, recipientIdentityKey)
  const senderBlock = await crypto.aead.encrypt(k1, ZERO_NONCE, concatBytes(sender.accountKey, sender.identityKey.publicKey), header)
  const staticDh = await staticSecret(crypto, sender.identityKey, recipientIdentityKey)
  const k2 = crypto.hash.hkdf(staticDh, chain, concatBytes(STATIC_INFO, senderBlock), 32)
  const outer = concatBytes(header, senderBlock)
  const content = await crypto.aead.encrypt(k2, ZERO_NONCE, pad(inner), outer)
  return { id, envelope: concatBytes(outer, content) }
}

/**
 * Opens an envelope addressed to `recipient` (this device's identity key
 * pair). Throws InvalidMessageError (malformed), InvalidKeyError (a
 * low-order key) or DecryptionError (not for us, tampered, or the sender
 * does not hold the identity key it names).
 */
export async function openEnvelope (crypto: Crypto, recipient: KeyPair, envelope: Uint8Array, secrets?: EphemeralSecrets): Promise<{ id: Uint8Array, sender: EnvelopeSender, inner: Uint8Array }> {
  const { id } = parseEnvelopeHeader(envelope)
  const header = envelope.subarray(0, HEADER_LENGTH)
  const e = envelope.subarray(1 + ENVELOPE_ID_LENGTH, HEADER_LENGTH)
  const senderBlock = envelope.subarray(HEADER_LENGTH, HEADER_LENGTH + SENDER_BLOCK_LENGTH)
  const dh = secrets != null ? await secrets.get(crypto, recipient, e) : await crypto.x25519.sharedSecret(recipient.secretKey, e)
  const { k1, chain } = ephemeralKeys(crypto, dh, id, e, recipient.publicKey)
  const senderKeys = await crypto.aead.decrypt(k1, ZERO_NONCE, senderBlock, header)
  const sender = { accountKey: senderKeys.slice(0, 32), identityKey: senderKeys.slice(32, 64) }
  const staticDh = await staticSecret(crypto, recipient, sender.identityKey)
  const k2 = crypto.hash.hkdf(staticDh, chain, concatBytes(STATIC_INFO, senderBlock), 32)
  const outer = envelope.subarray(0, HEADER_LENGTH + SENDER_BLOCK_LENGTH)
  const padded = await crypto.aead.decrypt(k2, ZERO_NONCE, envelope.subarray(outer.length), outer)
  return { id, sender, inner: unpad(padded).slice() }
}

/** How long and how often a sender uses one direct-path ephemeral key. */
export interface DirectEphemeralLimits {
  /** Envelopes sealed under one key (default 10,000). */
  maxUses: number
  /** Milliseconds one key is used (default 10 minutes). */
  lifetimeMs: number
  /** Recipient devices remembered (default 1,024; the oldest is dropped). */
  maxDevices: number
}

export const DEFAULT_DIRECT_EPHEMERAL_LIMITS: DirectEphemeralLimits = { maxUses: 10_000, lifetimeMs: 10 * 60_000, maxDevices: 1024 }

/**
 * The sender's ephemeral keys for the direct path, one per recipient device,
 * replaced after `maxUses` envelopes or `lifetimeMs`. Only for envelopes
 * written straight to the recipient inside Noise: there nobody but the
 * recipient, who learns the sender anyway, sees that two envelopes share E.
 */
export class DirectEphemerals {
  private readonly keys = new Map<string, { ephemeral: Ephemeral, theirs: Uint8Array, uses: number, until: number }>()
  private readonly limits: DirectEphemeralLimits

  constructor (private readonly crypto: Crypto, private readonly now: () => number, limits: Partial<DirectEphemeralLimits> = {}) {
    this.limits = { ...DEFAULT_DIRECT_EPHEMERAL_LIMITS, ...limits }
  }

  /** The key to seal the next direct envelope for `recipientIdentityKey` with. */
  async get (recipientIdentityKey: Uint8Array): Promise<Ephemeral> {
    const key = hex(recipientIdentityKey)
    const now = this.now()
    const held = this.keys.get(key)
    if (held != null && held.uses < this.limits.maxUses && now < held.until && bytesEqual(held.theirs, recipientIdentityKey)) {
      held.uses++
      return held.ephemeral
    }
    const fresh = await ephemeral(this.crypto, recipientIdentityKey)
    setNewest(this.keys, key, { ephemeral: fresh, theirs: recipientIdentityKey.slice(), uses: 1, until: now + this.limits.lifetimeMs }, this.limits.maxDevices)
    return fresh
  }
}

/** Ephemeral keys whose DH the recipient remembers (default; the least recently used is dropped). */
export const DEFAULT_EPHEMERAL_SECRETS = 256

/**
 * The recipient's side of {@link DirectEphemerals}: DH(R, E) remembered per
 * ephemeral key E, so envelopes that reuse E cost no X25519. Bounded, least
 * recently used dropped; an entry is used only for the same recipient key.
 */
export class EphemeralSecrets {
  private readonly secrets = new Map<string, { secret: Uint8Array, recipient: Uint8Array }>()

  constructor (private readonly max = DEFAULT_EPHEMERAL_SECRETS) {}

  /** DH(recipient, e), computed or remembered. */
  async get (crypto: Crypto, recipient: KeyPair, e: Uint8Array): Promise<Uint8Array> {
    const key = hex(e)
    const hit = this.secrets.get(key)
    if (hit != null && bytesEqual(hit.recipient, recipient.publicKey)) {
      setNewest(this.secrets, key, hit, this.max)
      return hit.secret
    }
    const secret = await crypto.x25519.sharedSecret(recipient.secretKey, e)
    setNewest(this.secrets, key, { secret, recipient: recipient.publicKey.slice() }, this.max)
    return secret
  }

  /** Keys remembered (for tests). */
  get size (): number {
    return this.secrets.size
  }
}
