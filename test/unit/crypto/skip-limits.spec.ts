/**
 * Bounds on skipped message keys (issue 9, item 4): whoever holds a session
 * chooses the message numbers in its headers, so the work they cause is
 * checked before any key is derived.
 */
import assert from 'node:assert/strict'
import type { Crypto } from '../../../src/crypto/index.js'
import { MAX_SKIP, SKIP_SLICE, skipSendingKeys } from '../../../src/crypto/ratchet.js'
import { FIRST_MESSAGE_MAX_SKIP, decrypt, encrypt, initiateSession, respondToSession } from '../../../src/crypto/session.js'
import type { SessionState } from '../../../src/crypto/session.js'
import { daemonCrypto } from './providers.js'
import { T0, connectedPair, makeParty, str, text } from './parties.js'

/** The daemon's crypto, counting HMAC calls (a skipped key costs two). */
function counting (): { crypto: Crypto, hmacs: () => number } {
  let calls = 0
  const hash = { ...daemonCrypto.hash, hmacSha256: (key: Uint8Array, data: Uint8Array) => { calls++; return daemonCrypto.hash.hmacSha256(key, data) } }
  return { crypto: { ...daemonCrypto, hash }, hmacs: () => calls }
}

/** `state` with its sending chain moved on to position `n`. */
function at (crypto: Crypto, state: SessionState, n: number): SessionState {
  return { ...state, ratchet: skipSendingKeys(crypto, state.ratchet, n) }
}

describe('session: skipped message keys are bounded before they are derived', () => {
  it(`a first message may skip at most ${FIRST_MESSAGE_MAX_SKIP} keys; beyond, TooManySkippedError with nothing derived and nothing remembered`, async () => {
    const { crypto, hmacs } = counting()
    const a = await makeParty(crypto)
    const b = await makeParty(crypto)
    const { state } = await initiateSession(crypto, a.identity, b.bundle())
    const far = await encrypt(crypto, at(crypto, state, FIRST_MESSAGE_MAX_SKIP + 1), text('far'))
    const before = hmacs()
    await assert.rejects(respondToSession(crypto, b.device, far.message, b.guard, { now: T0 }), { name: 'TooManySkippedError' })
    assert.equal(hmacs() - before, 0, 'no chain key derived')
    // The same session's first message at the limit is answered (the guard did not record the refused one).
    const edge = await encrypt(crypto, at(crypto, state, FIRST_MESSAGE_MAX_SKIP), text('edge'))
    const r = await respondToSession(crypto, b.device, edge.message, b.guard, { now: T0 })
    assert.equal(str(r.plaintext), 'edge')
    // A caller's limit cannot raise the first-message one.
    const { state: other } = await initiateSession(crypto, a.identity, b.bundle())
    const far2 = await encrypt(crypto, at(crypto, other, FIRST_MESSAGE_MAX_SKIP + 1), text('far'))
    await assert.rejects(respondToSession(crypto, b.device, far2.message, b.guard, { now: T0, skip: { maxSkip: MAX_SKIP } }), { name: 'TooManySkippedError' })
  })

  it('charges the whole count once, before deriving, over both chains of a DH ratchet step; a refusal leaves the state usable', async () => {
    const { crypto, hmacs } = counting()
    let { alice, bob } = await connectedPair(crypto)
    // Bob has received message 0 of Alice's first chain; she sends 1,200
    // more on it that are lost, Bob replies, and she starts a new chain at 900:
    // each chain alone is within MAX_SKIP, both together are not.
    alice = at(crypto, alice, 1_201)
    const reply = await encrypt(crypto, bob, text('reply'))
    bob = reply.state
    alice = (await decrypt(crypto, alice, reply.message)).state
    const far = await encrypt(crypto, at(crypto, alice, 900), text('new chain'))
    const near = await encrypt(crypto, at(crypto, alice, 700), text('near'))
    const charges: number[] = []
    const before = hmacs()
    await assert.rejects(decrypt(crypto, bob, far.message, undefined, { charge: (n) => { charges.push(n) } }), { name: 'TooManySkippedError' })
    assert.equal(charges.length, 0, 'refused before charging')
    assert.equal(hmacs() - before, 0, 'refused before deriving')

    const refusal = new Error('over budget')
    await assert.rejects(decrypt(crypto, bob, near.message, undefined, { charge: (n) => { charges.push(n); throw refusal } }), refusal)
    assert.deepEqual(charges, [1_200 + 700])
    assert.equal(hmacs() - before, 0, 'a refused charge derives nothing')
    const ok = await decrypt(crypto, bob, near.message, undefined, { charge: (n) => { charges.push(n) } })
    assert.equal(str(ok.plaintext), 'near')
    assert.deepEqual(charges, [1_900, 1_900])
    // In-order messages skip nothing and are never charged.
    const next = await encrypt(crypto, near.state, text('next'))
    await decrypt(crypto, ok.state, next.message, undefined, { charge: () => { throw new Error('charged for no skip') } })
  })

  it(`a skip of ${MAX_SKIP} keys lets the event loop run between slices of ${SKIP_SLICE}`, async () => {
    const crypto = daemonCrypto
    const { alice, bob } = await connectedPair(crypto)
    const far = await encrypt(crypto, at(crypto, alice, MAX_SKIP), text('far'))
    let turns = 0
    const ticker = setInterval(() => { turns++ }, 0)
    try {
      const out = await decrypt(crypto, bob, far.message)
      assert.equal(str(out.plaintext), 'far')
    } finally {
      clearInterval(ticker)
    }
    assert.ok(turns >= MAX_SKIP / SKIP_SLICE - 2, `the timer ran ${turns} times during the skip`)
  })
})
