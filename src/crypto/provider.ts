/**
 * The crypto facade's provider contract. Every primitive Starling uses is
 * reached through a {@link CryptoProvider}; `src/` picks among providers
 * (noble everywhere, WebCrypto where the platform has the algorithm,
 * `node:crypto` passed in by `node/`) per primitive, by measurement.
 *
 * Asymmetric operations and AEAD are async because WebCrypto is; hashes,
 * HMAC and HKDF are synchronous because an async call (~0.1 ms) costs more
 * than the work itself for per-message symmetric steps.
 */

/** An X25519 or Ed25519 key pair: 32-byte secret (seed) and 32-byte public key. */
export interface KeyPair {
  secretKey: Uint8Array
  publicKey: Uint8Array
}

/**
 * An ML-KEM-768 key pair (FIPS 203). `secretKey` is the 64-byte seed `d || z`
 * of ML-KEM.KeyGen_internal (FIPS 203 §6.1), not the 2400-byte expanded
 * decapsulation key: every provider (noble, node:crypto `raw-seed`, WebCrypto
 * `raw-seed`) can import a seed, but WebCrypto cannot import an expanded key.
 * `publicKey` is the 1184-byte encapsulation key.
 */
export interface KemKeyPair {
  secretKey: Uint8Array
  publicKey: Uint8Array
}

/** Result of ML-KEM encapsulation: 1088-byte ciphertext and 32-byte shared secret. */
export interface KemEncapsulation {
  cipherText: Uint8Array
  sharedSecret: Uint8Array
}

/** X25519 (RFC 7748). Secret keys are 32 random bytes, clamped by the primitive. */
export interface X25519Provider {
  /** New key pair from fresh randomness (RFC 7748). */
  generateKeyPair(): Promise<KeyPair>
  /** Public key of a 32-byte secret key. */
  publicKey(secretKey: Uint8Array): Promise<Uint8Array>
  /** Raw DH output; throws on an all-zero result (low-order point). */
  sharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>
  /**
   * Optional: a fresh key pair's public key and its DH with `publicKey`, the
   * secret key never leaving the provider (one-time keys: sealed envelopes).
   * Callers fall back to generateKeyPair + sharedSecret.
   */
  ephemeral?(publicKey: Uint8Array): Promise<{ publicKey: Uint8Array, sharedSecret: Uint8Array }>
}

/** Ed25519 (RFC 8032 §5.1) with 32-byte seeds as secret keys; strict verification (no ZIP-215). */
export interface Ed25519Provider {
  generateKeyPair(): Promise<KeyPair>
  publicKey(secretKey: Uint8Array): Promise<Uint8Array>
  sign(secretKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>
  /** False for any invalid signature or key; never throws on bad input. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>
}

/** AES-256-GCM (NIST SP 800-38D). */
export interface AeadProvider {
  /** AES-256-GCM: 32-byte key, 12-byte nonce; returns ciphertext || 16-byte tag. */
  encrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>
  /** Throws DecryptionError on any authentication failure. */
  decrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>
}

/** ML-KEM-768 (FIPS 203). */
export interface KemProvider {
  /** New key pair; from `seed` (64 bytes, `d || z`) when given, else fresh randomness. */
  generateKeyPair(seed?: Uint8Array): Promise<KemKeyPair>
  /** Throws InvalidKeyError for a malformed encapsulation key (FIPS 203 §7.2 input check). */
  encapsulate(publicKey: Uint8Array): Promise<KemEncapsulation>
  /**
   * `secretKey` is the 64-byte seed. Implicit rejection (FIPS 203 §6.3): a
   * well-formed but wrong ciphertext yields a pseudo-random secret; a
   * ciphertext of the wrong length throws DecryptionError.
   */
  decapsulate(secretKey: Uint8Array, cipherText: Uint8Array): Promise<Uint8Array>
}

/** Synchronous on purpose: see the file comment. */
export interface HashProvider {
  sha256(data: Uint8Array): Uint8Array
  sha512(data: Uint8Array): Uint8Array
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array
  /** HKDF-SHA256 (RFC 5869); throws RangeError when `length` > 255 * 32. */
  hkdf(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array
}

/** One complete set of primitives. A provider may leave out what its platform lacks. */
export interface CryptoProvider {
  readonly name: string
  randomBytes(length: number): Uint8Array
  x25519?: X25519Provider
  ed25519?: Ed25519Provider
  aead?: AeadProvider
  kem?: KemProvider
  hash?: HashProvider
}
