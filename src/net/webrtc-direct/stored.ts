/**
 * The relay's WebRTC-direct certificates as stored (in its data directory
 * on Node, through {@link CertificateStorage}): JSON, version 1,
 *
 *   { "version": 1,
 *     "current": { "pem", "privateKey", "notBefore", "notAfter" },
 *     "next":    { "pem", "privateKey", "notBefore", "notAfter" } }
 *
 * with times in ms since the epoch. The certhash is not stored: it is
 * computed again from the certificate on reading, so what is announced is
 * always the hash of what is served.
 */
import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'
import { certhashOfPem } from './certificate.js'
import type { WebRTCDirectCertificate } from './certificate.js'
import { CERTIFICATE_FILE_MAX_BYTES } from './constants.js'
import { WebRTCDirectCertificateError } from './errors.js'

/** Where the certificates are kept (a file in the relay's data directory on Node). */
export interface CertificateStorage {
  /** The stored bytes, or undefined when nothing was stored yet. */
  load(): Promise<Uint8Array | undefined>
  /** Replaces what is stored, durably (written before it is used), readable by the operator alone. */
  save(data: Uint8Array): Promise<void>
}

/** The certificate served and the one announced beside it. */
export interface CertificatePair {
  current: WebRTCDirectCertificate
  next: WebRTCDirectCertificate
}

const VERSION = 1

/** Serialises a pair for {@link CertificateStorage.save}. */
export function encodeCertificates (pair: CertificatePair): Uint8Array {
  const entry = (c: WebRTCDirectCertificate): Record<string, unknown> => ({ pem: c.pem, privateKey: c.privateKey, notBefore: c.notBefore, notAfter: c.notAfter })
  return fromString(JSON.stringify({ version: VERSION, current: entry(pair.current), next: entry(pair.next) }, null, 2), 'utf8')
}

/** Reads what {@link encodeCertificates} wrote; throws WebRTCDirectCertificateError naming what is wrong. */
export async function decodeCertificates (data: Uint8Array): Promise<CertificatePair> {
  if (data.byteLength > CERTIFICATE_FILE_MAX_BYTES) throw new WebRTCDirectCertificateError(`stored certificates: ${data.byteLength} bytes, more than ${CERTIFICATE_FILE_MAX_BYTES}`)
  let parsed: unknown
  try {
    parsed = JSON.parse(toString(data, 'utf8'))
  } catch {
    throw new WebRTCDirectCertificateError('stored certificates: not JSON')
  }
  if (!isRecord(parsed)) throw new WebRTCDirectCertificateError('stored certificates: not an object')
  if (parsed.version !== VERSION) throw new WebRTCDirectCertificateError(`stored certificates: version ${String(parsed.version)}, expected ${VERSION}`)
  return { current: await decodeEntry('current', parsed.current), next: await decodeEntry('next', parsed.next) }
}

async function decodeEntry (which: string, value: unknown): Promise<WebRTCDirectCertificate> {
  if (!isRecord(value)) throw new WebRTCDirectCertificateError(`stored certificates: "${which}" is missing`)
  const { pem, privateKey, notBefore, notAfter } = value
  if (typeof pem !== 'string' || typeof privateKey !== 'string') throw new WebRTCDirectCertificateError(`stored certificates: "${which}" lacks its PEM certificate or key`)
  if (!privateKey.startsWith('-----BEGIN PRIVATE KEY-----')) throw new WebRTCDirectCertificateError(`stored certificates: "${which}" key is not a PKCS #8 PEM`)
  if (!Number.isSafeInteger(notBefore) || !Number.isSafeInteger(notAfter) || (notAfter as number) <= (notBefore as number)) {
    throw new WebRTCDirectCertificateError(`stored certificates: "${which}" has no valid validity period`)
  }
  let certhash: string
  try {
    certhash = await certhashOfPem(pem)
  } catch (err) {
    throw new WebRTCDirectCertificateError(`stored certificates: "${which}": ${(err as Error).message}`)
  }
  return { pem, privateKey, certhash, notBefore: notBefore as number, notAfter: notAfter as number }
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
