/**
 * The certificate a relay presents on WebRTC-direct (libp2p webrtc-direct
 * spec, "Browser to public Server"): self-signed, ECDSA P-256 with SHA-256
 * (the curve Chromium, Pion and webrtc-rs all accept), X.509 v3 with one
 * critical extension, basicConstraints cA=FALSE (RFC 5280 §4.2.1.9). The
 * browser knows it only by its hash, the `/certhash` of the relay's
 * multiaddr (a multibase base64url multihash of SHA-256 over the DER); the
 * peer itself is authenticated by Noise inside the DTLS channel, so nothing
 * in the certificate has to be trusted.
 *
 * Made here with WebCrypto and a few lines of DER (der.ts) rather than
 * a certificate library: `@libp2p/webrtc` makes its own with
 * `@peculiar/x509`, but only for its own renewal scheme, and that library
 * is not one of our dependencies.
 */
import { base64url } from 'multiformats/bases/base64'
import { concat } from 'uint8arrays/concat'
import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'
import { bitString, boolean, explicit, octetString, oid, sequence, set, smallInteger, time, unsignedInteger, utf8String } from './der.js'
import { WebRTCDirectCertificateError } from './errors.js'

/** A certificate as the relay stores and serves it. */
export interface WebRTCDirectCertificate {
  /** The certificate, PEM. */
  pem: string
  /** Its private key, PKCS #8 PEM. */
  privateKey: string
  /** The `/certhash` value: multibase base64url of the SHA-256 multihash of the DER. */
  certhash: string
  /** Validity, in ms since the epoch, whole seconds (as written in the certificate). */
  notBefore: number
  notAfter: number
}

/** ecdsa-with-SHA256, 1.2.840.10045.4.3.2 (RFC 5758 §3.2: no parameters). */
const ECDSA_WITH_SHA256 = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02)
/** id-at-commonName, 2.5.4.3. */
const COMMON_NAME = Uint8Array.of(0x55, 0x04, 0x03)
/** id-ce-basicConstraints, 2.5.29.19. */
const BASIC_CONSTRAINTS = Uint8Array.of(0x55, 0x1d, 0x13)
/** X.509 v3 is version 2 on the wire. */
const X509_V3 = 2
/** The subject and issuer; nobody reads it (the hash is what is pinned). */
const SUBJECT = 'starling relay webrtc-direct'
/** Multihash code and length of SHA-256. */
const SHA2_256 = Uint8Array.of(0x12, 0x20)

/** Makes a fresh key pair and a certificate valid from `notBefore` to `notAfter` (ms, rounded down to seconds). */
export async function createCertificate (validity: { notBefore: number, notAfter: number }, subtle: SubtleCrypto = globalThis.crypto.subtle): Promise<WebRTCDirectCertificate> {
  const notBefore = Math.floor(validity.notBefore / 1000) * 1000
  const notAfter = Math.floor(validity.notAfter / 1000) * 1000
  if (!(notAfter > notBefore)) throw new WebRTCDirectCertificateError(`a certificate must end after it starts (${notBefore} to ${notAfter})`)
  const keys = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])
  const spki = new Uint8Array(await subtle.exportKey('spki', keys.publicKey))
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey))
  const algorithm = sequence(oid(ECDSA_WITH_SHA256))
  const name = sequence(set(sequence(oid(COMMON_NAME), utf8String(SUBJECT))))
  const serial = globalThis.crypto.getRandomValues(new Uint8Array(16))
  serial[0] = (serial[0] & 0x7f) | 0x01 // positive and non-zero (RFC 5280 §4.1.2.2)
  const tbs = sequence(
    explicit(0, smallInteger(X509_V3)),
    unsignedInteger(serial),
    algorithm,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    spki,
    explicit(3, sequence(sequence(oid(BASIC_CONSTRAINTS), boolean(true), octetString(sequence()))))
  )
  const p1363 = new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, tbs))
  const der = sequence(tbs, algorithm, bitString(ecdsaSignatureToDer(p1363)))
  return {
    pem: toPem('CERTIFICATE', der),
    privateKey: toPem('PRIVATE KEY', pkcs8),
    certhash: await certhashOf(der, subtle),
    notBefore,
    notAfter
  }
}

/** The `/certhash` of a certificate given as DER. */
export async function certhashOf (der: Uint8Array<ArrayBuffer>, subtle: SubtleCrypto = globalThis.crypto.subtle): Promise<string> {
  const digest = new Uint8Array(await subtle.digest('SHA-256', der))
  return base64url.encode(concat([SHA2_256, digest]))
}

/** The `/certhash` of a PEM certificate; throws WebRTCDirectCertificateError when it is not one. */
export async function certhashOfPem (pem: string, subtle: SubtleCrypto = globalThis.crypto.subtle): Promise<string> {
  return await certhashOf(fromPem('CERTIFICATE', pem), subtle)
}

/** WebCrypto signs ECDSA as r‖s (IEEE P1363); X.509 wants SEQUENCE { r INTEGER, s INTEGER } (RFC 5480 §2.2.3). */
function ecdsaSignatureToDer (p1363: Uint8Array): Uint8Array {
  const half = p1363.byteLength / 2
  return sequence(unsignedInteger(p1363.subarray(0, half)), unsignedInteger(p1363.subarray(half)))
}

function toPem (label: string, der: Uint8Array): string {
  const lines = toString(der, 'base64pad').match(/.{1,64}/g) ?? []
  return [`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`, ''].join('\n')
}

const PEM_BODY = /^-----BEGIN ([A-Z ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END \1-----\s*$/

function fromPem (label: string, pem: string): Uint8Array<ArrayBuffer> {
  const match = PEM_BODY.exec(pem.trim() + '\n')
  if (match?.[1] !== label) throw new WebRTCDirectCertificateError(`not a PEM ${label.toLowerCase()}`)
  try {
    return fromString(match[2].replace(/\s+/g, ''), 'base64pad')
  } catch {
    throw new WebRTCDirectCertificateError(`the PEM ${label.toLowerCase()} is not base64`)
  }
}
