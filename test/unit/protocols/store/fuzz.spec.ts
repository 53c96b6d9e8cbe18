/**
 * Untrusted bytes against the store server on in-memory stream pairs, and
 * against the gossip checks: whatever arrives, the server answers with a
 * refusal or drops that stream (never an internal error, never a throw out
 * of the handler), and gossip checks raise only InvalidGossipError.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream, streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, PrivateKey } from '@libp2p/interface'
import { ENVELOPE_OVERHEAD } from '../../../../src/crypto/envelope.js'
import { STORE_PROTOCOL } from '../../../../src/protocols/store/index.js'
import type { MailboxPage, PutOutcome, StoreBackend } from '../../../../src/protocols/store/index.js'
import { StoreRequest, StoreResponse } from '../../../../src/protocols/store/pb/store.js'
import { StoreServer } from '../../../../src/protocols/store/store.js'
import { checkGossip, mailboxMessageId } from '../../../../src/relay/index.js'

const backend: StoreBackend = {
  async put (): Promise<PutOutcome> { return { storedAt: 1, expiresAt: 2, duplicate: false } },
  async fetch (): Promise<MailboxPage> { return { envelopes: [], cursor: new Uint8Array(0), more: false } },
  async delete (): Promise<number> { return 0 }
}

const noRegistrar = { handle: async () => {}, unhandle: async () => {} }

describe('protocols/store untrusted input', function () {
  this.timeout(60_000)
  let server: StoreServer
  let relayKey: PrivateKey

  before(async () => {
    relayKey = await generateKeyPair('Ed25519')
    server = new StoreServer({ registrar: noRegistrar, peerId: peerIdFromPrivateKey(relayKey), privateKey: relayKey }, { backend, rateLimit: { burst: 1e9, perSecond: 1e9 } })
    await server.start()
  })

  /** Sends raw bytes, closes, and returns the responses read before the stream ended. */
  async function exchange (bytes: Uint8Array): Promise<StoreResponse[]> {
    const [outbound, inbound] = await streamPair({ protocol: STORE_PROTOCOL })
    const handled = server.handleStream(inbound, { remotePeer: peerIdFromPrivateKey(relayKey), remoteAddr: multiaddr('/ip4/127.0.0.1/tcp/1') } as unknown as Connection)
    const lp = lpStream(outbound, { maxDataLength: 1 << 22 })
    outbound.send(bytes)
    await outbound.close()
    const responses: StoreResponse[] = []
    try {
      for (let i = 0; i < 100; i++) responses.push(StoreResponse.decode(await lp.read({ signal: AbortSignal.timeout(2000) })))
    } catch {
      // End of stream or a reset: both fine.
    }
    await handled // never rejects
    return responses
  }

  it('random bytes: the handler settles, and any answer is a refusal, not an internal error', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
      for (const response of await exchange(bytes)) {
        assert.notEqual(response.status, StoreResponse.Status.INTERNAL_ERROR)
      }
    }), { numRuns: 150 })
  })

  it('well-framed random requests are answered with a status, never an internal error', async () => {
    const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max })
    const auth = fc.record({ owner: bytes(40), timestamp: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), signature: bytes(70) })
    const request = fc.oneof(
      fc.record({ put: fc.record({ mailbox: fc.oneof(bytes(40), fc.uint8Array({ minLength: 32, maxLength: 32 })), envelope: fc.oneof(bytes(200), fc.uint8Array({ minLength: ENVELOPE_OVERHEAD, maxLength: 400 }).map(e => { e[0] = 1; return e })) }) }),
      fc.record({ fetch: fc.record({ mailbox: bytes(40), after: bytes(40), limit: fc.nat(), auth: fc.option(auth, { nil: undefined }) }) }),
      fc.record({ delete: fc.record({ mailbox: bytes(40), refs: fc.array(fc.record({ id: bytes(20), hash: bytes(40) }), { maxLength: 5 }), auth: fc.option(auth, { nil: undefined }) }) }),
      fc.record({ puts: fc.record({ puts: fc.array(fc.record({ mailbox: fc.oneof(bytes(40), fc.uint8Array({ minLength: 32, maxLength: 32 })), envelope: fc.oneof(bytes(200), fc.uint8Array({ minLength: ENVELOPE_OVERHEAD, maxLength: 400 }).map(e => { e[0] = 1; return e })) }), { maxLength: 8 }) }) }),
      fc.constant({})
    )
    await fc.assert(fc.asyncProperty(request, async (r) => {
      const encoded = StoreRequest.encode(r as unknown as StoreRequest)
      const framed = new Uint8Array([...varint(encoded.length), ...encoded])
      const responses = await exchange(framed)
      assert.equal(responses.length, 1)
      assert.notEqual(responses[0].status, StoreResponse.Status.INTERNAL_ERROR)
      assert.notEqual(responses[0].status, StoreResponse.Status.UNSPECIFIED)
      // A batch of puts: one result per put, each a status of its own, never an internal error.
      const puts = (r as { puts?: { puts: unknown[] } }).puts?.puts.length ?? 0
      if (puts > 0) {
        assert.equal(responses[0].results.length, puts)
        for (const result of responses[0].results) {
          assert.notEqual(result.status, StoreResponse.Status.INTERNAL_ERROR)
          assert.notEqual(result.status, StoreResponse.Status.UNSPECIFIED)
        }
      }
    }), { numRuns: 200 })
  })

  it('gossip checks and message ids: only InvalidGossipError, never another throw', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 3 }), async (data, shard) => {
      const topic = `/starling/mailbox/3.0.0/${shard}`
      assert.ok(mailboxMessageId({ type: 'unsigned', topic, data }).length > 0)
      try {
        await checkGossip(topic, data, { now: Date.now() })
      } catch (err) {
        assert.equal((err as Error).name, 'InvalidGossipError')
      }
    }), { numRuns: 500 })
  })
})

function varint (n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}
