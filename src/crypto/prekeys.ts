/**
 * A device's prekeys (PQXDH spec, §2.2 and §3.2; https://signal.org/docs/specifications/pqxdh/):
 * the X25519 signed prekey, rotated on a schedule with the previous one still
 * accepted for a grace period; the ML-KEM-768 last-resort prekey, rotated
 * with it; optional one-time X25519 prekeys that only the online device hands
 * out (a public record cannot give each to a single sender).
 *
 * Every public prekey is signed by the ACCOUNT Ed25519 key over
 * `prekeySignaturePayload(kind, id, key)` (prekey-signature.ts). State is
 * immutable: functions return a new {@link PrekeyState}; `rotatePrekeys`
 * returns the same object when nothing was due, so callers can skip a write.
 */
import { Reader, Writer } from './codec.js'
import { InvalidMessageError, PrekeyNotFoundError } from './errors.js'
import { KEM_PUBLIC_KEY_LENGTH, KEM_SEED_LENGTH } from './bytes.js'
import { PrekeyKind, prekeySignaturePayload } from './prekey-signature.js'
import type { Crypto } from './index.js'

/** How often the signed prekey (and the KEM prekey) is replaced. */
export const PREKEY_ROTATION_MS = 7 * 24 * 3600 * 1000
/** How long a replaced prekey is still accepted: covers records cached by senders and envelopes held by relays. */
export const PREKEY_GRACE_MS = 14 * 24 * 3600 * 1000

/** A signed X25519 prekey with its secret. */
export interface SignedPrekeySecret {
  id: number
  secretKey: Uint8Array
  publicKey: Uint8Array
  /** Account signature over prekeySignaturePayload(signedPrekey, id, publicKey). */
  signature: Uint8Array
  createdAt: number
}

/** A signed ML-KEM-768 prekey; `secretKey` is the 64-byte seed. */
export type KemPrekeySecret = SignedPrekeySecret

/** A one-time X25519 prekey (unsigned, as in Signal: it is handed out by the device itself). */
export interface OneTimePrekeySecret {
  id: number
  secretKey: Uint8Array
  publicKey: Uint8Array
}

/** Everything secret a device keeps about its prekeys. */
export interface PrekeyState {
  signedPrekey: SignedPrekeySecret
  /** The replaced signed prekey, accepted until `retiredAt + PREKEY_GRACE_MS`. */
  previousSignedPrekey?: SignedPrekeySecret & { retiredAt: number }
  kemPrekey: KemPrekeySecret
  previousKemPrekey?: KemPrekeySecret & { retiredAt: number }
  oneTimePrekeys: OneTimePrekeySecret[]
  /** The next prekey id to assign (ids are unique per device across all kinds). */
  nextId: number
}

/** A public prekey with its account signature, as published in the device record. */
export interface SignedPrekeyPublic {
  id: number
  publicKey: Uint8Array
  signature: Uint8Array
}

/** The device's long-term X25519 identity key with the account's signature (kind identity, id 0). */
export interface SignedIdentityKey {
  secretKey: Uint8Array
  publicKey: Uint8Array
  signature: Uint8Array
}

/** Options for tests and operators. */
export interface PrekeyOptions {
  rotationMs?: number
  graceMs?: number
}

/** Generates the device's X25519 identity key and signs it with the account key. */
export async function generateIdentityKey (crypto: Crypto, accountSecretKey: Uint8Array): Promise<SignedIdentityKey> {
  const pair = await crypto.x25519.generateKeyPair()
  const signature = await crypto.ed25519.sign(accountSecretKey, prekeySignaturePayload(PrekeyKind.identity, 0, pair.publicKey))
  return { ...pair, signature }
}

async function signedPrekey (crypto: Crypto, accountSecretKey: Uint8Array, id: number, now: number): Promise<SignedPrekeySecret> {
  const pair = await crypto.x25519.generateKeyPair()
  const signature = await crypto.ed25519.sign(accountSecretKey, prekeySignaturePayload(PrekeyKind.signedPrekey, id, pair.publicKey))
  return { id, ...pair, signature, createdAt: now }
}

async function kemPrekey (crypto: Crypto, accountSecretKey: Uint8Array, id: number, now: number): Promise<KemPrekeySecret> {
  const pair = await crypto.kem.generateKeyPair()
  const signature = await crypto.ed25519.sign(accountSecretKey, prekeySignaturePayload(PrekeyKind.kemPrekey, id, pair.publicKey))
  return { id, ...pair, signature, createdAt: now }
}

/** A new prekey state: one signed prekey, one KEM prekey, no one-time prekeys. */
export async function createPrekeyState (crypto: Crypto, accountSecretKey: Uint8Array, now: number): Promise<PrekeyState> {
  return {
    signedPrekey: await signedPrekey(crypto, accountSecretKey, 1, now),
    kemPrekey: await kemPrekey(crypto, accountSecretKey, 2, now),
    oneTimePrekeys: [],
    nextId: 3
  }
}

/**
 * Replaces the signed and KEM prekeys when they are older than the rotation
 * period (keeping the replaced ones for the grace period) and forgets
 * replaced prekeys whose grace has ended. Returns `state` itself when
 * nothing changed.
 */
export async function rotatePrekeys (crypto: Crypto, state: PrekeyState, accountSecretKey: Uint8Array, now: number, options: PrekeyOptions = {}): Promise<PrekeyState> {
  const rotationMs = options.rotationMs ?? PREKEY_ROTATION_MS
  const graceMs = options.graceMs ?? PREKEY_GRACE_MS
  let next = state
  if (now - state.signedPrekey.createdAt >= rotationMs) {
    next = {
      ...next,
      signedPrekey: await signedPrekey(crypto, accountSecretKey, next.nextId, now),
      previousSignedPrekey: { ...state.signedPrekey, retiredAt: now },
      kemPrekey: await kemPrekey(crypto, accountSecretKey, next.nextId + 1, now),
      previousKemPrekey: { ...state.kemPrekey, retiredAt: now },
      nextId: next.nextId + 2
    }
  }
  if (next.previousSignedPrekey != null && now - next.previousSignedPrekey.retiredAt >= graceMs) {
    next = { ...next, previousSignedPrekey: undefined }
  }
  if (next.previousKemPrekey != null && now - next.previousKemPrekey.retiredAt >= graceMs) {
    next = { ...next, previousKemPrekey: undefined }
  }
  return next
}

/** The public halves with signatures, for the device record. */
export function publicPrekeys (state: PrekeyState): { signedPrekey: SignedPrekeyPublic, kemPrekey: SignedPrekeyPublic } {
  const pub = (k: SignedPrekeySecret): SignedPrekeyPublic => ({ id: k.id, publicKey: k.publicKey, signature: k.signature })
  return { signedPrekey: pub(state.signedPrekey), kemPrekey: pub(state.kemPrekey) }
}

/** Adds `count` one-time prekeys; returns the new state and their public halves to hand out. */
export async function addOneTimePrekeys (crypto: Crypto, state: PrekeyState, count: number): Promise<{ state: PrekeyState, added: Array<{ id: number, publicKey: Uint8Array }> }> {
  const fresh: OneTimePrekeySecret[] = []
  for (let i = 0; i < count; i++) fresh.push({ id: state.nextId + i, ...await crypto.x25519.generateKeyPair() })
  return {
    state: { ...state, oneTimePrekeys: [...state.oneTimePrekeys, ...fresh], nextId: state.nextId + count },
    added: fresh.map(k => ({ id: k.id, publicKey: k.publicKey }))
  }
}

/** The state without one-time prekey `id` (after a session used it). */
export function removeOneTimePrekey (state: PrekeyState, id: number): PrekeyState {
  return { ...state, oneTimePrekeys: state.oneTimePrekeys.filter(k => k.id !== id) }
}

function accepted<T extends SignedPrekeySecret> (current: T, previous: (T & { retiredAt: number }) | undefined, id: number, now: number, graceMs: number, what: string): T {
  if (current.id === id) return current
  if (previous?.id === id) {
    if (now - previous.retiredAt < graceMs) return previous
    throw new PrekeyNotFoundError(`${what} ${id} was retired and its grace period has ended`)
  }
  throw new PrekeyNotFoundError(`unknown ${what} ${id}`)
}

/** The signed prekey with `id`, if still accepted at `now`; else PrekeyNotFoundError. */
export function findSignedPrekey (state: PrekeyState, id: number, now: number, options: PrekeyOptions = {}): SignedPrekeySecret {
  return accepted(state.signedPrekey, state.previousSignedPrekey, id, now, options.graceMs ?? PREKEY_GRACE_MS, 'signed prekey')
}

/** The KEM prekey with `id`, if still accepted at `now`; else PrekeyNotFoundError. */
export function findKemPrekey (state: PrekeyState, id: number, now: number, options: PrekeyOptions = {}): KemPrekeySecret {
  return accepted(state.kemPrekey, state.previousKemPrekey, id, now, options.graceMs ?? PREKEY_GRACE_MS, 'KEM prekey')
}

/** The one-time prekey with `id`; PrekeyNotFoundError when it was used or never existed. */
export function findOneTimePrekey (state: PrekeyState, id: number): OneTimePrekeySecret {
  const key = state.oneTimePrekeys.find(k => k.id === id)
  if (key == null) throw new PrekeyNotFoundError(`unknown or used one-time prekey ${id}`)
  return key
}

/*
 * Serialised prekey state, version 1 (big-endian):
 *   u8 version = 1 | u32 nextId
 *   signed:  u32 id | f64 createdAt | 32 secret | 32 public | 64 signature
 *   u8 hasPrevious [signed | f64 retiredAt]
 *   kem:     u32 id | f64 createdAt | 64 seed | 1184 public | 64 signature
 *   u8 hasPrevious [kem | f64 retiredAt]
 *   u32 count | count x (u32 id | 32 secret | 32 public)
 */
const STATE_VERSION = 1
const MAX_ONE_TIME_PREKEYS = 10_000

function writeSigned (w: Writer, k: SignedPrekeySecret): void {
  w.u32(k.id).time(k.createdAt).bytes(k.secretKey).bytes(k.publicKey).bytes(k.signature)
}

function readSigned (r: Reader, secretLength: number, publicLength: number): SignedPrekeySecret {
  return { id: r.u32(), createdAt: r.time(), secretKey: r.bytes(secretLength), publicKey: r.bytes(publicLength), signature: r.bytes(64) }
}

/** Serialises the state (contains secrets: store it encrypted at rest). */
export function encodePrekeyState (state: PrekeyState): Uint8Array {
  const w = new Writer(4096)
  w.u8(STATE_VERSION).u32(state.nextId)
  writeSigned(w, state.signedPrekey)
  w.u8(state.previousSignedPrekey != null ? 1 : 0)
  if (state.previousSignedPrekey != null) {
    writeSigned(w, state.previousSignedPrekey)
    w.time(state.previousSignedPrekey.retiredAt)
  }
  writeSigned(w, state.kemPrekey)
  w.u8(state.previousKemPrekey != null ? 1 : 0)
  if (state.previousKemPrekey != null) {
    writeSigned(w, state.previousKemPrekey)
    w.time(state.previousKemPrekey.retiredAt)
  }
  w.u32(state.oneTimePrekeys.length)
  for (const k of state.oneTimePrekeys) w.u32(k.id).bytes(k.secretKey).bytes(k.publicKey)
  return w.finish()
}

/** Parses {@link encodePrekeyState} output; InvalidMessageError on anything malformed. */
export function decodePrekeyState (bytes: Uint8Array): PrekeyState {
  const r = new Reader(bytes, 'prekey state')
  if (r.u8() !== STATE_VERSION) throw new InvalidMessageError('unsupported prekey state version')
  const nextId = r.u32()
  const signed = readSigned(r, 32, 32)
  const previousSigned = r.u8() === 1 ? { ...readSigned(r, 32, 32), retiredAt: r.time() } : undefined
  const kem = readSigned(r, KEM_SEED_LENGTH, KEM_PUBLIC_KEY_LENGTH)
  const previousKem = r.u8() === 1 ? { ...readSigned(r, KEM_SEED_LENGTH, KEM_PUBLIC_KEY_LENGTH), retiredAt: r.time() } : undefined
  const count = r.u32()
  if (count > MAX_ONE_TIME_PREKEYS) throw new InvalidMessageError(`prekey state lists ${count} one-time prekeys`)
  const oneTimePrekeys: OneTimePrekeySecret[] = []
  for (let i = 0; i < count; i++) oneTimePrekeys.push({ id: r.u32(), secretKey: r.bytes(32), publicKey: r.bytes(32) })
  r.end()
  return {
    signedPrekey: signed,
    ...(previousSigned != null ? { previousSignedPrekey: previousSigned } : {}),
    kemPrekey: kem,
    ...(previousKem != null ? { previousKemPrekey: previousKem } : {}),
    oneTimePrekeys,
    nextId
  }
}
