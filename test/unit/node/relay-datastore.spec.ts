/**
 * The relay's datastore caches libp2p's peer records (node/relay-datastore.ts):
 * a second read of a record does not reach LevelDB, every write and delete
 * (direct or in a batch) is seen by the next read, a read that raced a
 * write never leaves the old record cached, other keys are not cached, the
 * cache is bounded, and a reopened store reads what was written.
 */
import assert from 'node:assert/strict'
import { Key } from 'interface-datastore'
import { RelayDatastore } from '../../../node/relay-datastore.js'
import { tempDir } from '../relay/helpers.js'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

describe('node/relay-datastore: the peer-record cache', () => {
  let remove: () => Promise<void>
  let dir: string
  let ds: RelayDatastore

  beforeEach(async () => {
    const tmp = await tempDir()
    dir = tmp.dir
    remove = tmp.remove
    ds = new RelayDatastore(`${dir}/ds`, 3)
    await ds.open()
  })

  afterEach(async () => {
    await ds.close().catch(() => {})
    await remove()
  })

  it('reads a peer record from LevelDB once, and sees every put, delete and batch after it', async () => {
    const key = new Key('/peers/abc')
    await ds.put(key, bytes('one'))
    assert.equal(text(await ds.get(key)), 'one')
    assert.equal(text(await ds.get(key)), 'one')
    assert.equal(ds.peerReads, 0, 'a record just written is read from memory')
    await ds.put(key, bytes('two'))
    assert.equal(text(await ds.get(key)), 'two')
    const batch = ds.batch()
    batch.put(key, bytes('three'))
    await batch.commit()
    assert.equal(text(await ds.get(key)), 'three')
    await ds.delete(key)
    await assert.rejects(ds.get(key), { name: 'NotFoundError' })
    assert.equal(await ds.has(key), false)
  })

  it('a read that raced a write does not leave the old record cached', async () => {
    const key = new Key('/peers/race')
    await ds.put(key, bytes('old'))
    await ds.close()
    ds = new RelayDatastore(`${dir}/ds`, 3)
    await ds.open()
    // LevelDB answers the read with the old record only after the write is done (as a slow read can).
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const db = (ds as unknown as { db: { get: (k: string) => Promise<Uint8Array | undefined> } }).db
    const realGet = db.get.bind(db)
    db.get = async (k) => {
      const value = await realGet(k)
      await gate
      return value
    }
    const reading = ds.get(key)
    await ds.put(key, bytes('new'))
    release()
    assert.equal(text(await reading), 'old')
    db.get = realGet
    assert.equal(text(await ds.get(key)), 'new')
  })

  it('caches peer records only, within its bound, and a reopened store reads the disk', async () => {
    for (const n of [1, 2, 3, 4, 5]) await ds.put(new Key(`/peers/p${n}`), bytes(`v${n}`))
    await ds.put(new Key('/dht/record/x'), bytes('r'))
    const before = ds.peerReads
    assert.equal(text(await ds.get(new Key('/peers/p5'))), 'v5')
    assert.equal(ds.peerReads, before, 'a recent record is cached')
    assert.equal(text(await ds.get(new Key('/peers/p1'))), 'v1')
    assert.equal(ds.peerReads, before + 1, 'the oldest left the cache (bound 3) and is read from disk')
    assert.equal(text(await ds.get(new Key('/dht/record/x'))), 'r')
    await ds.close()
    ds = new RelayDatastore(`${dir}/ds`, 3)
    await ds.open()
    assert.equal(text(await ds.get(new Key('/peers/p4'))), 'v4')
    assert.equal(ds.peerReads, 1)
  })
})
