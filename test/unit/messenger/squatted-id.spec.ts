/**
 * Junk under a real envelope's id never takes the real envelope with it at
 * the reader. Relays keep each version of an id (its bytes) side by side,
 * so a device reading its relays side by side may open a malicious relay's
 * junk under a message's id while an honest relay's page brings the real
 * envelope. The second copy of an id used to wait for the first one and
 * share its fate whatever its bytes: the junk was refused, so the real
 * envelope was refused too, settled, and deleted by its own hash from every
 * relay of the network (the delete is signed and gossiped): the message was
 * lost. Now only the same bytes share a fate; other bytes are opened on
 * their own once the first settles.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { createNodeCrypto } from '../../../node/crypto/node-provider.js'
import type { Crypto } from '../../../src/crypto/index.js'
import { ENVELOPE_ID_LENGTH } from '../../../src/crypto/envelope.js'
import { makeReceiver, makeSender } from './parties.js'
import type { Receiver } from './parties.js'

const T0 = Date.UTC(2026, 11, 6)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const turn = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 0)) }
/** Where an envelope's ephemeral public key sits (version, id, key). */
const EPHEMERAL = { from: 1 + ENVELOPE_ID_LENGTH, to: 1 + ENVELOPE_ID_LENGTH + 32 }

/** Crypto whose X25519 with `blocked` (when set) waits on `hold` first. */
function holdingCrypto (inner: Crypto, gate: { blocked?: Uint8Array, hold?: Promise<void>, reached?: () => void }): Crypto {
  const x25519 = {
    ...inner.x25519,
    sharedSecret: async (sk: Uint8Array, pk: Uint8Array) => {
      if (gate.blocked != null && hex(pk) === hex(gate.blocked)) {
        gate.reached?.()
        await gate.hold
      }
      return await inner.x25519.sharedSecret(sk, pk)
    }
  }
  return { ...inner, x25519 }
}

describe('messenger: junk under a real envelope id, read side by side with the real envelope', function () {
  const base = createNodeCrypto()
  let receiver: Receiver | undefined
  afterEach(async () => { await receiver?.close() })

  it('the real envelope is stored and only the junk is deleted, though the junk was being opened first', async () => {
    const [evil, honest] = await Promise.all([0, 1].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    const deleted: Array<{ relay: string, id: string, hash: string }> = []
    const boxes = new Map<string, Array<{ id: Uint8Array, envelope: Uint8Array }>>([[evil.toString(), []], [honest.toString(), []]])
    let releaseHonest!: () => void
    const honestMayAnswer = new Promise<void>(resolve => { releaseHonest = resolve })
    let honestServed = false
    let releaseJunk!: () => void
    const gate: { blocked?: Uint8Array, hold?: Promise<void>, reached?: () => void } = {
      hold: new Promise<void>(resolve => { releaseJunk = resolve }),
      // The junk is being opened: now the honest relay answers.
      reached: () => { releaseHonest() }
    }
    receiver = await makeReceiver(holdingCrypto(base, gate), {
      now: () => T0,
      init: {
        relays: () => [evil, honest].map(peerId => ({ peerId, addrs: [] })),
        fetchIntervalMs: 3_600_000,
        transport: {
          sendDirect: async () => { throw new Error('offline') },
          storeOnRelay: async () => { throw new Error('offline') },
          fetchMailbox: async (relay: PeerId) => {
            if (relay.equals(honest)) {
              await honestMayAnswer
              honestServed = true
            }
            return { items: [...(boxes.get(relay.toString()) ?? [])], more: false }
          },
          deleteFromMailbox: async (relay: PeerId, refs) => {
            for (const ref of refs) deleted.push({ relay: relay.toString(), id: hex(ref.id), hash: hex(ref.hash) })
            const gone = new Set(refs.map(ref => hex(ref.hash)))
            const box = boxes.get(relay.toString()) ?? []
            for (let i = box.length - 1; i >= 0; i--) if (gone.has(hex(base.hash.sha256(box[i].envelope)))) box.splice(i, 1)
          }
        }
      }
    })
    const alice = await makeSender(base, receiver.me, T0, 'alice')
    const real = await alice.message({ kind: 'text', text: 'the real message' })
    const id = real.subarray(1, 1 + ENVELOPE_ID_LENGTH)
    // The malicious relay learned the id (from gossip) and serves junk under it.
    const junk = base.randomBytes(real.length)
    junk.set(real.subarray(0, 1 + ENVELOPE_ID_LENGTH))
    gate.blocked = junk.slice(EPHEMERAL.from, EPHEMERAL.to)
    boxes.get(evil.toString())?.push({ id, envelope: junk })
    boxes.get(honest.toString())?.push({ id, envelope: real })

    await receiver.messenger.start()
    // The honest relay's page arrives while the junk is being opened, then the junk's open goes on.
    while (!honestServed) await turn()
    for (let i = 0; i < 20; i++) await turn()
    releaseJunk()
    await receiver.messenger.readMailboxes()

    const texts = (await receiver.messenger.history.view(alice.account.identity.accountKey)).messages.map(m => m.text)
    assert.deepEqual(texts, ['the real message'], 'the real message is stored')
    const junkHash = hex(base.hash.sha256(junk))
    assert.ok(deleted.some(d => d.relay === evil.toString() && d.hash === junkHash), 'the junk is deleted from the relay that served it')
  })
})
