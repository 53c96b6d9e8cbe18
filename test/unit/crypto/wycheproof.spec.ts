/**
 * Wycheproof (C2SP/wycheproof, testvectors_v1/) through the facade, on every
 * provider (noble, WebCrypto, node:crypto; see providers.ts), one test per
 * vector group.
 *
 * The files are Apache-2.0 data that is not copied into this repository: the
 * suite reads them from the directory named by STARLING_WYCHEPROOF_DIR
 * (`.ci/run` points it at ../shared/fixtures/wycheproof). Without the
 * variable, it runs nothing and prints one line saying so. With it, each of
 * the six files below must be there: a missing file fails the suite, so the
 * vectors can never pass silently by not running.
 *
 * Results: "valid" must succeed with the expected output, "invalid" must be
 * rejected, "acceptable" may go either way but, if accepted, must give the
 * expected output (e.g. X25519 twist points are accepted, low-order points
 * rejected).
 *
 * What is in scope: every vector of a primitive the facade offers, in the
 * form it offers it. Excluded, by the rule written beside each file below:
 * AES-GCM with a key other than 256 bits, a nonce other than 96 bits or a
 * tag other than 128 bits (the facade is AES-256-GCM with 12-byte nonces and
 * 16-byte tags only), and HMAC-SHA256 tags truncated below 256 bits (the
 * facade computes full 32-byte tags; Starling never truncates one).
 * WebCrypto has no synchronous hash, so its case computes HMAC and HKDF with
 * noble, as the facade does on that platform.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fromHex, toHex } from '../../../src/crypto/bytes.js'
import type { Crypto } from '../../../src/crypto/index.js'
import { providerCases } from './providers.js'

/** The environment variable naming the directory of the Wycheproof files. */
const DIR_VARIABLE = 'STARLING_WYCHEPROOF_DIR'

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

/** A MAC check as a verifier does it: the computed tag must equal the given one (a modified tag is refused). */
const hmac: Check = async (crypto, _g, v) => toHex(crypto.hash.hmacSha256(h(v.key), h(v.msg))) === v.tag

const mlkem: Check = async (crypto, _g, v) => accepted(async () => {
  const seed = h(v.seed)
  const { publicKey } = await crypto.kem.generateKeyPair(seed)
  if (typeof v.ek === 'string') assert.equal(toHex(publicKey), v.ek, `tcId ${v.tcId}`)
  assert.equal(toHex(await crypto.kem.decapsulate(seed, h(v.c))), v.K, `tcId ${v.tcId}`)
})

interface Suite {
  file: string
  check: Check
  /** Groups the facade offers; the rest are excluded (see the file comment). */
  inScope?: (g: Group) => boolean
  /** The exclusion rule in words, printed with the counts. */
  rule?: string
}

const SUITES: Suite[] = [
  { file: 'x25519_test.json', check: x25519 },
  { file: 'ed25519_test.json', check: ed25519 },
  {
    file: 'aes_gcm_test.json',
    check: aesGcm,
    inScope: g => g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128,
    rule: 'the facade is AES-256-GCM with a 96-bit nonce and a 128-bit tag: other key, nonce and tag sizes excluded'
  },
  { file: 'hkdf_sha256_test.json', check: hkdf },
  {
    file: 'hmac_sha256_test.json',
    check: hmac,
    inScope: g => g.tagSize === 256,
    rule: 'the facade computes full 256-bit HMAC-SHA256 tags: truncated tags excluded'
  },
  { file: 'mlkem_768_test.json', check: mlkem }
]

interface Counts { valid: number, invalid: number, acceptableAccepted: number, acceptableRejected: number }

const dir = process.env[DIR_VARIABLE]

describe('Wycheproof', () => {
  if (dir == null || dir === '') {
    console.log(`    Wycheproof vectors not run: ${DIR_VARIABLE} is not set (.ci/run sets it to ../shared/fixtures/wycheproof)`)
    return
  }

  const missing = SUITES.map(s => s.file).filter(f => !existsSync(join(dir, f)))
  it(`finds all ${SUITES.length} vector files in ${DIR_VARIABLE}=${dir}`, () => {
    assert.deepEqual(missing, [], `missing from ${dir}: ${missing.join(', ')}`)
  })

  for (const suite of SUITES.filter(s => !missing.includes(s.file))) {
    const data = JSON.parse(readFileSync(join(dir, suite.file), 'utf8')) as VectorFile
    const groups = data.testGroups.filter(g => suite.inScope?.(g) ?? true)
    const total = data.testGroups.reduce((n, g) => n + g.tests.length, 0)
    const inScope = groups.reduce((n, g) => n + g.tests.length, 0)
    const counts = new Map<string, Counts>()

    describe(suite.file, () => {
      after(() => {
        const per = [...counts].map(([name, c]) =>
          `${name} ${c.valid} valid + ${c.invalid} invalid + ${c.acceptableAccepted}/${c.acceptableRejected} acceptable accepted/rejected`)
        console.log(`    ${suite.file}: ${total} vectors, ${inScope} run on each provider, ${total - inScope} excluded` +
          `${suite.rule != null ? ` (${suite.rule})` : ''}\n      ${per.join('\n      ')}`)
      })

      for (const { name, crypto } of providerCases) {
        const c: Counts = { valid: 0, invalid: 0, acceptableAccepted: 0, acceptableRejected: 0 }
        counts.set(name, c)
        describe(name, () => {
          groups.forEach((group, index) => {
            it(`group ${index + 1} of ${groups.length}: ${group.tests.length} vectors`, async () => {
              for (const v of group.tests) {
                const ok = await suite.check(crypto, group, v)
                const what = `tcId ${v.tcId} (${v.comment ?? ''}; ${v.flags.join(', ')})`
                if (v.result === 'valid') {
                  assert.equal(ok, true, `${what} is valid but was rejected`)
                  c.valid++
                } else if (v.result === 'invalid') {
                  assert.equal(ok, false, `${what} is invalid but was accepted`)
                  c.invalid++
                } else if (ok) {
                  c.acceptableAccepted++
                } else {
                  c.acceptableRejected++
                }
              }
            })
          })

          it('ran every in-scope vector', () => {
            const ran = c.valid + c.invalid + c.acceptableAccepted + c.acceptableRejected
            assert.ok(inScope > 0, `no vector of ${suite.file} is in scope`)
            assert.equal(ran, inScope)
          })
        })
      }
    })
  }
})
