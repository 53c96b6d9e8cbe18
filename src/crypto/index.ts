/**
 * The crypto facade: one object with every primitive Starling uses, each
 * taken from the provider chosen for it. `src/` code receives a {@link Crypto}
 * and never imports a provider library directly.
 *
 * @example
 * ```ts
 * const crypto = createCrypto()                                            // noble everywhere
 * const crypto = createCrypto([await webCryptoProvider()])                 // browser
 * const crypto = createCrypto([nodeProvider(), await webCryptoProvider()]) // node/ passes node:crypto in
 * ```
 */
import { nobleProvider } from './noble.js'
import type { AeadProvider, CryptoProvider, HashProvider } from './provider.js'

export type { CryptoProvider, KeyPair, KemKeyPair, KemEncapsulation } from './provider.js'
export {
  DecryptionError, InvalidKeyError, InvalidSignatureError, ReplayError, TooManySkippedError,
  InvalidMessageError, PrekeyNotFoundError
} from './errors.js'
export { nobleProvider } from './noble.js'
export { webCryptoProvider } from './webcrypto.js'
export {
  initiateSession, respondToSession, encrypt, decrypt, encodeSession, decodeSession, isPrekeyMessage,
  memoryReplayGuard, FIRST_MESSAGE_MAX_SKIP
} from './session.js'
export type { SessionState, DeviceSecrets, ReplayGuard, LocalIdentity, PrekeyBundle, SkipLimits } from './session.js'
export { sealEnvelope, openEnvelope, parseEnvelopeHeader, newEnvelopeId, DirectEphemerals, EphemeralSecrets } from './envelope.js'
export type { EnvelopeHeader, EnvelopeSender, Ephemeral, SealOptions } from './envelope.js'
export { safetyNumber, compareScannable } from './safety-number.js'

/** Every primitive present. */
export type Crypto = Required<CryptoProvider>

/**
 * The primitives a provider may supply; `aeadLarge` is AEAD on inputs of
 * {@link LARGE_AEAD_BYTES} or more, `hashLarge` SHA-256 and SHA-512 of
 * {@link LARGE_HASH_BYTES} or more.
 */
export type Primitive = 'x25519' | 'ed25519' | 'aead' | 'aeadLarge' | 'kem' | 'hash' | 'hashLarge'

/** Provider names in order of preference, per primitive. */
export type Preference = Record<Primitive, readonly string[]>

/** Inputs at least this long use the `aeadLarge` preference. */
export const LARGE_AEAD_BYTES = 512

/** Inputs at least this long use the `hashLarge` preference. */
export const LARGE_HASH_BYTES = 256

/**
 * The order measured by scripts/bench-providers.ts (Node 24.21, OpenSSL
 * 3.5, 2 cores, 2026-11-22; microseconds per operation, one at a time:
 * noble / WebCrypto / node:crypto):
 *
 * - X25519 DH 1438 / 188 / 41; key pair 482 / 82 / 51
 * - Ed25519 sign 726 / 159 / 40; verify 1590 / 185 / 125
 * - ML-KEM-768 key pair 456 / 188 / 197; encapsulate 519 / 119 / 35; decapsulate 1031 / 213 / 180
 * - AES-256-GCM 40 B 16 / 53 / 7.1; 100 B 19 / 57 / 8.5; 300 B 26 / 53 / 7.8; 1 KiB 56 / 55 / 9.8
 *   (node:crypto given a KeyObject per key; given raw bytes it spent ~13 µs
 *   more per cipher and lost to noble below 512 bytes: measured again
 *   2026-11-22. The aeadLarge split stays for platforms without node:crypto.)
 * - HMAC-SHA256 4.7 / - / 5.1; HKDF 32 B -> 64 B 11.6 / - / 11.1; SHA-256 100 B 2.0 / - / 2.3
 *   (WebCrypto hashes are async only: ~0.1 ms per call, never chosen)
 * - SHA-256 (noble / node:crypto, 2026-12-07, 20,000 each): 64 B 1.2-2.7 / 1.5-2.3;
 *   200 B 2.1-2.6 / 1.3-2.0; 600 B 3.8-4.2 / 1.7-1.8; 4 KiB 17.6-18.3 / 3.8-3.9:
 *   envelopes and attachment chunks go to node:crypto (hashLarge), a
 *   relay hashes every envelope it stores and a sender every one it hands over
 *
 * Asymmetric work goes native (node:crypto, else WebCrypto: 4-40x faster than
 * noble); AEAD goes to node:crypto where it exists, else noble (synchronous);
 * hashes stay in noble (as fast, and the same everywhere).
 */
export const MEASURED_PREFERENCE: Preference = {
  x25519: ['node', 'webcrypto', 'noble'],
  ed25519: ['node', 'webcrypto', 'noble'],
  kem: ['node', 'webcrypto', 'noble'],
  aead: ['node', 'noble', 'webcrypto'],
  aeadLarge: ['node', 'noble', 'webcrypto'],
  hash: ['noble', 'node'],
  hashLarge: ['node', 'noble']
}

/** Options of {@link createCrypto}. */
export interface CreateCryptoOptions {
  /**
   * Per-primitive order of provider names (default {@link MEASURED_PREFERENCE}),
   * or 'as-given': the first of `providers` that has the primitive (tests use
   * this to run one provider through the facade). Providers whose name is not
   * listed rank after the listed ones, in the order given.
   */
  preference?: Preference | 'as-given'
}

/** Hashes that send short inputs to `small` and long ones to `large` (HMAC and HKDF, on keys, stay with `small`). */
function splitHash (small: HashProvider, large: HashProvider): HashProvider {
  return {
    ...small,
    sha256: (data) => (data.length < LARGE_HASH_BYTES ? small : large).sha256(data),
    sha512: (data) => (data.length < LARGE_HASH_BYTES ? small : large).sha512(data)
  }
}

/** AEAD that sends short inputs to `small` and long ones to `large`. */
function splitAead (small: AeadProvider, large: AeadProvider): AeadProvider {
  return {
    encrypt: (key, nonce, plaintext, aad) =>
      (plaintext.length < LARGE_AEAD_BYTES ? small : large).encrypt(key, nonce, plaintext, aad),
    decrypt: (key, nonce, ciphertext, aad) =>
      (ciphertext.length < LARGE_AEAD_BYTES ? small : large).decrypt(key, nonce, ciphertext, aad)
  }
}

/**
 * Builds the facade from `providers` (noble is always added last, so every
 * primitive exists), choosing each primitive's provider by `preference`.
 */
export function createCrypto (providers: CryptoProvider[] = [], options: CreateCryptoOptions = {}): Crypto {
  const all = [...providers, nobleProvider()]
  const preference = options.preference ?? MEASURED_PREFERENCE
  const ranked = (primitive: Primitive): CryptoProvider[] => {
    if (preference === 'as-given') return all
    const order = preference[primitive]
    const rank = (p: CryptoProvider): number => {
      const i = order.indexOf(p.name)
      return i === -1 ? order.length : i
    }
    return [...all].sort((a, b) => rank(a) - rank(b))
  }
  const pick = <K extends 'x25519' | 'ed25519' | 'aead' | 'kem' | 'hash'>(key: K, primitive: Primitive = key): { provider: CryptoProvider, value: NonNullable<CryptoProvider[K]> } => {
    for (const p of ranked(primitive)) {
      const v = p[key]
      if (v != null) return { provider: p, value: v as NonNullable<CryptoProvider[K]> }
    }
    throw new Error(`no provider has ${String(key)}`)
  }
  const chosen = {
    x25519: pick('x25519'),
    ed25519: pick('ed25519'),
    aead: pick('aead'),
    aeadLarge: pick('aead', 'aeadLarge'),
    kem: pick('kem'),
    hash: pick('hash'),
    hashLarge: pick('hash', 'hashLarge')
  }
  const aead = chosen.aead.provider === chosen.aeadLarge.provider
    ? chosen.aead.value
    : splitAead(chosen.aead.value, chosen.aeadLarge.value)
  const hash = chosen.hash.provider === chosen.hashLarge.provider
    ? chosen.hash.value
    : splitHash(chosen.hash.value, chosen.hashLarge.value)
  return {
    name: Object.entries(chosen).map(([k, v]) => `${k}:${v.provider.name}`).join(','),
    randomBytes: all[0].randomBytes,
    x25519: chosen.x25519.value,
    ed25519: chosen.ed25519.value,
    aead,
    kem: chosen.kem.value,
    hash
  }
}
