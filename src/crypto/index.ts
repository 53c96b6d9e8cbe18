/**
 * The crypto facade: one object with every primitive Starling uses, each
 * taken from the provider chosen for it. `src/` code receives a {@link Crypto}
 * and never imports a provider library directly.
 *
 * @example
 * ```ts
 * const crypto = createCrypto()                      // noble everywhere
 * const crypto = createCrypto([nodeProvider()])      // node/ passes a faster one in
 * ```
 */
import { nobleProvider } from './noble.js'
import type { CryptoProvider } from './provider.js'

export type { CryptoProvider, KeyPair, KemKeyPair, KemEncapsulation } from './provider.js'
export { DecryptionError, InvalidKeyError, InvalidSignatureError } from './errors.js'
export { nobleProvider } from './noble.js'

/** Every primitive present. */
export type Crypto = Required<CryptoProvider>

/**
 * Builds the facade: for each primitive, the first of `providers` that has
 * it, falling back to noble.
 */
export function createCrypto (providers: CryptoProvider[] = []): Crypto {
  const all = [...providers, nobleProvider()]
  const pick = <K extends keyof CryptoProvider>(key: K): NonNullable<CryptoProvider[K]> => {
    for (const p of all) {
      const v = p[key]
      if (v != null) return v as NonNullable<CryptoProvider[K]>
    }
    throw new Error(`no provider has ${String(key)}`)
  }
  return {
    name: all.map(p => p.name).join('+'),
    randomBytes: all[0].randomBytes,
    x25519: pick('x25519'),
    ed25519: pick('ed25519'),
    aead: pick('aead'),
    kem: pick('kem'),
    hash: pick('hash')
  }
}
