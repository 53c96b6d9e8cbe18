/**
 * The relay's datastore caches libp2p's peer records (node/relay-datastore.ts):
 * a second read of a record does not reach LevelDB, every write and delete
 * (direct or in a batch) is seen by the next read, a read that raced a
 * write never leaves the old record cached, other keys are not cached, the
 * cache is bounded, and a reopened store reads what was written; libp2p's
 * peer store, which writes its record with a fresh `updated` stamp on every
 * merge, writes it once while nothing else changes (for five minutes).
 */
import assert from 'node:assert/strict'
import { Key } from 'interface-datastore'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createLibp2p } from 'libp2p'
import { multiaddr } from '@multiformats/multiaddr'
import { PEER_RECORD_CACHE_SIZE, PEER_STAMP_REFRESH_MS, RelayDatastore, onlyFreshStamp } from '../../../node/relay-datastore.js'
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

  it('a caller changing the record it read changes nothing kept, whether it was read from disk or from memory', async () => {
    const key = new Key('/peers/abc')
    await ds.put(key, bytes('one'))
    await ds.close()
    ds = new RelayDatastore(`${dir}/ds`, 3)
    await ds.open()
    const fromDisk = await ds.get(key)
    assert.equal(ds.peerReads, 1)
    fromDisk.fill(0x78)
    const fromMemory = await ds.get(key)
    assert.equal(ds.peerReads, 1, 'the second read is from memory')
    assert.equal(text(fromMemory), 'one')
    fromMemory.fill(0x79)
    assert.equal(text(await ds.get(key)), 'one')
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

  it('libp2p\'s peer store merging the same protocol again (every inbound stream) writes nothing; a change is written', async () => {
    const node = await createLibp2p({ datastore: ds, start: false })
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    await node.peerStore.merge(peer, { protocols: ['/ipfs/ping/1.0.0'] })
    const writes = ds.peerWrites
    for (let i = 0; i < 20; i++) await node.peerStore.merge(peer, { protocols: ['/ipfs/ping/1.0.0'] })
    assert.equal(ds.peerWrites, writes, 'merges that change nothing but the stamp are not written')
    await node.peerStore.merge(peer, { protocols: ['/starling/store/3.0.0'] })
    assert.equal(ds.peerWrites, writes + 1)
    assert.deepEqual((await node.peerStore.get(peer)).protocols.sort(), ['/ipfs/ping/1.0.0', '/starling/store/3.0.0'])
  })

  it('a record is rewritten when its stamp is older than the refresh interval, or anything else differs', () => {
    // Field 1 (bytes "ab"), field 8 (`updated`, varint).
    const record = (updated: number, body = [0x61, 0x62]): Uint8Array => {
      const out = [0x0a, body.length, ...body, 0x40]
      for (let v = updated; ; v = Math.floor(v / 128)) {
        if (v < 128) { out.push(v); break }
        out.push((v % 128) | 0x80)
      }
      return Uint8Array.from(out)
    }
    const t = 1_800_000_000_000
    assert.equal(onlyFreshStamp(record(t), record(t + 1000)), true)
    assert.equal(onlyFreshStamp(record(t), record(t + PEER_STAMP_REFRESH_MS)), false)
    assert.equal(onlyFreshStamp(record(t), record(t - 1)), false)
    assert.equal(onlyFreshStamp(record(t), record(t + 1000, [0x61, 0x63])), false)
    assert.equal(onlyFreshStamp(record(t), Uint8Array.from([0x0a, 0x05, 0x61])), false, 'a record that does not parse is written')
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

  it('fresh peer ids with records as large as identify lets them be cannot grow the cache past its byte budget', async () => {
    const budget = 256 * 1024
    await ds.close()
    ds = new RelayDatastore(`${dir}/ds`, PEER_RECORD_CACHE_SIZE, budget)
    await ds.open()
    const node = await createLibp2p({ datastore: ds, start: false })
    // ~7 KiB of addresses per peer: what one 8 KiB identify message can list.
    const multiaddrs = Array.from({ length: 700 }, (_, i) => multiaddr(`/ip4/203.0.${i >> 8}.${i & 255}/tcp/4001`))
    for (let n = 0; n < 100; n++) {
      await node.peerStore.patch(peerIdFromPrivateKey(await generateKeyPair('Ed25519')), { multiaddrs })
    }
    const held = [...(ds as unknown as { cache: Map<string, Uint8Array> }).cache.values()].reduce((sum, v) => sum + v.length, 0)
    assert.ok(held > 0, 'records are cached')
    assert.ok(held <= budget, `the cache holds ${held} bytes of peer records, over its budget of ${budget}`)
    assert.equal(ds.cachedBytes, held)
    // A record of a megabyte (a datastore a DHT merged addresses into) is not cached at all.
    const big = new Key('/peers/big')
    await ds.put(big, new Uint8Array(1024 * 1024))
    const reads = ds.peerReads
    await ds.get(big)
    assert.equal(ds.peerReads, reads + 1, 'an oversized record is read from disk')
  })
})
