/**
 * The Double Ratchet with header encryption (Signal's Double Ratchet spec,
 * revision 4, §3 and §4; https://signal.org/docs/specifications/doubleratchet/).
 *
 * Functions take a {@link RatchetState} and return a new one; the input is
 * never modified, so a failed decryption (tampered, truncated, replayed,
 * wrong session) leaves the caller's state exactly as it was, and the caller
 * stores the new state and the message in one atomic batch.
 *
 * KDFs (spec §5.2, with our own labels):
 *   KDF_RK(rk, dh)  = HKDF-SHA256(salt = rk, ikm = dh, info = "starling-ratchet-v1 root", 96)
 *                     -> rk' (32) || ck (32) || nhk (32)
 *   KDF_CK(ck)      = mk = HMAC-SHA256(ck, 0x01), ck' = HMAC-SHA256(ck, 0x02)
 *   ENCRYPT(mk, ..) = AES-256-GCM with key mk and a zero nonce: every mk
 *                     encrypts exactly one message, so the nonce never repeats
 *                     under a key (this replaces the spec's HKDF to key + IV).
 */
import { bytesEqual, utf8 } from './bytes.js'
import { DecryptionError, InvalidMessageError, ReplayError, TooManySkippedError } from './errors.js'
import { decryptHeader, encryptHeader, parseRatchetMessage } from './header.js'
import type { Header, RatchetMessageParts } from './header.js'
import type { Crypto, KeyPair } from './index.js'

/**
 * Most message keys one message may make us skip, over both chains a DH
 * ratchet step touches. Beyond it: TooManySkippedError, before any key is
 * derived. Every header key is shared with the sender, so whoever holds a
 * session (a stranger who sent one first message) chooses these numbers:
 * at ~18 µs per key, the 25,000 allowed before (and by libsignal) cost
 * 0.45 s of CPU per envelope. Skipping more than we can keep
 * (MAX_STORED_SKIPPED) saves no message that this limit loses, since the
 * keys of all but the last 2,000 would be dropped at once.
 */
export const MAX_SKIP = 2_000
/** Most skipped message keys kept; the oldest are dropped first (as libsignal does). */
export const MAX_STORED_SKIPPED = 2_000
/** Keys derived per event-loop task while skipping (~2-5 ms here), so a long skip never holds the loop. */
export const SKIP_SLICE = 200

/**
 * What a caller allows one decryption to skip. `charge` is called with the
 * number of keys about to be derived, after the header authenticated and
 * before any derivation; it throws to refuse (a per-sender budget), and the
 * state is left as it was.
 */
export interface SkipLimits {
  /** At most MAX_SKIP; lower for a first message. */
  maxSkip?: number
  charge?(count: number): void
}
/** Retired receiving header keys remembered to report replays of old chains as ReplayError. */
const MAX_RETIRED_HEADER_KEYS = 32

const ROOT_INFO = utf8('starling-ratchet-v1 root')
const MK_INPUT = new Uint8Array([0x01])
const CK_INPUT = new Uint8Array([0x02])
const ZERO_NONCE = new Uint8Array(12)

/** A skipped message key, found by its header key and message number. */
export interface SkippedKey {
  hk: Uint8Array
  n: number
  mk: Uint8Array
}

/** Everything one side of a session keeps (spec §3.2 and §4.2 state variables). */
export interface RatchetState {
  /** Associated data from session set-up, bound into every message body. */
  ad: Uint8Array
  dhs: KeyPair
  dhr?: Uint8Array
  rk: Uint8Array
  cks?: Uint8Array
  ckr?: Uint8Array
  ns: number
  nr: number
  pn: number
  hks?: Uint8Array
  hkr?: Uint8Array
  nhks: Uint8Array
  nhkr: Uint8Array
  /** Oldest first; at most MAX_STORED_SKIPPED. */
  skipped: readonly SkippedKey[]
  /** Receiving header keys of finished chains, newest last. */
  retiredHkr: readonly Uint8Array[]
}

async function kdfRk (crypto: Crypto, rk: Uint8Array, dhOut: Uint8Array): Promise<[Uint8Array, Uint8Array, Uint8Array]> {
  const out = crypto.hash.hkdf(dhOut, rk, ROOT_INFO, 96)
  return [out.slice(0, 32), out.slice(32, 64), out.slice(64, 96)]
}

function kdfCk (crypto: Crypto, ck: Uint8Array): [Uint8Array, Uint8Array] {
  return [crypto.hash.hmacSha256(ck, CK_INPUT), crypto.hash.hmacSha256(ck, MK_INPUT)]
}

/** RatchetInitAliceHE (spec §4.3): Alice knows Bob's ratchet key (his signed prekey). */
export async function initAlice (crypto: Crypto, sk: Uint8Array, bobRatchetKey: Uint8Array, sharedHka: Uint8Array, sharedNhkb: Uint8Array, ad: Uint8Array): Promise<RatchetState> {
  const dhs = await crypto.x25519.generateKeyPair()
  const [rk, cks, nhks] = await kdfRk(crypto, sk, await crypto.x25519.sharedSecret(dhs.secretKey, bobRatchetKey))
  return { ad, dhs, dhr: bobRatchetKey, rk, cks, ns: 0, nr: 0, pn: 0, hks: sharedHka, nhks, nhkr: sharedNhkb, skipped: [], retiredHkr: [] }
}

/** RatchetInitBobHE (spec §4.3): Bob's first ratchet key pair is his signed prekey. */
export function initBob (sk: Uint8Array, bobRatchetKeyPair: KeyPair, sharedHka: Uint8Array, sharedNhkb: Uint8Array, ad: Uint8Array): RatchetState {
  return { ad, dhs: bobRatchetKeyPair, rk: sk, ns: 0, nr: 0, pn: 0, nhks: sharedNhkb, nhkr: sharedHka, skipped: [], retiredHkr: [] }
}

function bodyAad (state: RatchetState, prefix: Uint8Array, extraAd: Uint8Array | undefined): Uint8Array {
  const extra = extraAd ?? new Uint8Array(0)
  const aad = new Uint8Array(state.ad.length + 4 + extra.length + prefix.length)
  aad.set(state.ad, 0)
  new DataView(aad.buffer).setUint32(state.ad.length, extra.length, false)
  aad.set(extra, state.ad.length + 4)
  aad.set(prefix, state.ad.length + 4 + extra.length)
  return aad
}

/**
 * RatchetEncryptHE (spec §4.4). `extraAd` must be given again to decrypt.
 * Store the returned state with (or before) the message: encrypting twice
 * from the same state would use one message key for two plaintexts.
 */
export async function ratchetEncrypt (crypto: Crypto, state: RatchetState, plaintext: Uint8Array, extraAd?: Uint8Array): Promise<{ state: RatchetState, message: Uint8Array }> {
  if (state.cks == null || state.hks == null) throw new InvalidMessageError('this side cannot send before it has received a message')
  const [cks, mk] = kdfCk(crypto, state.cks)
  const prefix = await encryptHeader(crypto, state.hks, { dh: state.dhs.publicKey, pn: state.pn, n: state.ns })
  const body = await crypto.aead.encrypt(mk, ZERO_NONCE, plaintext, bodyAad(state, prefix, extraAd))
  const message = new Uint8Array(prefix.length + body.length)
  message.set(prefix, 0)
  message.set(body, prefix.length)
  return { state: { ...state, cks, ns: state.ns + 1 }, message }
}

/**
 * Moves the sending chain on to position `until` without sending: the keys
 * in between are derived and dropped (the receiver stores them as skipped
 * and they are never used). Used to resume after a crash past positions
 * that may have been used.
 */
export function skipSendingKeys (crypto: Crypto, state: RatchetState, until: number): RatchetState {
  if (state.cks == null || until <= state.ns) return state
  if (until - state.ns > MAX_SKIP) throw new TooManySkippedError(`skipping ${until - state.ns} sending keys (limit ${MAX_SKIP})`)
  let cks = state.cks
  for (let n = state.ns; n < until; n++) cks = kdfCk(crypto, cks)[0]
  return { ...state, cks, ns: until }
}

/** Lets other tasks run (web-standard: a macrotask, so timers and I/O get their turn). */
async function yieldToEventLoop (): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, 0))
}

/**
 * Derives the keys from `state.nr` up to `until` (exclusive) into `skipped`
 * (spec §4.5 SkipMessageKeysHE), SKIP_SLICE keys per event-loop task. The
 * caller has checked the count against its limits.
 */
async function skipMessageKeys (crypto: Crypto, state: RatchetState, until: number): Promise<RatchetState> {
  if (state.ckr == null || state.hkr == null || until <= state.nr) return state
  const fresh: SkippedKey[] = []
  let ckr = state.ckr
  for (let n = state.nr; n < until; n++) {
    if (n > state.nr && (n - state.nr) % SKIP_SLICE === 0) await yieldToEventLoop()
    const [next, mk] = kdfCk(crypto, ckr)
    // Keys that would be dropped at once are not kept at all.
    if (until - n <= MAX_STORED_SKIPPED) fresh.push({ hk: state.hkr, n, mk })
    ckr = next
  }
  let skipped = [...state.skipped, ...fresh]
  if (skipped.length > MAX_STORED_SKIPPED) skipped = skipped.slice(skipped.length - MAX_STORED_SKIPPED)
  return { ...state, ckr, nr: until, skipped }
}

/**
 * How many keys decrypting a message with this header derives and drops on
 * the way: the rest of the current receiving chain up to `pn` on a DH
 * ratchet step, then the new (or current) chain up to `n`.
 */
function skipCount (state: RatchetState, header: Header, ratchetStep: boolean): number {
  if (!ratchetStep) return Math.max(0, header.n - state.nr)
  const rest = state.ckr != null && state.hkr != null ? Math.max(0, header.pn - state.nr) : 0
  return rest + header.n
}

/** Refuses (TooManySkippedError, or the caller's budget) before anything is derived. */
function checkSkip (state: RatchetState, header: Header, ratchetStep: boolean, limits: SkipLimits): void {
  const count = skipCount(state, header, ratchetStep)
  if (count === 0) return
  const max = Math.min(limits.maxSkip ?? MAX_SKIP, MAX_SKIP)
  if (count > max) throw new TooManySkippedError(`message ${header.n} would skip ${count} message keys (limit ${max})`)
  limits.charge?.(count)
}

/** DHRatchetHE (spec §4.5). */
async function dhRatchet (crypto: Crypto, state: RatchetState, header: Header): Promise<RatchetState> {
  const retiredHkr = state.hkr != null ? [...state.retiredHkr, state.hkr].slice(-MAX_RETIRED_HEADER_KEYS) : state.retiredHkr
  const [rk1, ckr, nhkr] = await kdfRk(crypto, state.rk, await crypto.x25519.sharedSecret(state.dhs.secretKey, header.dh))
  const dhs = await crypto.x25519.generateKeyPair()
  const [rk, cks, nhks] = await kdfRk(crypto, rk1, await crypto.x25519.sharedSecret(dhs.secretKey, header.dh))
  return {
    ...state,
    pn: state.ns,
    ns: 0,
    nr: 0,
    hks: state.nhks,
    hkr: state.nhkr,
    dhr: header.dh,
    rk,
    ckr,
    nhkr,
    dhs,
    cks,
    nhks,
    retiredHkr
  }
}

async function openBody (crypto: Crypto, state: RatchetState, mk: Uint8Array, parts: RatchetMessageParts, extraAd: Uint8Array | undefined): Promise<Uint8Array> {
  return await crypto.aead.decrypt(mk, ZERO_NONCE, parts.body, bodyAad(state, parts.prefix, extraAd))
}

/** Decrypts with the skipped key (hk, n) and removes it; ReplayError when there is none. */
async function useSkipped (crypto: Crypto, state: RatchetState, hk: Uint8Array, header: Header, parts: RatchetMessageParts, extraAd: Uint8Array | undefined): Promise<{ state: RatchetState, plaintext: Uint8Array }> {
  const index = state.skipped.findIndex(s => s.n === header.n && (s.hk === hk || bytesEqual(s.hk, hk)))
  if (index === -1) throw new ReplayError(`message ${header.n} was already decrypted (or its skipped key was discarded)`)
  const plaintext = await openBody(crypto, state, state.skipped[index].mk, parts, extraAd)
  const skipped = [...state.skipped.slice(0, index), ...state.skipped.slice(index + 1)]
  return { state: { ...state, skipped }, plaintext }
}

/** The distinct header keys of skipped message keys, other than `except`. */
function skippedHeaderKeys (state: RatchetState, except: Uint8Array | undefined): Uint8Array[] {
  const keys: Uint8Array[] = []
  for (const { hk } of state.skipped) {
    if (except != null && (hk === except || bytesEqual(hk, except))) continue
    if (!keys.some(k => k === hk || bytesEqual(k, hk))) keys.push(hk)
  }
  return keys
}

/**
 * RatchetDecryptHE (spec §4.5). The header keys are tried in the order that
 * costs least for in-order traffic: the current receiving header key (its
 * skipped keys included) and the next one (a DH ratchet step), in the order
 * the conversation suggests, then the header keys of older chains that still
 * have skipped keys (TrySkippedMessageKeysHE).
 * Skipping message keys is checked against `limits` (see {@link SkipLimits})
 * before any is derived.
 * Throws DecryptionError (not for this session, or tampered), ReplayError
 * (already decrypted), TooManySkippedError, InvalidMessageError, or what
 * `limits.charge` throws; `state` is never modified.
 */
export async function ratchetDecrypt (crypto: Crypto, state: RatchetState, message: Uint8Array, extraAd?: Uint8Array, limits: SkipLimits = {}): Promise<{ state: RatchetState, plaintext: Uint8Array }> {
  const parts = parseRatchetMessage(message)
  // Which key to try first: if we sent since our last DH ratchet step, the
  // peer has probably seen it and started a new chain (NHKr); otherwise the
  // message most likely continues the current chain (HKr). A wrong guess
  // costs one failed header decryption, never a wrong result.
  const nextFirst = state.ns > 0 || state.hkr == null
  let header: Header | undefined
  let ratchetStep = false
  if (nextFirst) {
    header = await decryptHeader(crypto, state.nhkr, parts)
    ratchetStep = header != null
  }
  if (header == null && state.hkr != null) header = await decryptHeader(crypto, state.hkr, parts)
  if (header == null && !nextFirst) {
    header = await decryptHeader(crypto, state.nhkr, parts)
    ratchetStep = header != null
  }
  if (header == null) {
    for (const hk of skippedHeaderKeys(state, state.hkr)) {
      const old = await decryptHeader(crypto, hk, parts)
      if (old != null) return await useSkipped(crypto, state, hk, old, parts, extraAd)
    }
    for (const hk of state.retiredHkr) {
      if (await decryptHeader(crypto, hk, parts) != null) throw new ReplayError('message of a finished chain was already decrypted or its key discarded')
    }
    throw new DecryptionError('no header key of this session opens the message')
  }
  let next = state
  if (!ratchetStep && state.hkr != null) {
    if (state.dhr == null || !bytesEqual(header.dh, state.dhr)) throw new DecryptionError('header names a ratchet key other than the current one')
    if (header.n < state.nr) return await useSkipped(crypto, state, state.hkr, header, parts, extraAd)
  }
  checkSkip(state, header, ratchetStep, limits)
  if (ratchetStep) {
    next = await skipMessageKeys(crypto, next, header.pn)
    next = await dhRatchet(crypto, next, header)
  }
  next = await skipMessageKeys(crypto, next, header.n)
  if (next.ckr == null) throw new DecryptionError('no receiving chain')
  const [ckr, mk] = kdfCk(crypto, next.ckr)
  const plaintext = await openBody(crypto, next, mk, parts, extraAd)
  return { state: { ...next, ckr, nr: next.nr + 1 }, plaintext }
}
