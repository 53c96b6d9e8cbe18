/**
 * The providers every crypto test runs against, each alone behind the facade
 * (preference 'as-given': noble fills only what the provider lacks), plus the
 * set the daemon uses.
 */
import { createCrypto, nobleProvider, webCryptoProvider } from '../../../src/crypto/index.js'
import type { Crypto } from '../../../src/crypto/index.js'
import { nodeProvider } from '../../../node/crypto/node-provider.js'

export interface ProviderCase {
  name: string
  crypto: Crypto
}

const webcrypto = await webCryptoProvider()

/** noble, WebCrypto (what this platform has of it) and node:crypto, one at a time. */
export const providerCases: ProviderCase[] = [
  { name: 'noble', crypto: createCrypto([nobleProvider()], { preference: 'as-given' }) },
  { name: 'webcrypto', crypto: createCrypto([webcrypto], { preference: 'as-given' }) },
  { name: 'node', crypto: createCrypto([nodeProvider()], { preference: 'as-given' }) }
]

/** The daemon's set: node:crypto plus the rest, chosen by measured preference. */
export const daemonCrypto: Crypto = createCrypto([nodeProvider(), webcrypto])
