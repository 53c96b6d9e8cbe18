import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { createCrypto } from '../../../src/crypto/index.js'
import type { BatchOp, LevelStore } from '../../../src/store/index.js'
import { MAX_UNSENT_RETRY_MS, Unsent, decodeUnsent, encodeUnsent, unsentKey, unsentRetryDelay } from '../../../src/messenger/unsent.js'
import type { UnsentInit } from '../../../src/messenger/unsent.js'
import type { RemoteDevice } from '../../../src/messenger/devices.js'
import { encodeMessage, newMessageId } from '../../../src/messenger/model/index.js'
import type { Message } from '../../../src/messenger/model/index.js'
import { collect } from '../store/helpers.js'
import { memoryStore } from './harness.js'

const crypto = createCrypto()
const HOUR = 3_600_000

describe('messenger: Unsent (a restored backup\'s undelivered messages)', () => {
  let store: LevelStore
  let author: PeerId
  const conversation = crypto.randomBytes(32)
  before(async () => { author = peerIdFromPrivateKey(await generateKeyPair('Ed25519')) })
  // In memory (memory-level): Unsent is tested on its own, its store's durability is LevelStore's.
  beforeEach(async () => { store = await memoryStore() })
  afterEach(async () => { await store.close() })

  function message (text: string, timestamp = Date.now()): Message {
    return { id: newMessageId(crypto), author: { account: crypto.randomBytes(32), device: author.toMultihash().bytes }, timestamp, lamport: 3, body: { kind: 'text', text } }
  }

  async function put (m: Message, devices: string[]): Promise<void> {
    await store.put('outbox', unsentKey(m.id), encodeUnsent({ conversation, message: encodeMessage(m), devices }))
  }

  /** A device as the messenger would find it (these tests only count them). */
  function remote (): RemoteDevice {
    return { peerId: author, accountKey: conversation, identityKey: crypto.randomBytes(32), addrs: [], relays: [] }
  }

  function unsent (over: Partial<UnsentInit> & { lookups?: string[], resent?: Array<{ devices: number, text: string, extra: BatchOp[] }> }): Unsent {
    return new Unsent({
      store,
      retryIntervalMs: HOUR,
      retentionMs: 30 * 24 * HOUR,
      now: Date.now,
      device: async (peer) => {
        over.lookups?.push(peer)
        return peer.startsWith('known') ? remote() : undefined
      },
      resend: async (_conversation, devices, m, extra) => {
        over.resent?.push({ devices: devices.length, text: 'text' in m.body ? m.body.text : '', extra })
        await store.batch(extra)
      },
      expireOp: async (m) => ({ type: 'put', namespace: 'outbox', key: Uint8Array.of(0x73, ...m.id), value: Uint8Array.of(1) }),
      ...over
    })
  }

  it('encodes and decodes an unsent message, and refuses malformed ones with RangeError', () => {
    const m = message('hello')
    const bytes = encodeUnsent({ conversation, message: encodeMessage(m), devices: ['12D3KooWa', '12D3KooWb'] })
    const back = decodeUnsent(bytes)
    assert.deepEqual(back.conversation, conversation)
    assert.deepEqual(back.devices, ['12D3KooWa', '12D3KooWb'])
    assert.deepEqual(back.decoded.id, m.id)
    assert.throws(() => decodeUnsent(bytes.subarray(0, 20)), RangeError)
    assert.throws(() => decodeUnsent(Uint8Array.of(9, 1, 1, 1)), RangeError)
    assert.throws(() => encodeUnsent({ conversation, message: encodeMessage(m), devices: [] }), RangeError)
  })

  it('looks a device up once per pass however many messages wait for it, and backs off while it stays unknown', async () => {
    const lookups: string[] = []
    for (let i = 0; i < 300; i++) await put(message(`waiting ${i}`), ['gone-for-good'])
    const u = unsent({ lookups })
    u.start()
    await u.settled()
    u.stop()
    assert.deepEqual(lookups, ['gone-for-good'])
    assert.equal((await collect(store.iterate('outbox'))).length, 300, 'nothing dropped')
    assert.deepEqual([0, 1, 2, 3, 10].map(f => unsentRetryDelay(5_000, f)), [5_000, 10_000, 20_000, 40_000, MAX_UNSENT_RETRY_MS])
  })

  it('resends to the devices it knows, in the same batch that shrinks or removes the record', async () => {
    const resent: Array<{ devices: number, text: string, extra: BatchOp[] }> = []
    const both = message('to both')
    const half = message('to one known, one not')
    await put(both, ['known-1', 'known-2'])
    await put(half, ['known-1', 'unknown'])
    const u = unsent({ resent })
    u.start()
    await u.settled()
    u.stop()
    assert.deepEqual(resent.map(r => [r.text, r.devices, r.extra[0].type]).sort(), [['to both', 2, 'del'], ['to one known, one not', 1, 'put']])
    assert.equal(await store.get('outbox', unsentKey(both.id)), undefined)
    const left = await store.get('outbox', unsentKey(half.id))
    assert.ok(left != null)
    assert.deepEqual(decodeUnsent(left).devices, ['unknown'])
  })

  it('expires a message older than the retention time instead of sending it', async () => {
    const resent: Array<{ devices: number, text: string, extra: BatchOp[] }> = []
    const old = message('from long ago', Date.now() - 31 * 24 * HOUR)
    await put(old, ['known-1'])
    const u = unsent({ resent })
    u.start()
    await u.settled()
    u.stop()
    assert.deepEqual(resent, [])
    assert.equal(await store.get('outbox', unsentKey(old.id)), undefined)
    assert.deepEqual(await store.get('outbox', Uint8Array.of(0x73, ...old.id)), Uint8Array.of(1), 'marked expired')
  })
})
