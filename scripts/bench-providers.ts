/**
 * Measures every primitive on every provider available here (noble,
 * WebCrypto, node:crypto) and prints JSON: microseconds per operation, one
 * operation at a time (as the ratchet uses them). The figures justify the
 * per-primitive preference order in src/crypto/index.ts.
 *
 * Run: node --import tsx scripts/bench-providers.ts
 */
import { nobleProvider } from '../src/crypto/noble.js'
import { webCryptoProvider } from '../src/crypto/webcrypto.js'
import { nodeProvider } from '../node/crypto/node-provider.js'
import type { CryptoProvider } from '../src/crypto/provider.js'

const MIN_MS = 300

async function time (fn: () => unknown): Promise<number> {
  for (let i = 0; i < 20; i++) await fn()
  let n = 0
  const start = performance.now()
  while (performance.now() - start < MIN_MS) {
    for (let i = 0; i < 10; i++) await fn()
    n += 10
  }
  return Math.round((performance.now() - start) * 1000 / n * 100) / 100
}

async function bench (p: CryptoProvider): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  const key = p.randomBytes(32)
  const nonce = p.randomBytes(12)
  const small = p.randomBytes(100)
  const kib = p.randomBytes(1024)
  if (p.x25519 != null) {
    const x = p.x25519
    const a = await x.generateKeyPair()
    const b = await x.generateKeyPair()
    out['x25519.generateKeyPair'] = await time(() => x.generateKeyPair())
    out['x25519.sharedSecret'] = await time(() => x.sharedSecret(a.secretKey, b.publicKey))
  }
  if (p.ed25519 != null) {
    const e = p.ed25519
    const a = await e.generateKeyPair()
    const sig = await e.sign(a.secretKey, small)
    out['ed25519.sign'] = await time(() => e.sign(a.secretKey, small))
    out['ed25519.verify'] = await time(() => e.verify(a.publicKey, small, sig))
  }
  if (p.aead != null) {
    const g = p.aead
    const ct = await g.encrypt(key, nonce, small)
    out['aead.encrypt 100 B'] = await time(() => g.encrypt(key, nonce, small))
    out['aead.decrypt 100 B'] = await time(() => g.decrypt(key, nonce, ct))
    out['aead.encrypt 40 B'] = await time(() => g.encrypt(key, nonce, small.subarray(0, 40)))
    out['aead.encrypt 300 B'] = await time(() => g.encrypt(key, nonce, kib.subarray(0, 300)))
    out['aead.encrypt 1 KiB'] = await time(() => g.encrypt(key, nonce, kib))
  }
  if (p.kem != null) {
    const k = p.kem
    const pair = await k.generateKeyPair()
    const { cipherText } = await k.encapsulate(pair.publicKey)
    out['kem.generateKeyPair'] = await time(() => k.generateKeyPair())
    out['kem.encapsulate'] = await time(() => k.encapsulate(pair.publicKey))
    out['kem.decapsulate'] = await time(() => k.decapsulate(pair.secretKey, cipherText))
  }
  if (p.hash != null) {
    const h = p.hash
    const one = new Uint8Array([1])
    out['hash.sha256 100 B'] = await time(() => h.sha256(small))
    out['hash.hmacSha256 1 B'] = await time(() => h.hmacSha256(key, one))
    out['hash.hkdf 32 B -> 64 B'] = await time(() => h.hkdf(key, key, small, 64))
  }
  return out
}

const providers = [nobleProvider(), await webCryptoProvider(), nodeProvider()]
const results: Record<string, Record<string, number>> = {}
for (const p of providers) results[p.name] = await bench(p)
const table: Record<string, Record<string, number>> = {}
for (const [provider, ops] of Object.entries(results)) {
  for (const [op, us] of Object.entries(ops)) (table[op] ??= {})[provider] = us
}
process.stdout.write(JSON.stringify({ unit: 'microseconds per operation', node: process.versions.node, results: table }, null, 2) + '\n')
