/**
 * The `node:crypto` provider (OpenSSL 3.5 in Node 24): synchronous native
 * X25519 (RFC 7748), Ed25519 (RFC 8032), AES-256-GCM, SHA-2, HMAC, HKDF
 * (RFC 5869) and ML-KEM-768 (FIPS 203). `node/` passes it to `createCrypto`;
 * `src/` never imports it. Results are returned as plain `Uint8Array` views
 * (not `Buffer`) so that callers see the same type from every provider.
 *
 * Keys cross the boundary as raw bytes (32-byte seeds, 64-byte ML-KEM seeds)
 * and are imported with Node's `raw-private` / `raw-public` / `raw-seed`
 * formats. Importing costs more than the operation (measured here: X25519
 * private import 70 µs, public import 30 µs, the DH itself 43 µs), and the
 * ratchet uses each key two or three times, so imported X25519 and Ed25519
 * keys are remembered per array in a WeakMap together with a copy of the
 * bytes: a hit requires the bytes to be unchanged, so a caller that
 * overwrites an array never gets a stale key.
 */
import {
  createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, createSecretKey,
  decapsulate, diffieHellman, encapsulate, generateKeyPairSync, hkdfSync, KeyObject, randomFillSync, sign, verify, webcrypto
} from 'node:crypto'
import { DecryptionError, InvalidKeyError } from '../../src/crypto/errors.js'
import {
  bytesEqual, checkLength, isAllZero, KEM_CIPHERTEXT_LENGTH, KEM_PUBLIC_KEY_LENGTH, KEM_SEED_LENGTH
} from '../../src/crypto/bytes.js'
import type { CryptoProvider } from '../../src/crypto/provider.js'
import { createCrypto } from '../../src/crypto/index.js'
import type { Crypto } from '../../src/crypto/index.js'

const EMPTY = new Uint8Array(0)
const TAG_LENGTH = 16

function view (buf: Buffer | ArrayBuffer): Uint8Array {
  return buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

/** A Buffer view of the same memory (no copy), for APIs typed on Buffer. */
function nb (bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Random bytes drawn from the operating system at a time for short requests. */
const RANDOM_POOL_BYTES = 4096
/** Requests up to this long are served from the pool. */
const RANDOM_POOLED_MAX = 64
let randomPool = new Uint8Array(0)
let randomAt = 0

/**
 * Fresh random bytes in their own array. Short requests (ids, nonces: three
 * or more per message) are cut from a pool filled 4 KiB at a time: each
 * randomFillSync costs ~6 µs however little it fills (OpenSSL checks the
 * process id on every call). Pool bytes are handed out once and copied, so
 * no two callers share bytes or an underlying buffer.
 */
function random (length: number): Uint8Array {
  if (length > RANDOM_POOLED_MAX) return randomFillSync(new Uint8Array(length))
  if (randomAt + length > randomPool.length) {
    randomPool = randomFillSync(new Uint8Array(RANDOM_POOL_BYTES))
    randomAt = 0
  }
  const out = randomPool.slice(randomAt, randomAt + length)
  randomPool.fill(0, randomAt, randomAt + length)
  randomAt += length
  return out
}

/**
 * A symmetric key as a KeyObject. Handing node:crypto a KeyObject made by
 * createSecretKey (about 1 µs) is much cheaper than handing it the raw
 * bytes: with raw bytes, createCipheriv and createHmac spend some 13 µs
 * checking what kind of key they were given (Node 24.21, measured here:
 * AES-256-GCM of 1,100 bytes 19.0 µs with bytes, 7.2 µs with a fresh
 * KeyObject; HMAC 18.2 vs 4.7 µs).
 */
function secret (key: Uint8Array): KeyObject {
  return createSecretKey(key)
}

type Curve = 'x25519' | 'ed25519'

/** Imported keys by array identity, with the bytes they were imported from. */
class KeyCache {
  private readonly entries = new WeakMap<Uint8Array, { bytes: Uint8Array, type: string, key: KeyObject }>()

  get (type: string, raw: Uint8Array, load: () => KeyObject): KeyObject {
    const key = this.peek(type, raw) ?? load()
    this.remember(type, raw, key)
    return key
  }

  peek (type: string, raw: Uint8Array): KeyObject | undefined {
    const hit = this.entries.get(raw)
    return hit != null && hit.type === type && bytesEqual(hit.bytes, raw) ? hit.key : undefined
  }

  remember (type: string, raw: Uint8Array, key: KeyObject): void {
    this.entries.set(raw, { bytes: raw.slice(), type, key })
  }
}

const privateKeys = new KeyCache()
const publicKeys = new KeyCache()

function privateKey (type: Curve, secretKey: Uint8Array): KeyObject {
  checkLength(secretKey, 32, `${type} secret key`)
  return privateKeys.get(type, secretKey, () => createPrivateKey({ key: nb(secretKey), format: 'raw-private', asymmetricKeyType: type }))
}

function kemPublicKey (publicKey: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: nb(publicKey), format: 'raw-public', asymmetricKeyType: 'ml-kem-768' })
  } catch (err) {
    throw new InvalidKeyError(`ML-KEM-768 public key: ${(err as Error).message}`)
  }
}

/**
 * An X25519 / Ed25519 public key as a KeyObject. Imported through WebCrypto
 * then KeyObject.from: measured ~20 µs (CPU) cheaper per import than
 * createPublicKey's 'raw-public' path (75-88 vs 52-73 µs for import + DH,
 * six interleaved runs of 4,000, 2026-11-22).
 */
async function curvePublicKey (type: Curve, publicKey: Uint8Array): Promise<KeyObject> {
  const cached = publicKeys.peek(type, publicKey)
  if (cached != null) return cached
  let key: KeyObject
  try {
    key = KeyObject.from(await webcrypto.subtle.importKey('raw', new Uint8Array(publicKey), { name: type === 'x25519' ? 'X25519' : 'Ed25519' }, true, []))
  } catch (err) {
    throw new InvalidKeyError(`${type} public key: ${(err as Error).message}`)
  }
  publicKeys.remember(type, publicKey, key)
  return key
}

/** A fresh key pair, generated natively (one scalar multiplication) and remembered. */
function generate (type: Curve): { secretKey: Uint8Array, publicKey: Uint8Array } {
  const pair = type === 'x25519' ? generateKeyPairSync('x25519') : generateKeyPairSync('ed25519')
  const secretKey = view(pair.privateKey.export({ format: 'raw-private' }))
  const publicKey = view(pair.publicKey.export({ format: 'raw-public' }))
  privateKeys.remember(type, secretKey, pair.privateKey)
  publicKeys.remember(type, publicKey, pair.publicKey)
  return { secretKey, publicKey }
}

function rawPublic (key: KeyObject): Uint8Array {
  return view(createPublicKey(key).export({ format: 'raw-public' }))
}

function kemPrivateKey (seed: Uint8Array): KeyObject {
  checkLength(seed, KEM_SEED_LENGTH, 'ML-KEM-768 seed')
  return createPrivateKey({ key: nb(seed), format: 'raw-seed', asymmetricKeyType: 'ml-kem-768' })
}

/** Creates the node:crypto provider, which implements every primitive. */
export function nodeProvider (): Required<CryptoProvider> {
  return {
    name: 'node',
    randomBytes: random,
    x25519: {
      async generateKeyPair () { return generate('x25519') },
      async publicKey (secretKey) { return rawPublic(privateKey('x25519', secretKey)) },
      async sharedSecret (secretKey, publicKey) {
        const priv = privateKey('x25519', secretKey)
        checkLength(publicKey, 32, 'x25519 public key')
        const pub = await curvePublicKey('x25519', publicKey)
        let shared: Uint8Array
        try {
          shared = view(diffieHellman({ privateKey: priv, publicKey: pub }))
        } catch (err) {
          // OpenSSL refuses an all-zero result itself (RFC 7748 §6.1).
          throw new InvalidKeyError(`x25519: ${(err as Error).message}`)
        }
        if (isAllZero(shared)) throw new InvalidKeyError('x25519 shared secret is zero (low-order point)')
        return shared
      },
      async ephemeral (publicKey) {
        checkLength(publicKey, 32, 'x25519 public key')
        const pub = await curvePublicKey('x25519', publicKey)
        const pair = generateKeyPairSync('x25519')
        let shared: Uint8Array
        try {
          shared = view(diffieHellman({ privateKey: pair.privateKey, publicKey: pub }))
        } catch (err) {
          throw new InvalidKeyError(`x25519: ${(err as Error).message}`)
        }
        if (isAllZero(shared)) throw new InvalidKeyError('x25519 shared secret is zero (low-order point)')
        return { publicKey: view(pair.publicKey.export({ format: 'raw-public' })), sharedSecret: shared }
      }
    },
    ed25519: {
      async generateKeyPair () { return generate('ed25519') },
      async publicKey (secretKey) { return rawPublic(privateKey('ed25519', secretKey)) },
      async sign (secretKey, message) { return view(sign(null, message, privateKey('ed25519', secretKey))) },
      async verify (publicKey, message, signature) {
        if (publicKey.length !== 32 || signature.length !== 64) return false
        try {
          return verify(null, message, await curvePublicKey('ed25519', publicKey), signature)
        } catch {
          return false
        }
      }
    },
    aead: {
      async encrypt (key, nonce, plaintext, aad) {
        checkLength(key, 32, 'AES-256-GCM key')
        checkLength(nonce, 12, 'AES-GCM nonce')
        const cipher = createCipheriv('aes-256-gcm', secret(key), nonce, { authTagLength: TAG_LENGTH })
        if (aad != null) cipher.setAAD(aad)
        const out = new Uint8Array(plaintext.length + TAG_LENGTH)
        const body = cipher.update(plaintext)
        out.set(body, 0)
        const rest = cipher.final()
        out.set(rest, body.length)
        out.set(cipher.getAuthTag(), plaintext.length)
        return out
      },
      async decrypt (key, nonce, ciphertext, aad) {
        checkLength(key, 32, 'AES-256-GCM key')
        checkLength(nonce, 12, 'AES-GCM nonce')
        if (ciphertext.length < TAG_LENGTH) throw new DecryptionError('AEAD ciphertext shorter than the tag')
        const split = ciphertext.length - TAG_LENGTH
        const decipher = createDecipheriv('aes-256-gcm', secret(key), nonce, { authTagLength: TAG_LENGTH })
        decipher.setAuthTag(ciphertext.subarray(split))
        if (aad != null) decipher.setAAD(aad)
        const out = new Uint8Array(split)
        const body = decipher.update(ciphertext.subarray(0, split))
        out.set(body, 0)
        try {
          out.set(decipher.final(), body.length)
        } catch {
          throw new DecryptionError('AEAD authentication failed')
        }
        return out
      }
    },
    kem: {
      async generateKeyPair (seed) {
        const s = seed ?? random(KEM_SEED_LENGTH)
        return { secretKey: s.slice(), publicKey: rawPublic(kemPrivateKey(s)) }
      },
      async encapsulate (publicKey) {
        checkLength(publicKey, KEM_PUBLIC_KEY_LENGTH, 'ML-KEM-768 public key')
        const { sharedKey, ciphertext } = encapsulate(kemPublicKey(publicKey))
        return { cipherText: view(ciphertext), sharedSecret: view(sharedKey) }
      },
      async decapsulate (secretKey, cipherText) {
        const priv = kemPrivateKey(secretKey)
        if (cipherText.length !== KEM_CIPHERTEXT_LENGTH) throw new DecryptionError(`ML-KEM-768 ciphertext must be ${KEM_CIPHERTEXT_LENGTH} bytes`)
        return view(decapsulate(priv, cipherText))
      }
    },
    hash: {
      sha256: (data) => view(createHash('sha256').update(data).digest()),
      sha512: (data) => view(createHash('sha512').update(data).digest()),
      hmacSha256: (key, data) => view(createHmac('sha256', secret(key)).update(data).digest()),
      hkdf: (ikm, salt, info, length) => {
        if (length > 255 * 32) throw new RangeError('HKDF-SHA256 output is at most 8160 bytes')
        return view(hkdfSync('sha256', secret(ikm), salt ?? EMPTY, info, length))
      }
    }
  }
}

/**
 * The facade a Node process should use: node:crypto for what it does best,
 * noble for small symmetric steps (createCrypto's measured preference).
 */
export function createNodeCrypto (): Crypto {
  return createCrypto([nodeProvider()])
}
