/**
 * A malicious relay of the network cannot make every reader burn CPU at
 * every mailbox pass (found by the attack review of the security issue). A
 * relay need not store anything to serve pages of envelopes minted on the
 * fly, sealed to the reader's public identity key under one ephemeral key
 * (one X25519 for the relay, one per envelope for the reader, who never
 * reuses DH results for relayed envelopes). Before: 100 pages of 500 at
 * every pass, 50,500 envelopes opened, about 12 s of CPU, every 30 s, per
 * such relay. Now one pass opens at most what a mailbox holds (10,000), a
 * relay whose envelopes are mostly refused is left for the rest of the pass
 * and waits on the backoff before it is read again, and a relay that serves
 * real mail keeps being read.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createNodeCrypto } from '../../../node/crypto/node-provider.js'
import type { Crypto } from '../../../src/crypto/index.js'
import { sealEnvelope } from '../../../src/crypto/envelope.js'
import { makeAccount, makeReceiver } from './parties.js'
import type { Receiver } from './parties.js'

const T0 = Date.UTC(2026, 11, 6)
const PAGE = 500
/** What one mailbox may hold by default: the most a reader should open from one relay in one pass. */
const MAILBOX_MAX_ENVELOPES = 10_000

function countingCrypto (inner: Crypto): { crypto: Crypto, dhs: () => number } {
  let calls = 0
  const x25519 = { ...inner.x25519, sharedSecret: async (sk: Uint8Array, pk: Uint8Array) => { calls++; return inner.x25519.sharedSecret(sk, pk) } }
  return { crypto: { ...inner, x25519 }, dhs: () => calls }
}

describe('messenger: a relay that serves pages of junk at every pass', function () {
  this.timeout(600_000)
  let receiver: Receiver
  afterEach(async () => { await receiver.close() })

  it(`one pass over one relay opens at most ${MAILBOX_MAX_ENVELOPES} envelopes, and a relay serving junk waits before it is read again`, async () => {
    const base = createNodeCrypto()
    const counter = countingCrypto(base)
    const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const attacker = await makeAccount(base, T0)
    const reader: { key?: Uint8Array } = {}
    let ephemeral: { publicKey: Uint8Array, sharedSecret: Uint8Array } | undefined
    let pages = 0
    let reading = true
    receiver = await makeReceiver(counter.crypto, {
      now: () => T0,
      init: {
        relays: () => [{ peerId: relay, addrs: [] }],
        fetchIntervalMs: 3_600_000,
        transport: {
          sendDirect: async () => { throw new Error('offline') },
          storeOnRelay: async () => { throw new Error('offline') },
          fetchMailbox: async () => {
            const recipientKey = reader.key
            if (!reading || recipientKey == null) return { items: [], more: false }
            pages++
            // Minted on the fly under one ephemeral key: the relay stores nothing and does one X25519 in all.
            if (ephemeral == null) {
              const pair = await base.x25519.generateKeyPair()
              ephemeral = { publicKey: pair.publicKey, sharedSecret: await base.x25519.sharedSecret(pair.secretKey, recipientKey) }
            }
            const eph = ephemeral
            const items = await Promise.all(Array.from({ length: PAGE }, async () => {
              const sealed = await sealEnvelope(base, recipientKey, { accountKey: attacker.identity.accountKey, identityKey: attacker.identity.identityKey }, base.randomBytes(64), { ephemeral: eph })
              return { id: sealed.envelope.subarray(1, 17), envelope: sealed.envelope }
            }))
            return { items, more: true }
          },
          deleteFromMailbox: async () => {}
        }
      }
    })
    reader.key = receiver.me.identity.identityKey.publicKey
    const before = counter.dhs()
    const cpu = process.cpuUsage()
    await receiver.messenger.start()
    await receiver.messenger.readMailboxes()
    const used = process.cpuUsage(cpu)
    const opened = counter.dhs() - before
    process.stdout.write(`      one pass: ${pages} pages, ${opened} envelopes opened (one X25519 each), ${((used.user + used.system) / 1000).toFixed(0)} ms of CPU (the relay's minting included)\n`)
    assert.ok(opened <= MAILBOX_MAX_ENVELOPES, `one pass over one relay opened ${opened} envelopes`)
    assert.ok(pages < 100, `the pass left the junk relay after ${pages} pages`)
    // The next passes (the clock has not moved) leave that relay alone: it waits on the backoff.
    const pagesBefore = pages
    await receiver.messenger.readMailboxes()
    await receiver.messenger.readMailboxes()
    assert.equal(pages, pagesBefore, 'not read again before its wait is over')
    reading = false
  })
})
