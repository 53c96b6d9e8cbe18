/**
 * Attachments at rest, encrypted (issue 9, item 7): the file blob store
 * seals each chunk with AES-256-GCM under a key derived from the device's
 * identity secret (src/store/at-rest-key.ts), with the attachment id and the
 * chunk's index as associated data, so a chunk cannot be moved to another
 * place or attachment unnoticed.
 *
 *   chunk file:  "SBE1" | sealed chunk
 *   data file:   "SBE1" | sealed chunk 0 | sealed chunk 1 | ...
 *   sealed chunk = nonce (12, random) | ciphertext | tag (16)
 *
 * Every sealed chunk of a data file but the last has the same length
 * (chunk size + 28), so chunk i starts at 4 + i * (chunk size + 28).
 * node:crypto is used directly: this is node/ code, synchronous and native.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { open, readFile, rename } from 'node:fs/promises'
import { AttachmentIntegrityError } from '../src/messenger/attachments/index.js'

/** The first bytes of every encrypted chunk or data file. */
export const BLOB_MAGIC = Buffer.from('SBE1')
const NONCE_BYTES = 12
const TAG_BYTES = 16
/** Bytes a sealed chunk adds to its plaintext. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES
const AAD_LABEL = Buffer.from('starling-blob-v1')

function aad (id: Uint8Array, index: number): Buffer {
  const out = Buffer.alloc(AAD_LABEL.length + id.length + 4)
  AAD_LABEL.copy(out)
  out.set(id, AAD_LABEL.length)
  out.writeUInt32BE(index, AAD_LABEL.length + id.length)
  return out
}

/** Seals and opens the chunks of attachments with one key. */
export class BlobCipher {
  private readonly key: KeyObject

  constructor (key: Uint8Array) {
    if (key.length !== 32) throw new RangeError(`the attachment key is 32 bytes, got ${key.length}`)
    this.key = createSecretKey(Buffer.from(key))
  }

  /** A sealed chunk (no magic). */
  seal (id: Uint8Array, index: number, plaintext: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce, { authTagLength: TAG_BYTES })
    cipher.setAAD(aad(id, index))
    return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
  }

  /** The plaintext of a sealed chunk (no magic); AttachmentIntegrityError if it does not open. */
  open (id: Uint8Array, index: number, sealed: Uint8Array): Uint8Array {
    if (sealed.length < SEAL_OVERHEAD) throw new AttachmentIntegrityError(`stored chunk ${index} is truncated`)
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES })
    decipher.setAAD(aad(id, index))
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
    try {
      return new Uint8Array(Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]))
    } catch {
      throw new AttachmentIntegrityError(`stored chunk ${index} does not decrypt: it was altered or moved`)
    }
  }

  /** A chunk file's bytes: magic and sealed chunk. */
  sealFile (id: Uint8Array, index: number, plaintext: Uint8Array): Uint8Array {
    return Buffer.concat([BLOB_MAGIC, this.seal(id, index, plaintext)])
  }

  /** A chunk file's plaintext; AttachmentIntegrityError unless it is a chunk sealed with this key for this place. */
  openFile (id: Uint8Array, index: number, file: Uint8Array): Uint8Array {
    if (!isSealedFile(file)) throw new AttachmentIntegrityError(`stored chunk ${index} is not encrypted`)
    return this.open(id, index, file.subarray(BLOB_MAGIC.length))
  }

  /** Where sealed chunk `index` starts in a data file, and how long it is. */
  static placeInData (index: number, chunkSize: number, size: number): { offset: number, length: number } {
    const plain = Math.min(chunkSize, size - index * chunkSize)
    return { offset: BLOB_MAGIC.length + index * (chunkSize + SEAL_OVERHEAD), length: plain + SEAL_OVERHEAD }
  }
}

/** Whether bytes start like an encrypted chunk or data file (the caller still has to open them). */
export function isSealedFile (bytes: Uint8Array): boolean {
  return bytes.length >= BLOB_MAGIC.length && BLOB_MAGIC.every((b, i) => bytes[i] === b)
}

/**
 * Replaces a file written in the clear (one chunk, or the data file of a
 * complete attachment) by its encrypted form: written to a temporary file,
 * synced, renamed over it. A file whose first chunk already opens under the
 * key is left as it is, so a pass cut short by a crash can run again.
 */
export async function encryptFileInPlace (cipher: BlobCipher, path: string, id: Uint8Array, what: { index: number } | { meta: { size: number, chunkSize: number, count: number } }): Promise<void> {
  const bytes = new Uint8Array(await readFile(path))
  if (isSealedFile(bytes)) {
    const first = 'index' in what
      ? bytes.subarray(BLOB_MAGIC.length)
      : bytes.subarray(BLOB_MAGIC.length, BLOB_MAGIC.length + BlobCipher.placeInData(0, what.meta.chunkSize, what.meta.size).length)
    try {
      cipher.open(id, 'index' in what ? what.index : 0, first)
      return
    } catch {
      // Plaintext that happens to start like an encrypted file: encrypt it.
    }
  }
  const parts: Uint8Array[] = [BLOB_MAGIC]
  if ('index' in what) {
    parts.push(cipher.seal(id, what.index, bytes))
  } else {
    const { chunkSize, count } = what.meta
    for (let i = 0; i < count; i++) parts.push(cipher.seal(id, i, bytes.subarray(i * chunkSize, (i + 1) * chunkSize)))
  }
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(tmp, 'w', 0o600)
  try {
    await handle.writeFile(Buffer.concat(parts))
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(tmp, path)
}
