/**
 * The WebCrypto provider (`globalThis.crypto.subtle`, W3C Web Cryptography
 * API plus the WICG "modern algorithms" draft for ML-KEM). Platforms differ:
 * Node 24 has X25519, Ed25519, AES-GCM and ML-KEM-768; Chromium has X25519,
 * Ed25519 and AES-GCM; older browsers only AES-GCM. {@link webCryptoProvider}
 * therefore tries each algorithm once, at creation, with a known answer, and
 * includes only the primitives that worked.
 *
 * Hashes, HMAC and HKDF are never taken from here: WebCrypto has them only
 * as async calls (~0.1 ms each), slower than noble's synchronous code for
 * the small per-message inputs Starling hashes (see scripts/bench-providers.ts).
 */
import { DecryptionError, InvalidKeyError } from './errors.js'
import {
  checkLength, fromHex, isAllZero, toHex, KEM_CIPHERTEXT_LENGTH, KEM_PUBLIC_KEY_LENGTH, KEM_SEED_LENGTH
} from './bytes.js'
import type { AeadProvider, CryptoProvider, Ed25519Provider, KemProvider, X25519Provider } from './provider.js'

type Curve = 'X25519' | 'Ed25519'

/** PKCS#8 (RFC 8410 §7) prefixes for a 32-byte X25519 / Ed25519 private key. */
const PKCS8_PREFIX: Record<Curve, Uint8Array> = {
  X25519: fromHex('302e020100300506032b656e04220420'),
  Ed25519: fromHex('302e020100300506032b657004220420')
}

/** Casts for DOM typings that predate ML-KEM and `raw-seed`/`raw-public`. */
type LooseSubtle = SubtleCrypto & {
  importKey(format: string, keyData: BufferSource, algorithm: AlgorithmIdentifier, extractable: boolean, usages: string[]): Promise<CryptoKey>
  exportKey(format: string, key: CryptoKey): Promise<ArrayBuffer>
  encapsulateBits(algorithm: AlgorithmIdentifier, key: CryptoKey): Promise<{ sharedKey: ArrayBuffer, ciphertext: ArrayBuffer }>
  decapsulateBits(algorithm: AlgorithmIdentifier, key: CryptoKey, ciphertext: BufferSource): Promise<ArrayBuffer>
}

function b64urlDecode (text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/')
  const bin = atob(b64 + '='.repeat((4 - b64.length % 4) % 4))
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

/** Copies into a fresh ArrayBuffer-backed array (what the DOM typings want). */
function buf (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes)
}

function importPrivate (subtle: LooseSubtle, curve: Curve, secretKey: Uint8Array, usages: string[]): Promise<CryptoKey> {
  checkLength(secretKey, 32, `${curve} secret key`)
  const der = new Uint8Array(PKCS8_PREFIX[curve].length + 32)
  der.set(PKCS8_PREFIX[curve], 0)
  der.set(secretKey, PKCS8_PREFIX[curve].length)
  return subtle.importKey('pkcs8', der, { name: curve }, true, usages)
}

async function publicOf (subtle: LooseSubtle, curve: Curve, secretKey: Uint8Array): Promise<Uint8Array> {
  const usages = curve === 'X25519' ? ['deriveBits'] : ['sign']
  const jwk = await subtle.exportKey('jwk', await importPrivate(subtle, curve, secretKey, usages)) as unknown as JsonWebKey
  if (jwk.x == null) throw new InvalidKeyError(`${curve}: platform did not export the public key`)
  return b64urlDecode(jwk.x)
}

function x25519 (subtle: LooseSubtle, random: (n: number) => Uint8Array): X25519Provider {
  return {
    async generateKeyPair () {
      const secretKey = random(32)
      return { secretKey, publicKey: await publicOf(subtle, 'X25519', secretKey) }
    },
    publicKey: async (secretKey) => await publicOf(subtle, 'X25519', secretKey),
    async sharedSecret (secretKey, publicKey) {
      const priv = await importPrivate(subtle, 'X25519', secretKey, ['deriveBits'])
      checkLength(publicKey, 32, 'x25519 public key')
      let shared: Uint8Array
      try {
        const pub = await subtle.importKey('raw', buf(publicKey), { name: 'X25519' }, true, [])
        shared = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: pub }, priv, 256))
      } catch (err) {
        throw new InvalidKeyError(`x25519: ${(err as Error).message}`)
      }
      if (isAllZero(shared)) throw new InvalidKeyError('x25519 shared secret is zero (low-order point)')
      return shared
    }
  }
}

function ed25519 (subtle: LooseSubtle, random: (n: number) => Uint8Array): Ed25519Provider {
  return {
    async generateKeyPair () {
      const secretKey = random(32)
      return { secretKey, publicKey: await publicOf(subtle, 'Ed25519', secretKey) }
    },
    publicKey: async (secretKey) => await publicOf(subtle, 'Ed25519', secretKey),
    async sign (secretKey, message) {
      const key = await importPrivate(subtle, 'Ed25519', secretKey, ['sign'])
      return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, key, buf(message)))
    },
    async verify (publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false
      try {
        const key = await subtle.importKey('raw', buf(publicKey), { name: 'Ed25519' }, true, ['verify'])
        return await subtle.verify({ name: 'Ed25519' }, key, buf(signature), buf(message))
      } catch {
        return false
      }
    }
  }
}

function aead (subtle: LooseSubtle): AeadProvider {
  const importAes = (key: Uint8Array, usage: 'encrypt' | 'decrypt'): Promise<CryptoKey> => {
    checkLength(key, 32, 'AES-256-GCM key')
    return subtle.importKey('raw', buf(key), { name: 'AES-GCM' }, false, [usage])
  }
  return {
    async encrypt (key, nonce, plaintext, aad) {
      const k = await importAes(key, 'encrypt')
      checkLength(nonce, 12, 'AES-GCM nonce')
      const params: AesGcmParams = { name: 'AES-GCM', iv: buf(nonce), tagLength: 128 }
      if (aad != null) params.additionalData = buf(aad)
      return new Uint8Array(await subtle.encrypt(params, k, buf(plaintext)))
    },
    async decrypt (key, nonce, ciphertext, aad) {
      const k = await importAes(key, 'decrypt')
      checkLength(nonce, 12, 'AES-GCM nonce')
      const params: AesGcmParams = { name: 'AES-GCM', iv: buf(nonce), tagLength: 128 }
      if (aad != null) params.additionalData = buf(aad)
      try {
        return new Uint8Array(await subtle.decrypt(params, k, buf(ciphertext)))
      } catch {
        throw new DecryptionError('AEAD authentication failed')
      }
    }
  }
}

function kem (subtle: LooseSubtle, random: (n: number) => Uint8Array): KemProvider {
  const alg = { name: 'ML-KEM-768' }
  const importSeed = (seed: Uint8Array): Promise<CryptoKey> => {
    checkLength(seed, KEM_SEED_LENGTH, 'ML-KEM-768 seed')
    return subtle.importKey('raw-seed', buf(seed), alg, true, ['decapsulateBits'])
  }
  return {
    async generateKeyPair (seed) {
      const s = seed ?? random(KEM_SEED_LENGTH)
      const priv = await importSeed(s)
      // A private ML-KEM key exports its public half only as the JWK `pub`
      // member ('raw-public' applies to public keys).
      const jwk = await subtle.exportKey('jwk', priv) as unknown as { pub?: string }
      if (jwk.pub == null) throw new InvalidKeyError('ML-KEM-768: platform did not export the public key')
      return { secretKey: s.slice(), publicKey: b64urlDecode(jwk.pub) }
    },
    async encapsulate (publicKey) {
      checkLength(publicKey, KEM_PUBLIC_KEY_LENGTH, 'ML-KEM-768 public key')
      let pub: CryptoKey
      try {
        pub = await subtle.importKey('raw-public', buf(publicKey), alg, true, ['encapsulateBits'])
      } catch (err) {
        throw new InvalidKeyError(`ML-KEM-768 public key: ${(err as Error).message}`)
      }
      const { sharedKey, ciphertext } = await subtle.encapsulateBits(alg, pub)
      return { cipherText: new Uint8Array(ciphertext), sharedSecret: new Uint8Array(sharedKey) }
    },
    async decapsulate (secretKey, cipherText) {
      const priv = await importSeed(secretKey)
      if (cipherText.length !== KEM_CIPHERTEXT_LENGTH) throw new DecryptionError(`ML-KEM-768 ciphertext must be ${KEM_CIPHERTEXT_LENGTH} bytes`)
      return new Uint8Array(await subtle.decapsulateBits(alg, priv, buf(cipherText)))
    }
  }
}

/** True when `probe` resolves to true; any rejection means "not supported". */
async function works (probe: () => Promise<boolean>): Promise<boolean> {
  try {
    return await probe()
  } catch {
    return false
  }
}

/**
 * Creates the WebCrypto provider with only the algorithms this platform
 * supports (each checked with a known answer: RFC 7748 §6.1, RFC 8032 §7.1
 * test 1, a round trip for AES-GCM and ML-KEM).
 */
export async function webCryptoProvider (subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle): Promise<CryptoProvider> {
  const random = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n))
  const provider: CryptoProvider = { name: 'webcrypto', randomBytes: random }
  if (subtle == null) return provider
  const s = subtle as LooseSubtle

  const x = x25519(s, random)
  const alice = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
  const bobPublic = fromHex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
  const expected = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
  if (await works(async () => toHex(await x.sharedSecret(alice, bobPublic)) === expected)) provider.x25519 = x

  const e = ed25519(s, random)
  const edSeed = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
  const edPublic = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
  if (await works(async () => {
    const sig = await e.sign(edSeed, new Uint8Array(0))
    return toHex(await e.publicKey(edSeed)) === edPublic && await e.verify(fromHex(edPublic), new Uint8Array(0), sig)
  })) provider.ed25519 = e

  const a = aead(s)
  if (await works(async () => {
    const key = new Uint8Array(32)
    const nonce = new Uint8Array(12)
    const ct = await a.encrypt(key, nonce, new Uint8Array(1))
    return ct.length === 17 && (await a.decrypt(key, nonce, ct)).length === 1
  })) provider.aead = a

  const k = kem(s, random)
  if (await works(async () => {
    const pair = await k.generateKeyPair(new Uint8Array(KEM_SEED_LENGTH))
    const { cipherText, sharedSecret } = await k.encapsulate(pair.publicKey)
    return toHex(await k.decapsulate(pair.secretKey, cipherText)) === toHex(sharedSecret)
  })) provider.kem = k

  return provider
}
