/**
 * A memory-hard passphrase KDF for keys at rest: scrypt (RFC 7914) from
 * `@noble/hashes`, async so a browser tab stays responsive while it runs.
 *
 * Defaults N = 2^17, r = 8, p = 1 use 128 MiB and took ~0.7 s with noble on
 * Node 24 here (the OWASP password storage cheat sheet's first scrypt choice
 * is N = 2^17, r = 8, p = 1). The parameters travel with what they protect,
 * so they can be raised later without breaking old files.
 *
 * Passphrases are NFKC-normalised first, so the same passphrase typed on two
 * keyboards or platforms derives the same key.
 */
import { scryptAsync } from '@noble/hashes/scrypt.js'

/** scrypt cost parameters: N = 2^logN, block size r, parallelism p. */
export interface ScryptParams {
  logN: number
  r: number
  p: number
}

/** Default cost: 128 MiB, ~0.7 s with noble. */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ logN: 17, r: 8, p: 1 })

/** Most memory a parameter set may ask for (128 * r * N bytes): 1 GiB. */
export const MAX_SCRYPT_MEMORY = 1024 ** 3
/** Largest accepted logN, r and p (bounds on work a stored file can demand). */
export const MAX_SCRYPT_LOG_N = 22
export const MAX_SCRYPT_R = 32
export const MAX_SCRYPT_P = 16
/** Shortest salt accepted. */
export const MIN_SALT_LENGTH = 16

/**
 * Checks scrypt parameters, e.g. ones read from a file, against the bounds above.
 *
 * @throws {RangeError}
 */
export function checkScryptParams (params: ScryptParams): void {
  const { logN, r, p } = params
  if (!Number.isInteger(logN) || logN < 1 || logN > MAX_SCRYPT_LOG_N) throw new RangeError(`scrypt logN must be 1..${MAX_SCRYPT_LOG_N}, got ${logN}`)
  if (!Number.isInteger(r) || r < 1 || r > MAX_SCRYPT_R) throw new RangeError(`scrypt r must be 1..${MAX_SCRYPT_R}, got ${r}`)
  if (!Number.isInteger(p) || p < 1 || p > MAX_SCRYPT_P) throw new RangeError(`scrypt p must be 1..${MAX_SCRYPT_P}, got ${p}`)
  if (128 * r * 2 ** logN > MAX_SCRYPT_MEMORY) throw new RangeError(`scrypt N=2^${logN}, r=${r} needs more than ${MAX_SCRYPT_MEMORY} bytes`)
}

/**
 * Derives `length` bytes from a passphrase with scrypt.
 *
 * @throws {RangeError} on out-of-bounds parameters, a short salt or an empty passphrase
 */
export async function derivePasswordKey (passphrase: string, salt: Uint8Array, params: ScryptParams = DEFAULT_SCRYPT_PARAMS, length = 32): Promise<Uint8Array> {
  checkScryptParams(params)
  if (passphrase.length === 0) throw new RangeError('the passphrase is empty')
  if (salt.length < MIN_SALT_LENGTH) throw new RangeError(`the salt must be at least ${MIN_SALT_LENGTH} bytes`)
  const password = new TextEncoder().encode(passphrase.normalize('NFKC'))
  try {
    return await scryptAsync(password, salt, {
      N: 2 ** params.logN,
      r: params.r,
      p: params.p,
      dkLen: length,
      maxmem: MAX_SCRYPT_MEMORY + 1024 * 1024
    })
  } finally {
    password.fill(0)
  }
}
