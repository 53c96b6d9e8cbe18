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

/** An ML-KEM-768 key pair (FIPS 203): 2400-byte decapsulation key, 1184-byte encapsulation key. */
export interface KemKeyPair {
  secretKey: Uint8Array
  publicKey: Uint8Array
}

/** Result of ML-KEM encapsulation: 1088-byte ciphertext and 32-byte shared secret. */
export interface KemEncapsulation {
  cipherText: Uint8Array
  sharedSecret: Uint8Array
}

export interface X25519Provider {
  /** New key pair from fresh randomness (RFC 7748). */
  generateKeyPair(): Promise<KeyPair>
  /** Public key of a 32-byte secret key. */
  publicKey(secretKey: Uint8Array): Promise<Uint8Array>
  /** Raw DH output; throws on an all-zero result (low-order point). */
  sharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>
}

export interface Ed25519Provider {
  generateKeyPair(): Promise<KeyPair>
  publicKey(secretKey: Uint8Array): Promise<Uint8Array>
  sign(secretKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>
  /** False for any invalid signature or key; never throws on bad input. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>
}

export interface AeadProvider {
  /** AES-256-GCM: 32-byte key, 12-byte nonce; returns ciphertext || 16-byte tag. */
  encrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>
  /** Throws DecryptionError on any authentication failure. */
  decrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>
}

export interface KemProvider {
  generateKeyPair(): Promise<KemKeyPair>
  encapsulate(publicKey: Uint8Array): Promise<KemEncapsulation>
  decapsulate(secretKey: Uint8Array, cipherText: Uint8Array): Promise<Uint8Array>
}

export interface HashProvider {
  sha256(data: Uint8Array): Uint8Array
  sha512(data: Uint8Array): Uint8Array
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array
  /** HKDF-SHA256 (RFC 5869). */
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
