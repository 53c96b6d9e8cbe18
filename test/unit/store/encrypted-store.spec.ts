/**
 * Data at rest (issue 9, item 7): a thief who copies the store's files
 * must find no value in them. The attack reads every byte of every file
 * LevelDB wrote (its log, tables and manifest) and looks for a message.
 */
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createCrypto } from '../../../src/crypto/index.js'
import { EncryptedStore, MIGRATION_BATCH, NAMESPACES, deriveAtRestKey, isEncryptedStore } from '../../../src/store/index.js'
import type { BatchOp, LevelStore, Namespace, Store } from '../../../src/store/index.js'
import { collect, tempStore } from './helpers.js'

const crypto = createCrypto()
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const SECRET = 'meet me at the old mill at midnight, bring the papers'

/** Whether `needle` occurs in any file under `dir`. */
async function foundOnDisk (dir: string, needle: Uint8Array): Promise<boolean> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    if (Buffer.from(await readFile(join(entry.parentPath, entry.name))).includes(Buffer.from(needle))) return true
  }
  return false
}

/** A store whose batches fail once `failAfter` of them went through (a crash part-way). */
function failingAfter (inner: Store, failAfter: number): Store {
  let batches = 0
  return {
    open: async () => inner.open(),
    close: async () => inner.close(),
    get: async (ns, key) => inner.get(ns, key),
    put: async (ns, key, value, options) => inner.put(ns, key, value, options),
    del: async (ns, key, options) => inner.del(ns, key, options),
    iterate: (ns, range) => inner.iterate(ns, range),
    batch: async (ops, options) => {
      if (batches++ >= failAfter) throw new Error('power cut')
      await inner.batch(ops, options)
    }
  }
}

describe('store: EncryptedStore', () => {
  const key = deriveAtRestKey(crypto, crypto.randomBytes(32), 'store')
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => { for (const c of cleanups.splice(0)) await c() })

  async function level (): Promise<{ store: LevelStore, dir: string }> {
    const t = await tempStore()
    cleanups.push(t.cleanup)
    return { store: t.store, dir: t.dir }
  }

  it('leaves no value in the files LevelDB writes (its log, and its tables after a compaction); keys stay readable', async () => {
    const plain = await level()
    await plain.store.put('messages', text('conversation-key-1'), text(SECRET), { sync: true })
    await plain.store.close()
    assert.equal(await foundOnDisk(plain.dir, text(SECRET)), true, 'the scan finds a value written in the clear')

    const { store: inner, dir } = await level()
    await inner.close()
    const store = new EncryptedStore(inner, { crypto, key })
    await store.open()
    for (let i = 0; i < 2000; i++) await store.put('messages', text(`conversation-key-${i}`), text(`${SECRET} #${i}`))
    await store.put('outbox', text('q/1'), text(SECRET), { sync: true })
    assert.deepEqual(await store.get('messages', text('conversation-key-7')), text(`${SECRET} #7`))
    await store.close()
    assert.equal(await foundOnDisk(dir, text(SECRET)), false, 'no value is readable on disk')
    assert.equal(await foundOnDisk(dir, text('conversation-key-7')), true, 'keys are not encrypted (the README says what they reveal)')
  })

  it('round-trips puts, batches, deletes and ordered iteration in every namespace', async () => {
    const { store: inner } = await level()
    await inner.close()
    const store = new EncryptedStore(inner, { crypto, key })
    await store.open()
    const namespaces = NAMESPACES.filter(ns => ns !== 'meta')
    for (const ns of namespaces) await store.batch([{ type: 'put', namespace: ns, key: text('b'), value: text(`${ns} b`) }, { type: 'put', namespace: ns, key: text('a'), value: text(`${ns} a`) }])
    await store.del('contacts', text('a'))
    await assert.rejects(store.put('meta', text('encryption'), text('x')), { name: 'InvalidStoreKeyError' }, "'meta' is the wrapper's own")
    for (const ns of namespaces) {
      const expected = ns === 'contacts' ? [['b', `${ns} b`]] : [['a', `${ns} a`], ['b', `${ns} b`]]
      assert.deepEqual((await collect(store.iterate(ns))).map(([k, v]) => [new TextDecoder().decode(k), new TextDecoder().decode(v)]), expected)
    }
    assert.equal(await store.get('contacts', text('a')), undefined)
    assert.notDeepEqual(await inner.get('messages', text('a')), text('messages a'))
    await store.close()
  })

  it('refuses a value moved to another key or namespace, and a value not encrypted, with StoreDecryptError', async () => {
    const { store: inner } = await level()
    await inner.close()
    const store = new EncryptedStore(inner, { crypto, key })
    await store.open()
    await store.put('contacts', text('alice'), text('pinned key of alice'))
    await store.put('contacts', text('mallory'), text('pinned key of mallory'))
    const sealed = await inner.get('contacts', text('mallory'))
    assert.ok(sealed != null)
    await inner.put('contacts', text('alice'), sealed)
    await assert.rejects(store.get('contacts', text('alice')), { name: 'StoreDecryptError' })
    await inner.put('dedup', text('mallory'), sealed)
    await assert.rejects(store.get('dedup', text('mallory')), { name: 'StoreDecryptError' })
    await inner.put('dedup', text('plain'), text('written around the wrapper'))
    await assert.rejects(store.get('dedup', text('plain')), { name: 'StoreDecryptError' })
    assert.deepEqual(await store.get('contacts', text('mallory')), text('pinned key of mallory'))
    await store.close()
  })

  it('refuses to open with another key (StoreKeyError) and says a plain store is not encrypted', async () => {
    const { store: inner } = await level()
    assert.equal(await isEncryptedStore(inner), false)
    await inner.close()
    await new EncryptedStore(inner, { crypto, key }).open()
    assert.equal(await isEncryptedStore(inner), true)
    await inner.close()
    await assert.rejects(new EncryptedStore(inner, { crypto, key: deriveAtRestKey(crypto, crypto.randomBytes(32), 'store') }).open(), { name: 'StoreKeyError' })
    await assert.rejects(inner.get('meta', text('encryption')), { name: 'StoreClosedError' }, 'closed again after the refusal')
  })

  it('encrypts a store written in the clear, compacts the old values out of its files, and resumes after a crash part-way without encrypting a value twice', async () => {
    const { store: inner, dir } = await level()
    const ops: BatchOp[] = []
    const written: Array<[Namespace, string, string]> = []
    for (const ns of ['outbox', 'messages', 'contacts'] as const) {
      for (let i = 0; i < MIGRATION_BATCH * 2 + 7; i++) {
        // Random text: LevelDB compresses its tables (Snappy), and a repetitive value would hide from the scan.
        const value = Buffer.from(crypto.randomBytes(48)).toString('base64')
        const key = `${ns}-${String(i).padStart(5, '0')}`
        ops.push({ type: 'put', namespace: ns, key: text(key), value: text(value) })
        written.push([ns, key, value])
      }
    }
    await inner.batch(ops, { sync: true })
    await inner.close()
    await inner.open()
    // Into LevelDB's tables, as a store used for a while would have them.
    await inner.compact()
    await inner.close()
    const probes = written.filter((_, i) => i % 97 === 0).map(([, , v]) => text(v))
    assert.equal((await Promise.all(probes.map(async p => foundOnDisk(dir, p)))).every(Boolean), true, 'the scan finds values written in the clear')

    await assert.rejects(new EncryptedStore(failingAfter(inner, 4), { crypto, key }).open(), /power cut/)
    assert.equal(await isEncryptedStore((await inner.open(), inner)), true, 'the progress record marks the store')
    await inner.close()

    const store = new EncryptedStore(inner, { crypto, key })
    await store.open()
    const left = await Promise.all(probes.map(async p => foundOnDisk(dir, p)))
    assert.equal(left.filter(Boolean).length, 0, 'values written in the clear are still in the files')
    for (const [ns, k, v] of written) assert.deepEqual(await store.get(ns, text(k)), text(v), `${ns} ${k}`)
    await store.close()
    const again = new EncryptedStore(inner, { crypto, key })
    await again.open()
    assert.equal((await collect(again.iterate('messages'))).length, MIGRATION_BATCH * 2 + 7)
    await again.close()
  })
})
