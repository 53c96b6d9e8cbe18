/**
 * A {@link Store} that encrypts every value before it reaches the one it
 * wraps (issue 9, item 7: data at rest). Keys stay readable, because the
 * store's order is the byte order of its keys (a conversation's messages are
 * a key range, in Lamport order); see the README for what that reveals.
 *
 * Value as stored, version 1:
 *   u8 version = 1 | nonce (12, random) | AES-256-GCM(value, aad)
 *   aad = "starling-store-v1" | u8 namespace index | key
 * The namespace and key are the associated data, so a value copied under
 * another key or namespace does not decrypt. Random 96-bit nonces keep the
 * chance of a repeat under 2^-32 for the first 2^32 writes under one key
 * (NIST SP 800-38D, §8.3); a device writes about ten values per message.
 *
 * The `meta` namespace holds the wrapper's own records: a marker encrypted
 * under the key (so a wrong key is reported as such at open, not as damage
 * on the first read), and while a store written in the clear is being
 * encrypted, how far that got. Encrypting an existing store runs in atomic
 * batches that carry their own progress, so a crash part-way resumes where
 * it stopped and never encrypts a value twice; the database is then
 * compacted, so the values written in the clear leave its files (not the
 * disk's free blocks: see the README).
 */
import { logger } from '@libp2p/logger'
import type { Crypto } from '../crypto/index.js'
import { InvalidStoreKeyError, StoreDecryptError, StoreKeyError } from './errors.js'
import { NAMESPACES } from './store.js'
import type { BatchOp, Entry, Namespace, Range, Store, WriteOptions } from './store.js'

const log = logger('starling:store:encrypted')

const VERSION = 1
const NONCE_BYTES = 12
const TAG_BYTES = 16
const AAD_LABEL = new TextEncoder().encode('starling-store-v1')
const MARKER_KEY = new TextEncoder().encode('encryption')
const PROGRESS_KEY = new TextEncoder().encode('encrypting')
const MARKER_TEXT = new TextEncoder().encode('starling: this store is encrypted')
/** Values encrypted per atomic batch when an existing store is encrypted. */
export const MIGRATION_BATCH = 500

/** Options of {@link EncryptedStore}. */
export interface EncryptedStoreInit {
  crypto: Crypto
  /** 32 bytes (see deriveAtRestKey). */
  key: Uint8Array
}

/** Whether a store (open, not wrapped) was encrypted by an {@link EncryptedStore}: it must then be opened with its key. */
export async function isEncryptedStore (store: Store): Promise<boolean> {
  return (await store.get('meta', MARKER_KEY)) != null || (await store.get('meta', PROGRESS_KEY)) != null
}

function aad (namespace: Namespace, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(AAD_LABEL.length + 1 + key.length)
  out.set(AAD_LABEL)
  out[AAD_LABEL.length] = NAMESPACES.indexOf(namespace)
  out.set(key, AAD_LABEL.length + 1)
  return out
}

/** Encrypts the values of a {@link Store}; see the file comment. */
export class EncryptedStore implements Store {
  private readonly crypto: Crypto
  private readonly key: Uint8Array

  constructor (private readonly inner: Store, init: EncryptedStoreInit) {
    if (init.key.length !== 32) throw new RangeError(`the store key is 32 bytes, got ${init.key.length}`)
    this.crypto = init.crypto
    this.key = init.key.slice()
  }

  /** Opens the wrapped store; checks the key, or encrypts a store written in the clear (resuming if that was cut short). */
  async open (): Promise<void> {
    await this.inner.open()
    try {
      const marker = await this.inner.get('meta', MARKER_KEY)
      if (marker != null) {
        await this.checkMarker(marker)
        return
      }
      await this.encryptExisting()
    } catch (err) {
      await this.inner.close()
      throw err
    }
  }

  async close (): Promise<void> {
    await this.inner.close()
  }

  async get (namespace: Namespace, key: Uint8Array): Promise<Uint8Array | undefined> {
    const sealed = await this.inner.get(namespace, key)
    return sealed == null ? undefined : await this.decrypt(namespace, key, sealed)
  }

  async put (namespace: Namespace, key: Uint8Array, value: Uint8Array, options: WriteOptions = {}): Promise<void> {
    await this.batch([{ type: 'put', namespace, key, value }], options)
  }

  async del (namespace: Namespace, key: Uint8Array, options: WriteOptions = {}): Promise<void> {
    await this.batch([{ type: 'del', namespace, key }], options)
  }

  async batch (ops: readonly BatchOp[], options: WriteOptions = {}): Promise<void> {
    const sealed: BatchOp[] = []
    for (const op of ops) {
      if (op.namespace === 'meta') throw new InvalidStoreKeyError("the 'meta' namespace belongs to the encrypted store")
      sealed.push(op.type === 'put' ? { ...op, value: await this.encrypt(op.namespace, op.key, op.value) } : op)
    }
    await this.inner.batch(sealed, options)
  }

  async compact (): Promise<void> {
    await this.inner.compact?.()
  }

  async * iterate (namespace: Namespace, range?: Range): AsyncGenerator<Entry> {
    for await (const [key, sealed] of this.inner.iterate(namespace, range)) {
      yield [key, await this.decrypt(namespace, key, sealed)]
    }
  }

  private async encrypt (namespace: Namespace, key: Uint8Array, value: Uint8Array): Promise<Uint8Array> {
    const nonce = this.crypto.randomBytes(NONCE_BYTES)
    const sealed = await this.crypto.aead.encrypt(this.key, nonce, value, aad(namespace, key))
    const out = new Uint8Array(1 + NONCE_BYTES + sealed.length)
    out[0] = VERSION
    out.set(nonce, 1)
    out.set(sealed, 1 + NONCE_BYTES)
    return out
  }

  private async decrypt (namespace: Namespace, key: Uint8Array, sealed: Uint8Array): Promise<Uint8Array> {
    if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
      throw new StoreDecryptError(`a value in ${namespace} is not an encrypted value of version ${VERSION}`)
    }
    try {
      return await this.crypto.aead.decrypt(this.key, sealed.subarray(1, 1 + NONCE_BYTES), sealed.subarray(1 + NONCE_BYTES), aad(namespace, key))
    } catch (err) {
      throw new StoreDecryptError(`a value in ${namespace} does not decrypt: it was altered or moved`, { cause: err })
    }
  }

  private async checkMarker (marker: Uint8Array): Promise<void> {
    try {
      await this.decrypt('meta', MARKER_KEY, marker)
    } catch {
      throw new StoreKeyError('this store was encrypted with another key')
    }
  }

  /**
   * Encrypts every value of a store written in the clear, namespace by
   * namespace in key order; each batch also records the last key it did,
   * so a crash part-way resumes after it. Ends by writing the marker.
   */
  private async encryptExisting (): Promise<void> {
    const progress = await this.inner.get('meta', PROGRESS_KEY)
    const resume = progress == null ? { index: 0, after: undefined } : parseProgress(progress)
    let after: Uint8Array | undefined = resume.after
    let count = 0
    for (let index = resume.index; index < NAMESPACES.length; index++) {
      const namespace = NAMESPACES[index]
      for (;;) {
        if (namespace === 'meta') break
        const page: Entry[] = []
        for await (const entry of this.inner.iterate(namespace, { ...(after != null ? { gt: after } : {}), limit: MIGRATION_BATCH })) page.push(entry)
        if (page.length === 0) break
        const ops: BatchOp[] = []
        for (const [key, value] of page) ops.push({ type: 'put', namespace, key, value: await this.encrypt(namespace, key, value) })
        after = page[page.length - 1][0]
        ops.push({ type: 'put', namespace: 'meta', key: PROGRESS_KEY, value: encodeProgress(index, after) })
        await this.inner.batch(ops, { sync: true })
        count += page.length
        if (page.length < MIGRATION_BATCH) break
      }
      after = undefined
    }
    await this.inner.batch([
      { type: 'put', namespace: 'meta', key: MARKER_KEY, value: await this.encrypt('meta', MARKER_KEY, MARKER_TEXT) },
      { type: 'del', namespace: 'meta', key: PROGRESS_KEY }
    ], { sync: true })
    if (count === 0) return
    // The values written in the clear are still in the database's files until they are rewritten.
    await this.compact()
    log('encrypted %d values written in the clear', count)
  }
}

function encodeProgress (index: number, last: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + last.length)
  out[0] = index
  out.set(last, 1)
  return out
}

function parseProgress (bytes: Uint8Array): { index: number, after: Uint8Array | undefined } {
  if (bytes.length < 2 || bytes[0] >= NAMESPACES.length) throw new StoreDecryptError('the record of an interrupted encryption is damaged')
  return { index: bytes[0], after: bytes.slice(1) }
}
