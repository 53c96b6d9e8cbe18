/**
 * Wycheproof (C2SP/wycheproof, testvectors_v1/) through the facade, on every
 * provider: one test per vector group, built from the JSON files present in
 * test/fixtures/wycheproof/. Those files are NOT committed: copy
 * x25519_test.json, ed25519_test.json, aes_gcm_test.json,
 * hkdf_sha256_test.json and mlkem_768_test.json from a checkout of
 * C2SP/wycheproof into that directory to run this suite. With none present,
 * it registers no tests and says so.
 *
 * Results: "valid" must succeed with the expected output, "invalid" must be
 * rejected, "acceptable" may go either way but, if accepted, must give the
 * expected output (e.g. X25519 twist points are accepted, low-order points
 * rejected).
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { fromHex, toHex } from '../../../src/crypto/bytes.js'
import type { Crypto } from '../../../src/crypto/index.js'
import { providerCases } from './providers.js'

const DIR = new URL('../../fixtures/wycheproof/', import.meta.url)

interface Vector { tcId: number, result: 'valid' | 'invalid' | 'acceptable', flags: string[], comment?: string, [k: string]: unknown }
interface Group { tests: Vector[], [k: string]: unknown }
interface VectorFile { algorithm?: string, testGroups: Group[] }

/** Checks one vector; returns true when the implementation accepted it. */
type Check = (crypto: Crypto, group: Group, v: Vector) => Promise<boolean>

const h = (v: unknown): Uint8Array => fromHex(v as string)

/** Runs `fn`; true if it completed, false if it threw. */
async function accepted (fn: () => Promise<void> | void): Promise<boolean> {
  try {
    await fn()
    return true
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err
    return false
  }
}

const x25519: Check = async (crypto, _g, v) => accepted(async () => {
  const shared = await crypto.x25519.sharedSecret(h(v.private), h(v.public))
  assert.equal(toHex(shared), v.shared, `tcId ${v.tcId}`)
})

const ed25519: Check = async (crypto, g, v) => {
  const pk = h((g.publicKey as { pk: string }).pk)
  return await crypto.ed25519.verify(pk, h(v.msg), h(v.sig))
}

const aesGcm: Check = async (crypto, _g, v) => {
  const [key, iv, aad, msg] = [h(v.key), h(v.iv), h(v.aad), h(v.msg)]
  const sealed = fromHex(`${v.ct as string}${v.tag as string}`)
  if (v.result === 'valid') {
    assert.equal(toHex(await crypto.aead.encrypt(key, iv, msg, aad)), toHex(sealed), `tcId ${v.tcId}`)
  }
  return accepted(async () => {
    assert.equal(toHex(await crypto.aead.decrypt(key, iv, sealed, aad)), v.msg, `tcId ${v.tcId}`)
  })
}

const hkdf: Check = async (crypto, _g, v) => accepted(() => {
  assert.equal(toHex(crypto.hash.hkdf(h(v.ikm), h(v.salt), h(v.info), v.size as number)), v.okm, `tcId ${v.tcId}`)
})

const mlkem: Check = async (crypto, _g, v) => accepted(async () => {
  const seed = h(v.seed)
  const { publicKey } = await crypto.kem.generateKeyPair(seed)
  if (typeof v.ek === 'string') assert.equal(toHex(publicKey), v.ek, `tcId ${v.tcId}`)
  assert.equal(toHex(await crypto.kem.decapsulate(seed, h(v.c))), v.K, `tcId ${v.tcId}`)
})

interface Suite {
  file: string
  check: Check
  /** Groups outside what the facade offers (e.g. AES-128, 64-bit IVs). */
  inScope?: (g: Group) => boolean
}

const SUITES: Suite[] = [
  { file: 'x25519_test.json', check: x25519 },
  { file: 'ed25519_test.json', check: ed25519 },
  {
    file: 'aes_gcm_test.json',
    check: aesGcm,
    // The facade is AES-256-GCM with a 96-bit nonce and a 128-bit tag.
    inScope: g => g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128
  },
  { file: 'hkdf_sha256_test.json', check: hkdf },
  { file: 'mlkem_768_test.json', check: mlkem }
]

/** Pass counts per file and provider, printed after the suite. */
const counts = new Map<string, { vectors: number, valid: number, invalid: number, acceptableAccepted: number, acceptableRejected: number, groups: number }>()

describe('Wycheproof', () => {
  const present = SUITES.filter(s => existsSync(new URL(s.file, DIR)))
  if (present.length === 0) {
    console.log('    (no Wycheproof files in test/fixtures/wycheproof/: none run)')
  }

  after(() => {
    for (const [key, c] of counts) console.log(`    ${key}: ${JSON.stringify(c)}`)
  })

  for (const suite of present) {
    const data = JSON.parse(readFileSync(new URL(suite.file, DIR), 'utf8')) as VectorFile
    const groups = data.testGroups.filter(g => suite.inScope?.(g) ?? true)
    for (const { name, crypto } of providerCases) {
      describe(`${suite.file} (${name})`, () => {
        groups.forEach((group, index) => {
          it(`group ${index + 1} of ${groups.length}: ${group.tests.length} vectors`, async () => {
            const key = `${suite.file} ${name}`
            const c = counts.get(key) ?? { vectors: 0, valid: 0, invalid: 0, acceptableAccepted: 0, acceptableRejected: 0, groups: 0 }
            counts.set(key, c)
            for (const v of group.tests) {
              const ok = await suite.check(crypto, group, v)
              if (v.result === 'valid') {
                assert.equal(ok, true, `tcId ${v.tcId} (${v.comment ?? ''}) is valid but was rejected`)
                c.valid++
              } else if (v.result === 'invalid') {
                assert.equal(ok, false, `tcId ${v.tcId} (${v.comment ?? ''}) is invalid but was accepted`)
                c.invalid++
              } else if (ok) {
                c.acceptableAccepted++
              } else {
                c.acceptableRejected++
              }
              c.vectors++
            }
            c.groups++
          })
        })
      })
    }
  }
})
