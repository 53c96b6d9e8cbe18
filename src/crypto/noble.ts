/**
 * The pure-JavaScript provider: `@noble/*`. Works on every platform, and is
 * the fastest choice measured for small synchronous steps (hash, HMAC, HKDF,
 * AES-GCM under 512 bytes); see MEASURED_PREFERENCE in index.ts.
 */
import { x25519, ed25519 } from '@noble/curves/ed25519.js'
import { gcm } from '@noble/ciphers/aes.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { hmac } from '@noble/hashes/hmac.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { DecryptionError, InvalidKeyError } from './errors.js'
import { checkLength, isAllZero, KEM_CIPHERTEXT_LENGTH, KEM_PUBLIC_KEY_LENGTH, KEM_SEED_LENGTH } from './bytes.js'
import type { CryptoProvider } from './provider.js'

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
      async publicKey (secretKey) {
        checkLength(secretKey, 32, 'x25519 secret key')
        return x25519.getPublicKey(secretKey)
      },
      async sharedSecret (secretKey, publicKey) {
        checkLength(secretKey, 32, 'x25519 secret key')
        checkLength(publicKey, 32, 'x25519 public key')
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
      async publicKey (secretKey) {
        checkLength(secretKey, 32, 'ed25519 secret key')
        return ed25519.getPublicKey(secretKey)
      },
      async sign (secretKey, message) {
        checkLength(secretKey, 32, 'ed25519 secret key')
        return ed25519.sign(message, secretKey)
      },
      async verify (publicKey, message, signature) {
        try {
          return ed25519.verify(signature, message, publicKey, { zip215: false })
        } catch {
          return false
        }
      }
    },
    aead: {
      async encrypt (key, nonce, plaintext, aad) {
        checkLength(key, 32, 'AES-256-GCM key')
        checkLength(nonce, 12, 'AES-GCM nonce')
        return gcm(key, nonce, aad).encrypt(plaintext)
      },
      async decrypt (key, nonce, ciphertext, aad) {
        checkLength(key, 32, 'AES-256-GCM key')
        checkLength(nonce, 12, 'AES-GCM nonce')
        try {
          return gcm(key, nonce, aad).decrypt(ciphertext)
        } catch {
          throw new DecryptionError('AEAD authentication failed')
        }
      }
    },
    kem: {
      async generateKeyPair (seed) {
        const s = seed ?? randomBytes(KEM_SEED_LENGTH)
        checkLength(s, KEM_SEED_LENGTH, 'ML-KEM-768 seed')
        return { secretKey: s.slice(), publicKey: ml_kem768.keygen(s).publicKey }
      },
      async encapsulate (publicKey) {
        checkLength(publicKey, KEM_PUBLIC_KEY_LENGTH, 'ML-KEM-768 public key')
        try {
          const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey)
          return { cipherText, sharedSecret }
        } catch (err) {
          throw new InvalidKeyError(`ML-KEM-768: ${(err as Error).message}`)
        }
      },
      async decapsulate (secretKey, cipherText) {
        checkLength(secretKey, KEM_SEED_LENGTH, 'ML-KEM-768 seed')
        if (cipherText.length !== KEM_CIPHERTEXT_LENGTH) throw new DecryptionError(`ML-KEM-768 ciphertext must be ${KEM_CIPHERTEXT_LENGTH} bytes`)
        return ml_kem768.decapsulate(cipherText, ml_kem768.keygen(secretKey).secretKey)
      }
    },
    hash: {
      sha256: (data) => sha256(data),
      sha512: (data) => sha512(data),
      hmacSha256: (key, data) => hmac(sha256, key, data),
      hkdf: (ikm, salt, info, length) => hkdf(sha256, ikm, salt, info, length)
    }
  }
}
