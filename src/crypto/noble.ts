/**
 * The pure-JavaScript provider: `@noble/*`. Works on every platform, and is
 * the fastest choice for small synchronous steps (hash, HMAC, HKDF).
 */
import { x25519, ed25519 } from '@noble/curves/ed25519.js'
import { gcm } from '@noble/ciphers/aes.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { DecryptionError, InvalidKeyError } from './errors.js'
import type { CryptoProvider } from './provider.js'

function isAllZero (bytes: Uint8Array): boolean {
  let acc = 0
  for (const b of bytes) acc |= b
  return acc === 0
}

/** Creates the noble provider, which implements every primitive. */
export function nobleProvider (): Required<CryptoProvider> {
  return {
    name: 'noble',
    randomBytes: (length) => randomBytes(length),
    x25519: {
      async generateKeyPair () {
        const secretKey = randomBytes(32)
        return { secretKey, publicKey: x25519.getPublicKey(secretKey) }
      },
      async publicKey (secretKey) { return x25519.getPublicKey(secretKey) },
      async sharedSecret (secretKey, publicKey) {
        if (publicKey.length !== 32) throw new InvalidKeyError('x25519 public key must be 32 bytes')
        let shared: Uint8Array
        try {
          shared = x25519.getSharedSecret(secretKey, publicKey)
        } catch (err) {
          throw new InvalidKeyError(`x25519: ${(err as Error).message}`)
        }
        if (isAllZero(shared)) throw new InvalidKeyError('x25519 shared secret is zero (low-order point)')
        return shared
      }
    },
    ed25519: {
      async generateKeyPair () {
        const secretKey = randomBytes(32)
        return { secretKey, publicKey: ed25519.getPublicKey(secretKey) }
      },
      async publicKey (secretKey) { return ed25519.getPublicKey(secretKey) },
      async sign (secretKey, message) { return ed25519.sign(message, secretKey) },
      async verify (publicKey, message, signature) {
        try {
          return ed25519.verify(signature, message, publicKey, { zip215: false })
        } catch {
          return false
        }
      }
    },
    aead: {
      async encrypt (key, nonce, plaintext, aad) { return gcm(key, nonce, aad).encrypt(plaintext) },
      async decrypt (key, nonce, ciphertext, aad) {
        try {
          return gcm(key, nonce, aad).decrypt(ciphertext)
        } catch {
          throw new DecryptionError('AEAD authentication failed')
        }
      }
    },
    kem: {
      async generateKeyPair () {
        const { secretKey, publicKey } = ml_kem768.keygen()
        return { secretKey, publicKey }
      },
      async encapsulate (publicKey) {
        const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey)
        return { cipherText, sharedSecret }
      },
      async decapsulate (secretKey, cipherText) { return ml_kem768.decapsulate(cipherText, secretKey) }
    },
    hash: {
      sha256: (data) => sha256(data),
      sha512: (data) => sha512(data),
      hmacSha256: (key, data) => hmac(sha256, key, data),
      hkdf: (ikm, salt, info, length) => hkdf(sha256, ikm, salt, info, length)
    }
  }
}
