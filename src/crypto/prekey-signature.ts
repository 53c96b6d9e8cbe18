/**
 * What an account key signs to vouch for a device's public keys. Shared by
 * the device record (src/identity) and session start (PQXDH), so that both
 * sides agree byte for byte.
 *
 * payload = utf8("starling-prekey-v1") || kind (1 byte) || id (u32 big-endian) || publicKey
 */

/** The kinds of key an account key signs for a device. */
export const PrekeyKind = {
  /** The device's long-term X25519 identity key (id 0). */
  identity: 1,
  /** A rotating X25519 signed prekey. */
  signedPrekey: 2,
  /** An ML-KEM-768 last-resort prekey. */
  kemPrekey: 3
} as const

export type PrekeyKindValue = typeof PrekeyKind[keyof typeof PrekeyKind]

const LABEL = new TextEncoder().encode('starling-prekey-v1')

/** The exact bytes the account key signs for one device key. */
export function prekeySignaturePayload (kind: PrekeyKindValue, id: number, publicKey: Uint8Array): Uint8Array {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`prekey id must be a u32, got ${id}`)
  const out = new Uint8Array(LABEL.length + 1 + 4 + publicKey.length)
  out.set(LABEL, 0)
  out[LABEL.length] = kind
  new DataView(out.buffer).setUint32(LABEL.length + 1, id, false)
  out.set(publicKey, LABEL.length + 5)
  return out
}
