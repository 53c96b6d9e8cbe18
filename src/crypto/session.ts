/**
 * Pairwise sessions: PQXDH to start (pqxdh.ts), the Double Ratchet with
 * header encryption to talk (ratchet.ts). Every function returns the new
 * {@link SessionState} next to its output and never modifies its input, so
 * the caller stores state and message in one atomic batch; after a failure
 * the old state is still the right one. {@link encodeSession} /
 * {@link decodeSession} turn a state into bytes and back.
 *
 * Until Alice receives Bob's first reply, each message she sends is an
 * initial message (PQXDH header + ratchet message), so that Bob can start the
 * session from whichever arrives first. Bob starts the session with
 * {@link respondToSession} once; later initial messages with the same base
 * key go to {@link decrypt} with the stored state.
 *
 * @example
 * ```ts
 * const { state: a0 } = await initiateSession(crypto, alice, bobBundle)
 * const { state: a1, message } = await encrypt(crypto, a0, utf8('hi'))
 * const { state: b0, plaintext } = await respondToSession(crypto, bobDevice, message, guard)
 * ```
 */
import { bytesEqual, concatBytes } from './bytes.js'
import { Reader, Writer } from './codec.js'
import { InvalidMessageError, ReplayError } from './errors.js'
import { KEM_CIPHERTEXT_LENGTH } from './bytes.js'
import { decodePrekeyMessage, encodePrekeyPrefix, pqxdhInitiate, pqxdhRespond, PREKEY_MESSAGE_TYPE } from './pqxdh.js'
import type { LocalIdentity, PrekeyBundle, PrekeyMessageHeader } from './pqxdh.js'
import { findKemPrekey, findOneTimePrekey, findSignedPrekey } from './prekeys.js'
import type { PrekeyOptions, PrekeyState } from './prekeys.js'
import { initAlice, initBob, MAX_STORED_SKIPPED, ratchetDecrypt, ratchetEncrypt, skipSendingKeys } from './ratchet.js'
import type { RatchetState, SkipLimits, SkippedKey } from './ratchet.js'
import { RATCHET_MESSAGE_TYPE } from './header.js'
import type { Crypto } from './index.js'

export type { LocalIdentity, PrekeyBundle } from './pqxdh.js'
export type { SkipLimits } from './ratchet.js'

/**
 * Most message keys the message that starts a session may skip. Anyone can
 * start a session with us (PQXDH needs only our public bundle), so without
 * this a stranger's first envelope could ask for the full MAX_SKIP. A real
 * first message is the sender's first (n = 0) or one of the few it sent
 * before the first one reached us; relays hand envelopes out in arrival
 * order, so a gap this large means a lost batch, which later messages of the
 * session recover from anyway.
 */
export const FIRST_MESSAGE_MAX_SKIP = 200

/** One side of a session. Treat as immutable; persist with {@link encodeSession}. */
export interface SessionState {
  localAccountKey: Uint8Array
  localIdentityKey: Uint8Array
  remoteAccountKey: Uint8Array
  remoteIdentityKey: Uint8Array
  /** EK_A of the initial message that started this session. */
  baseKey: Uint8Array
  /** Alice only, until the first reply: the PQXDH header sent with each message. */
  pendingPrekey?: PrekeyMessageHeader
  ratchet: RatchetState
  /**
   * Sending positions reserved on the sending chain whose ratchet key is
   * `chain`: a state read back from storage resumes at `until` (see
   * {@link reserveSend} and {@link resumeSession}).
   */
  sendReservation?: { chain: Uint8Array, until: number }
}

/** Sending positions {@link reserveSend} reserves at a time. */
export const SEND_RESERVATION = 64

/**
 * Makes sure the next message's sending position is covered by a
 * reservation. A caller may send a message before its new state is on
 * stable storage only when the reservation it encrypted under was already
 * there: after a power cut, the state read back is then at or before that
 * one, and {@link resumeSession} moves it past every position that might
 * have been used, so no message key is ever used twice. When the position is
 * not covered (a new sending chain, or the reservation used up), the state
 * gets a new reservation and `durableFirst` says the caller must store it
 * (synced) before sending.
 */
export function reserveSend (state: SessionState, count = SEND_RESERVATION): { state: SessionState, durableFirst: boolean } {
  const r = state.ratchet
  const current = state.sendReservation
  if (current != null && bytesEqual(current.chain, r.dhs.publicKey) && r.ns < current.until) return { state, durableFirst: false }
  return { state: { ...state, sendReservation: { chain: r.dhs.publicKey, until: r.ns + count } }, durableFirst: true }
}

/**
 * A state as read back from storage: if its sending chain is the reserved
 * one, it continues after the reservation (the receiver treats the gap as
 * messages that never arrive), so positions that may have been used before
 * a crash are not used again.
 */
export function resumeSession (crypto: Crypto, state: SessionState): SessionState {
  const reservation = state.sendReservation
  const r = state.ratchet
  if (reservation == null || r.cks == null || !bytesEqual(reservation.chain, r.dhs.publicKey) || r.ns >= reservation.until) return state
  return { ...state, ratchet: skipSendingKeys(crypto, r, reservation.until) }
}

/** A device's secrets needed to answer initial messages. */
export interface DeviceSecrets {
  accountKey: Uint8Array
  identityKey: { secretKey: Uint8Array, publicKey: Uint8Array }
  prekeys: PrekeyState
}

/**
 * Remembers (signed prekey id, base key) pairs already used to start a
 * session, so a replayed initial message is refused (PQXDH §4.2). Keys are
 * `u32 signed prekey id || base key`; entries may be dropped once that
 * signed prekey is no longer accepted.
 */
export interface ReplayGuard {
  has(key: Uint8Array): boolean | Promise<boolean>
  add(key: Uint8Array): void | Promise<void>
}

/** An in-memory {@link ReplayGuard} (tests; a daemon persists its own). */
export function memoryReplayGuard (): ReplayGuard {
  const seen = new Set<string>()
  const id = (k: Uint8Array): string => Array.from(k, b => b.toString(16).padStart(2, '0')).join('')
  return { has: k => seen.has(id(k)), add: k => { seen.add(id(k)) } }
}

/** The replay-guard key of an initial message. */
export function replayKey (header: PrekeyMessageHeader): Uint8Array {
  return new Writer(36).u32(header.signedPrekeyId).bytes(header.baseKey).finish()
}

/** Alice starts a session from Bob's bundle (signatures verified, PQXDH §3.3). */
export async function initiateSession (crypto: Crypto, us: LocalIdentity, bundle: PrekeyBundle): Promise<{ state: SessionState }> {
  const { secrets, header } = await pqxdhInitiate(crypto, us, bundle)
  const ratchet = await initAlice(crypto, secrets.sk, bundle.signedPrekey.publicKey, secrets.sharedHka, secrets.sharedNhkb, secrets.ad)
  return {
    state: {
      localAccountKey: us.accountKey,
      localIdentityKey: us.identityKey.publicKey,
      remoteAccountKey: bundle.accountKey,
      remoteIdentityKey: bundle.identityKey,
      baseKey: header.baseKey,
      pendingPrekey: header,
      ratchet
    }
  }
}

/** The ratchet AAD of a message sent inside an initial message: the prefix's digest, then the caller's. */
function prekeyAd (crypto: Crypto, prefix: Uint8Array, ad: Uint8Array | undefined): Uint8Array {
  return concatBytes(crypto.hash.sha256(prefix), ad ?? new Uint8Array(0))
}

/** Encrypts `plaintext` (and authenticates `ad`, which decrypt must be given too). */
export async function encrypt (crypto: Crypto, state: SessionState, plaintext: Uint8Array, ad?: Uint8Array): Promise<{ state: SessionState, message: Uint8Array }> {
  if (state.pendingPrekey == null) {
    const out = await ratchetEncrypt(crypto, state.ratchet, plaintext, ad)
    return { state: { ...state, ratchet: out.state }, message: out.message }
  }
  const prefix = encodePrekeyPrefix(state.pendingPrekey)
  const out = await ratchetEncrypt(crypto, state.ratchet, plaintext, prekeyAd(crypto, prefix, ad))
  return { state: { ...state, ratchet: out.state }, message: concatBytes(prefix, out.message) }
}

/**
 * Decrypts a message of this session: a ratchet message, or an initial
 * message whose base key started this session (a resend). `limits` bound
 * the message keys it may skip (see {@link SkipLimits}). Throws
 * DecryptionError, ReplayError, TooManySkippedError, InvalidMessageError or
 * what `limits.charge` throws.
 */
export async function decrypt (crypto: Crypto, state: SessionState, message: Uint8Array, ad?: Uint8Array, limits: SkipLimits = {}): Promise<{ state: SessionState, plaintext: Uint8Array }> {
  if (message.length > 0 && message[0] === PREKEY_MESSAGE_TYPE) {
    const { header, prefix, ratchetMessage } = decodePrekeyMessage(message)
    if (!bytesEqual(header.baseKey, state.baseKey) || !bytesEqual(header.identityKey, state.remoteIdentityKey)) {
      throw new InvalidMessageError('initial message of another session')
    }
    const out = await ratchetDecrypt(crypto, state.ratchet, ratchetMessage, prekeyAd(crypto, prefix, ad), limits)
    return { state: { ...state, ratchet: out.state }, plaintext: out.plaintext }
  }
  if (message.length === 0 || message[0] !== RATCHET_MESSAGE_TYPE) throw new InvalidMessageError('unknown message type')
  const out = await ratchetDecrypt(crypto, state.ratchet, message, ad, limits)
  // A ratchet message from Bob means he has the session: stop sending the PQXDH header.
  const next: SessionState = { ...state, ratchet: out.state }
  delete next.pendingPrekey
  return { state: next, plaintext: out.plaintext }
}

/**
 * The session once the other device is known to have it: it stored a
 * message sealed in this session's initial message (its device acknowledged
 * it over an authenticated connection), so later messages need not carry
 * the PQXDH header. Undefined when nothing changes (another session, or
 * already confirmed).
 */
export function confirmSession (state: SessionState, baseKey: Uint8Array): SessionState | undefined {
  if (state.pendingPrekey == null || !bytesEqual(state.baseKey, baseKey)) return undefined
  const next: SessionState = { ...state }
  delete next.pendingPrekey
  return next
}

/** True when `message` is an initial (prekey) message. */
export function isPrekeyMessage (message: Uint8Array): boolean {
  return message.length > 0 && message[0] === PREKEY_MESSAGE_TYPE
}

/**
 * Bob answers an initial message (PQXDH §3.4): finds the prekeys it names
 * (PrekeyNotFoundError when unknown or past their grace period), refuses a
 * replayed (signed prekey, base key) pair with ReplayError, verifies the
 * sender's identity signature, then decrypts the first message. Only after
 * success is the pair added to `guard`. The caller must remove
 * `usedOneTimePrekeyId` from its prekey state (in the same batch). The
 * first message may skip at most FIRST_MESSAGE_MAX_SKIP keys (and what
 * `options.skip` allows: TooManySkippedError, or what its `charge` throws).
 */
export async function respondToSession (crypto: Crypto, device: DeviceSecrets, message: Uint8Array, guard: ReplayGuard, options: PrekeyOptions & { now?: number, ad?: Uint8Array, skip?: SkipLimits } = {}): Promise<{ state: SessionState, plaintext: Uint8Array, usedOneTimePrekeyId?: number, replayKey: Uint8Array }> {
  const now = options.now ?? Date.now()
  const { header, prefix, ratchetMessage } = decodePrekeyMessage(message)
  const key = replayKey(header)
  if (await guard.has(key)) throw new ReplayError('initial message already used (same prekey and base key)')
  const spk = findSignedPrekey(device.prekeys, header.signedPrekeyId, now, options)
  const kem = findKemPrekey(device.prekeys, header.kemPrekeyId, now, options)
  const otk = header.oneTimePrekeyId != null ? findOneTimePrekey(device.prekeys, header.oneTimePrekeyId) : undefined
  const secrets = await pqxdhRespond(crypto, {
    accountKey: device.accountKey,
    identityKey: device.identityKey,
    signedPrekeySecret: spk.secretKey,
    kemPrekeySeed: kem.secretKey,
    ...(otk != null ? { oneTimePrekeySecret: otk.secretKey } : {})
  }, header)
  const ratchet0 = initBob(secrets.sk, { secretKey: spk.secretKey, publicKey: spk.publicKey }, secrets.sharedHka, secrets.sharedNhkb, secrets.ad)
  const skip: SkipLimits = { ...options.skip, maxSkip: Math.min(options.skip?.maxSkip ?? FIRST_MESSAGE_MAX_SKIP, FIRST_MESSAGE_MAX_SKIP) }
  const { state: ratchet, plaintext } = await ratchetDecrypt(crypto, ratchet0, ratchetMessage, prekeyAd(crypto, prefix, options.ad), skip)
  await guard.add(key)
  return {
    state: {
      localAccountKey: device.accountKey,
      localIdentityKey: device.identityKey.publicKey,
      remoteAccountKey: header.accountKey,
      remoteIdentityKey: header.identityKey,
      baseKey: header.baseKey,
      ratchet
    },
    plaintext,
    ...(otk != null ? { usedOneTimePrekeyId: otk.id } : {}),
    replayKey: key
  }
}

/*
 * Serialised session, version 2 (big-endian; version 1 is read too: no reservation):
 *   u8 version = 2 | 32 local account | 32 local identity | 32 remote account | 32 remote identity | 32 base key
 *   u8 has pending [32 account | 32 identity | 64 signature | 32 base key | u32 spk id | u32 kem id | u32 otk id+1 (0 = none) | 1088 CT]
 *   ratchet: u32 |ad| ad | 32 DHs secret | 32 DHs public | opt 32 DHr | 32 RK | opt 32 CKs | opt 32 CKr
 *            u32 Ns | u32 Nr | u32 PN | opt 32 HKs | opt 32 HKr | 32 NHKs | 32 NHKr
 *   u32 distinct skipped header keys | 32 each | u32 skipped count | (u32 hk index | u32 N | 32 MK) each
 *   u32 retired header keys | 32 each
 *   (version 2) u8 has reservation | 32 chain ratchet key | u32 until
 * ("opt" = u8 0, or u8 1 and the bytes.)
 */
const SESSION_VERSION = 2
const MAX_AD = 1024
const MAX_RETIRED = 64

/** Serialises a session (contains secrets: store it encrypted at rest). */
export function encodeSession (state: SessionState): Uint8Array {
  const r = state.ratchet
  const w = new Writer(1024 + r.skipped.length * 40)
  w.u8(SESSION_VERSION).bytes(state.localAccountKey).bytes(state.localIdentityKey)
    .bytes(state.remoteAccountKey).bytes(state.remoteIdentityKey).bytes(state.baseKey)
  const p = state.pendingPrekey
  w.u8(p != null ? 1 : 0)
  if (p != null) {
    w.bytes(p.accountKey).bytes(p.identityKey).bytes(p.identityKeySignature).bytes(p.baseKey)
      .u32(p.signedPrekeyId).u32(p.kemPrekeyId).u32(p.oneTimePrekeyId != null ? p.oneTimePrekeyId + 1 : 0).bytes(p.kemCiphertext)
  }
  w.varBytes(r.ad).bytes(r.dhs.secretKey).bytes(r.dhs.publicKey).optional(r.dhr).bytes(r.rk).optional(r.cks).optional(r.ckr)
    .u32(r.ns).u32(r.nr).u32(r.pn).optional(r.hks).optional(r.hkr).bytes(r.nhks).bytes(r.nhkr)
  const hks: Uint8Array[] = []
  const index = r.skipped.map(s => {
    let i = hks.findIndex(k => k === s.hk || bytesEqual(k, s.hk))
    if (i === -1) i = hks.push(s.hk) - 1
    return i
  })
  w.u32(hks.length)
  for (const hk of hks) w.bytes(hk)
  w.u32(r.skipped.length)
  r.skipped.forEach((s, i) => w.u32(index[i]).u32(s.n).bytes(s.mk))
  w.u32(r.retiredHkr.length)
  for (const hk of r.retiredHkr) w.bytes(hk)
  const reservation = state.sendReservation
  w.u8(reservation != null ? 1 : 0)
  if (reservation != null) w.bytes(reservation.chain).u32(reservation.until)
  return w.finish()
}

/** Parses {@link encodeSession} output; InvalidMessageError when malformed. */
export function decodeSession (bytes: Uint8Array): SessionState {
  const r = new Reader(bytes, 'session state')
  const version = r.u8()
  if (version !== SESSION_VERSION && version !== 1) throw new InvalidMessageError('unsupported session state version')
  const [localAccountKey, localIdentityKey, remoteAccountKey, remoteIdentityKey, baseKey] = [r.bytes(32), r.bytes(32), r.bytes(32), r.bytes(32), r.bytes(32)]
  let pendingPrekey: PrekeyMessageHeader | undefined
  if (r.u8() === 1) {
    const [accountKey, identityKey, identityKeySignature, base] = [r.bytes(32), r.bytes(32), r.bytes(64), r.bytes(32)]
    const [signedPrekeyId, kemPrekeyId, otk] = [r.u32(), r.u32(), r.u32()]
    pendingPrekey = {
      accountKey, identityKey, identityKeySignature, baseKey: base, signedPrekeyId, kemPrekeyId,
      ...(otk !== 0 ? { oneTimePrekeyId: otk - 1 } : {}),
      kemCiphertext: r.bytes(KEM_CIPHERTEXT_LENGTH)
    }
  }
  const ad = r.varBytes(MAX_AD)
  const dhs = { secretKey: r.bytes(32), publicKey: r.bytes(32) }
  const dhr = r.optional(32)
  const rk = r.bytes(32)
  const cks = r.optional(32)
  const ckr = r.optional(32)
  const [ns, nr, pn] = [r.u32(), r.u32(), r.u32()]
  const hks = r.optional(32)
  const hkr = r.optional(32)
  const [nhks, nhkr] = [r.bytes(32), r.bytes(32)]
  const hkCount = r.u32()
  if (hkCount > MAX_STORED_SKIPPED) throw new InvalidMessageError('session state has too many header keys')
  const skippedHks: Uint8Array[] = []
  for (let i = 0; i < hkCount; i++) skippedHks.push(r.bytes(32))
  const count = r.u32()
  if (count > MAX_STORED_SKIPPED) throw new InvalidMessageError('session state has too many skipped keys')
  const skipped: SkippedKey[] = []
  for (let i = 0; i < count; i++) {
    const hk = skippedHks[r.u32()]
    if (hk == null) throw new InvalidMessageError('session state has an invalid header key index')
    skipped.push({ hk, n: r.u32(), mk: r.bytes(32) })
  }
  const retiredCount = r.u32()
  if (retiredCount > MAX_RETIRED) throw new InvalidMessageError('session state has too many retired header keys')
  const retiredHkr: Uint8Array[] = []
  for (let i = 0; i < retiredCount; i++) retiredHkr.push(r.bytes(32))
  let sendReservation: SessionState['sendReservation']
  if (version >= 2 && r.u8() === 1) sendReservation = { chain: r.bytes(32), until: r.u32() }
  r.end()
  const ratchet: RatchetState = {
    ad, dhs, rk, ns, nr, pn, nhks, nhkr, skipped, retiredHkr,
    ...(dhr != null ? { dhr } : {}),
    ...(cks != null ? { cks } : {}),
    ...(ckr != null ? { ckr } : {}),
    ...(hks != null ? { hks } : {}),
    ...(hkr != null ? { hkr } : {})
  }
  return {
    localAccountKey, localIdentityKey, remoteAccountKey, remoteIdentityKey, baseKey,
    ...(pendingPrekey != null ? { pendingPrekey } : {}),
    ratchet,
    ...(sendReservation != null ? { sendReservation } : {})
  }
}
