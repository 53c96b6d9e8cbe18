/**
 * Attacks on the work a first message (PQXDH) makes us do. Answering one
 * costs a signature check, three X25519 and an ML-KEM decapsulation before
 * anything tells us whether the message is any good, and anyone can send
 * one: a stranger needs only our public bundle. Two ways a stranger made us
 * repeat that work without limit:
 *
 * - a refused first message (its body does not decrypt) is refused after
 *   the PQXDH work and remembered nowhere, so the same one, sealed again
 *   under fresh envelope ids (or with a fresh base key), costs the work
 *   again every time: a direct stream of them kept a core busy while
 *   costing the sender nothing but bytes;
 * - a first message "received again later" (over the strangers' skip
 *   budget) stays in the relay mailbox and was answered again, PQXDH and
 *   all, on every mailbox pass (every 30 s), for as long as the relay keeps
 *   it (30 days).
 *
 * The work is counted exactly (ML-KEM decapsulations: one per PQXDH
 * answer), not timed, so the tests hold on a busy machine; the CPU time is
 * printed for the record.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createNodeCrypto } from '../../../node/crypto/node-provider.js'
import type { Crypto } from '../../../src/crypto/index.js'
import { skipSendingKeys } from '../../../src/crypto/ratchet.js'
import { FIRST_MESSAGE_MAX_SKIP } from '../../../src/crypto/session.js'
import { DEFAULT_FIRST_MESSAGE_BUDGET } from '../../../src/messenger/first-message-budget.js'
import { DEFAULT_SKIP_BUDGET } from '../../../src/messenger/skip-budget.js'
import { claimingEnvelope, makeReceiver, makeSender } from './parties.js'
import type { Receiver, Sender } from './parties.js'

const T0 = Date.UTC(2026, 11, 6)

/** Counts ML-KEM decapsulations: each PQXDH answer makes exactly one. */
function countingCrypto (inner: Crypto): { crypto: Crypto, decaps: () => number } {
  let calls = 0
  const kem = { ...inner.kem, decapsulate: async (sk: Uint8Array, ct: Uint8Array) => { calls++; return inner.kem.decapsulate(sk, ct) } }
  return { crypto: { ...inner, kem }, decaps: () => calls }
}

/** Receives each envelope directly; the outcome of each ('stored' or the error name). */
async function receiveDirect (receiver: Receiver, envelopes: Uint8Array[], from: Sender): Promise<string[]> {
  const outcomes: string[] = []
  for (const envelope of envelopes) {
    try {
      await receiver.messenger.receiveDirect(envelope, from.account.peerId)
      outcomes.push('stored')
    } catch (err) {
      outcomes.push((err as Error).name)
    }
  }
  return outcomes
}

function cpuMs (since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since)
  return (used.user + used.system) / 1000
}

describe('messenger: strangers cannot make us answer first messages (PQXDH) without limit', function () {
  const base = createNodeCrypto()
  let now = T0
  let receiver: Receiver
  let counter: ReturnType<typeof countingCrypto>

  afterEach(async () => { await receiver.close() })

  it('a refused first message sealed again and again, from three sybils: the PQXDH work stays within the strangers\' budget', async () => {
    now = T0
    counter = countingCrypto(base)
    receiver = await makeReceiver(counter.crypto, { now: () => now })
    const ATTEMPTS = 3 * DEFAULT_FIRST_MESSAGE_BUDGET.capacity
    const sybils = await Promise.all([0, 1, 2].map(async () => makeSender(base, receiver.me, now)))
    // Each envelope: the sybil's valid PQXDH header, a ratchet body that never decrypts, a fresh envelope id.
    const envelopes = await Promise.all(Array.from({ length: ATTEMPTS }, async (_, i) => claimingEnvelope(base, sybils[i % 3], 0)))
    const before = counter.decaps()
    const cpu = process.cpuUsage()
    const outcomes = await Promise.all(sybils.map(async (s, k) => receiveDirect(receiver, envelopes.filter((_, i) => i % 3 === k), s)))
    const decaps = counter.decaps() - before
    process.stdout.write(`      ${ATTEMPTS} refused first messages: ${decaps} PQXDH answers, ${cpuMs(cpu).toFixed(0)} ms of CPU\n`)
    assert.ok(outcomes.flat().every(o => o === 'RejectedEnvelopeError' || o === 'FirstMessageBudgetError'), outcomes.flat().join(' '))
    assert.ok(decaps <= DEFAULT_FIRST_MESSAGE_BUDGET.capacity, `${decaps} PQXDH answers for ${ATTEMPTS} attempts; the strangers' budget is ${DEFAULT_FIRST_MESSAGE_BUDGET.capacity}`)

    // An accepted contact is not held up by the strangers: its new session (a restored backup, say) is answered at once.
    const carol = await makeSender(base, receiver.me, now, 'carol')
    await receiver.messenger.contacts.save({ account: Buffer.from(carol.account.identity.accountKey).toString('hex'), handle: 'carol~test', state: 'accepted', devices: { [carol.account.peerId.toString()]: Buffer.from(carol.account.identity.identityKey.publicKey).toString('hex') }, addedAt: now })
    assert.deepEqual(await receiveDirect(receiver, [await carol.message({ kind: 'text', text: 'new phone, same me' })], carol), ['stored'])
    // Once the budget has refilled, a real stranger's first message is answered and stored.
    now += DEFAULT_FIRST_MESSAGE_BUDGET.refillMs
    const dave = await makeSender(base, receiver.me, now, 'dave')
    assert.deepEqual(await receiveDirect(receiver, [await dave.message({ kind: 'text', text: 'hello' })], dave), ['stored'])
  })

  it('first messages kept in the mailbox for later are not answered again on every pass', async () => {
    now = T0
    counter = countingCrypto(base)
    const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const mailbox: Array<{ id: Uint8Array, envelope: Uint8Array }> = []
    const deleted = new Set<string>()
    let passes = 0
    const unreachable = async (): Promise<never> => { throw new Error('offline') }
    receiver = await makeReceiver(counter.crypto, {
      now: () => now,
      init: {
        relays: () => [{ peerId: relay, addrs: [] }],
        fetchIntervalMs: 3_600_000,
        transport: {
          sendDirect: unreachable,
          storeOnRelay: unreachable,
          fetchMailbox: async () => {
            passes++
            return { items: mailbox.filter(m => !deleted.has(Buffer.from(m.id).toString('hex'))), more: false }
          },
          deleteFromMailbox: async (_relay, refs) => { for (const ref of refs) deleted.add(Buffer.from(ref.id).toString('hex')) }
        }
      }
    })
    await receiver.messenger.start()
    /** At least one whole mailbox pass: one that starts after this call has finished once the next one has started. */
    const pass = async (): Promise<void> => {
      const target = passes + 2
      while (passes < target) {
        receiver.messenger.fetchSoon()
        await new Promise(resolve => setTimeout(resolve, 5))
      }
    }
    // Strangers' first messages, each skipping as far as a first message may: the strangers' skip budget takes a few.
    const KEPT = 40
    const fits = DEFAULT_SKIP_BUDGET.strangers.capacity / FIRST_MESSAGE_MAX_SKIP
    for (let i = 0; i < KEPT; i++) {
      const s = await makeSender(base, receiver.me, now)
      s.session = { ...s.session, ratchet: skipSendingKeys(base, s.session.ratchet, FIRST_MESSAGE_MAX_SKIP) }
      const envelope = await s.message({ kind: 'text', text: `spam ${i}` })
      mailbox.push({ id: envelope.subarray(1, 17), envelope })
    }
    const first = counter.decaps()
    let cpu = process.cpuUsage()
    await pass()
    process.stdout.write(`      first pass: ${counter.decaps() - first} PQXDH answers, ${cpuMs(cpu).toFixed(0)} ms of CPU, ${deleted.size} settled\n`)
    assert.equal(deleted.size, fits, 'the strangers\' skip budget took this many; the rest wait on the relay')
    const later = counter.decaps()
    const reads = passes
    cpu = process.cpuUsage()
    for (let i = 0; i < 5; i++) await pass()
    const again = counter.decaps() - later
    process.stdout.write(`      ${passes - reads} more mailbox reads in the same minute: ${again} PQXDH answers, ${cpuMs(cpu).toFixed(0)} ms of CPU\n`)
    assert.ok(again <= KEPT - fits, `${again} PQXDH answers in ${passes - reads} mailbox reads for ${KEPT - fits} kept first messages`)
    assert.equal(deleted.size, fits, 'nothing kept was dropped')

    // Kept, not lost: as the budgets refill, every one of them is stored in the end.
    for (let round = 0; round < 20 && deleted.size < KEPT; round++) {
      now += DEFAULT_SKIP_BUDGET.strangers.refillMs
      await pass()
    }
    assert.equal(deleted.size, KEPT, 'every kept first message was stored once the budgets allowed')
  })
})
