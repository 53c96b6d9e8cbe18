import assert from 'node:assert/strict'
import { toHex } from '../../../src/crypto/bytes.js'
import { RATCHET_OVERHEAD } from '../../../src/crypto/header.js'
import { MAX_SKIP, MAX_STORED_SKIPPED } from '../../../src/crypto/ratchet.js'
import { SEND_RESERVATION, confirmSession, decodeSession, decrypt, encodeSession, encrypt, initiateSession, isPrekeyMessage, reserveSend, respondToSession, resumeSession } from '../../../src/crypto/session.js'
import type { SessionState } from '../../../src/crypto/session.js'
import { daemonCrypto as crypto } from './providers.js'
import { T0, connectedPair, makeParty, str, text } from './parties.js'

/** Alice and Bob after Bob's reply reached Alice: both sides have sending chains. */
async function talking (): Promise<{ alice: SessionState, bob: SessionState }> {
  const { alice, bob } = await connectedPair(crypto)
  const reply = await encrypt(crypto, bob, text('hi'))
  return { alice: (await decrypt(crypto, alice, reply.message)).state, bob: reply.state }
}

describe('session (Double Ratchet with header encryption)', () => {
  it('talks both ways over many turns; a ratchet message adds 85 bytes', async () => {
    let { alice, bob } = await talking()
    assert.equal(alice.pendingPrekey, undefined, 'the reply ended the PQXDH header')
    for (let turn = 0; turn < 10; turn++) {
      for (let i = 0; i < 3; i++) {
        const m = await encrypt(crypto, alice, text(`a${turn}.${i}`))
        assert.equal(m.message.length, text(`a${turn}.${i}`).length + RATCHET_OVERHEAD)
        alice = m.state
        const d = await decrypt(crypto, bob, m.message)
        assert.equal(str(d.plaintext), `a${turn}.${i}`)
        bob = d.state
      }
      const m = await encrypt(crypto, bob, text(`b${turn}`))
      bob = m.state
      const d = await decrypt(crypto, alice, m.message)
      assert.equal(str(d.plaintext), `b${turn}`)
      alice = d.state
    }
    assert.equal(RATCHET_OVERHEAD, 85)
  })

  it('survives a restart: serialise, deserialise, keep talking (skipped keys included)', async () => {
    let { alice, bob } = await talking()
    const late = await encrypt(crypto, alice, text('late'))
    const next = await encrypt(crypto, late.state, text('next'))
    bob = (await decrypt(crypto, bob, next.message)).state
    assert.equal(bob.ratchet.skipped.length, 1)
    alice = decodeSession(encodeSession(next.state))
    bob = decodeSession(encodeSession(bob))
    assert.equal(toHex(encodeSession(bob)), toHex(encodeSession(decodeSession(encodeSession(bob)))))
    const d = await decrypt(crypto, bob, late.message)
    assert.equal(str(d.plaintext), 'late')
    const r = await encrypt(crypto, d.state, text('back'))
    assert.equal(str((await decrypt(crypto, alice, r.message)).plaintext), 'back')
  })

  it('rejects tampered, truncated, replayed and wrong-session messages with named errors, leaving the state unchanged', async () => {
    const { alice, bob } = await talking()
    const other = await talking()
    const m = await encrypt(crypto, alice, text('original message'))
    const before = toHex(encodeSession(bob))
    const cases: Array<[string, Uint8Array, string]> = []
    for (const offset of [0, 5, 20, 68, 70, m.message.length - 1]) {
      const t = m.message.slice()
      t[offset] ^= 0x04
      cases.push([`bit flip at ${offset}`, t, offset === 0 ? 'InvalidMessageError' : 'DecryptionError'])
    }
    cases.push(['truncated body', m.message.subarray(0, m.message.length - 1), 'DecryptionError'])
    cases.push(['truncated below the overhead', m.message.subarray(0, 80), 'InvalidMessageError'])
    cases.push(['empty', new Uint8Array(0), 'InvalidMessageError'])
    cases.push(['another session', (await encrypt(crypto, other.alice, text('original message'))).message, 'DecryptionError'])
    for (const [what, bytes, name] of cases) {
      await assert.rejects(decrypt(crypto, bob, bytes), { name }, what)
      assert.equal(toHex(encodeSession(bob)), before, `${what}: state unchanged`)
    }
    await assert.rejects(decrypt(crypto, bob, m.message, text('other ad')), { name: 'DecryptionError' }, 'wrong associated data')
    const ok = await decrypt(crypto, bob, m.message)
    assert.equal(str(ok.plaintext), 'original message')
    await assert.rejects(decrypt(crypto, ok.state, m.message), { name: 'ReplayError' })
  })

  it('stops sending the PQXDH header once the session is confirmed, and only for its own base key', async () => {
    const a = await makeParty(crypto)
    const b = await makeParty(crypto)
    const { state: a0 } = await initiateSession(crypto, a.identity, b.bundle())
    const first = await encrypt(crypto, a0, text('one'))
    assert.equal(isPrekeyMessage(first.message), true)
    const r = await respondToSession(crypto, b.device, first.message, b.guard, { now: T0 })
    // Unconfirmed, every message carries the header (about 1.2 KB).
    const second = await encrypt(crypto, first.state, text('two'))
    assert.equal(isPrekeyMessage(second.message), true)
    assert.equal(confirmSession(second.state, new Uint8Array(32).fill(7)), undefined, 'another session\'s base key confirms nothing')
    const confirmed = confirmSession(second.state, a0.baseKey)
    assert.ok(confirmed != null)
    assert.equal(confirmSession(confirmed, a0.baseKey), undefined, 'confirming twice changes nothing')
    const third = await encrypt(crypto, confirmed, text('three'))
    assert.equal(isPrekeyMessage(third.message), false)
    assert.ok(third.message.length < second.message.length - 1000)
    // Bob reads the header-carrying message sent before the confirmation and the plain one after, in either order.
    const b3 = await decrypt(crypto, r.state, third.message)
    assert.equal(str(b3.plaintext), 'three')
    const b2 = await decrypt(crypto, b3.state, second.message)
    assert.equal(str(b2.plaintext), 'two')
  })

  it('reserves sending positions; a state read back after a crash resumes past them, so no message key is used twice', async () => {
    const { alice, bob } = await connectedPair(crypto)
    const first = reserveSend(alice)
    assert.equal(first.durableFirst, true, 'a new sending chain needs its reservation stored before sending')
    assert.equal(reserveSend(first.state).durableFirst, false, 'covered positions need nothing more')
    // The reservation is stored (synced); then five messages go out whose states never reach the disk.
    const stored = encodeSession(first.state)
    let a = first.state
    let b = bob
    for (let i = 0; i < 5; i++) {
      const out = await encrypt(crypto, reserveSend(a).state, text(`sent ${i}`))
      a = out.state
      b = (await decrypt(crypto, b, out.message)).state
    }
    // Power cut: the state read back is the stored one. Used as it is, its next message reuses message key 0: Bob refuses it.
    const asStored = decodeSession(stored)
    const reused = await encrypt(crypto, asStored, text('reused'))
    await assert.rejects(decrypt(crypto, b, reused.message))
    // Resumed, it continues after the reservation: Bob reads it.
    const resumed = resumeSession(crypto, decodeSession(stored))
    assert.equal(resumed.ratchet.ns, alice.ratchet.ns + SEND_RESERVATION)
    const next = await encrypt(crypto, resumed, text('after the crash'))
    assert.equal(str((await decrypt(crypto, b, next.message)).plaintext), 'after the crash')
    // Resuming a state whose chain is not the reserved one, or already past it, changes nothing.
    assert.equal(resumeSession(crypto, resumed), resumed)
    assert.equal(resumeSession(crypto, alice), alice)
    // Once the reservation is used up, the next message needs a new one stored first.
    let used = resumed
    used = { ...used, ratchet: { ...used.ratchet, ns: used.sendReservation?.until ?? 0 } }
    assert.equal(reserveSend(used).durableFirst, true)
  })

  it('reads version-1 session states (no reservation)', async () => {
    const { alice } = await connectedPair(crypto)
    const v2 = encodeSession(alice)
    assert.equal(v2[0], 2)
    assert.equal(v2[v2.length - 1], 0, 'no reservation')
    const v1 = v2.slice(0, -1)
    v1[0] = 1
    assert.deepEqual(encodeSession(decodeSession(v1)), v2)
  })

  it('binds the caller\'s associated data', async () => {
    const { alice, bob } = await talking()
    const m = await encrypt(crypto, alice, text('x'), text('envelope-id'))
    await assert.rejects(decrypt(crypto, bob, m.message), { name: 'DecryptionError' })
    assert.equal(str((await decrypt(crypto, bob, m.message, text('envelope-id'))).plaintext), 'x')
  })

  it(`refuses a jump of more than ${MAX_SKIP} messages with TooManySkippedError`, async () => {
    const { alice, bob } = await talking()
    const far = { ...alice, ratchet: { ...alice.ratchet, ns: MAX_SKIP + 1 } }
    const m = await encrypt(crypto, far, text('far'))
    await assert.rejects(decrypt(crypto, bob, m.message), { name: 'TooManySkippedError' })
    assert.equal(str((await decrypt(crypto, bob, (await encrypt(crypto, alice, text('near'))).message)).plaintext), 'near', 'the same session still works')
  })

  it(`keeps at most ${MAX_STORED_SKIPPED} skipped keys, dropping the oldest`, async () => {
    let { alice, bob } = await talking()
    const sent: Uint8Array[] = []
    for (let i = 0; i < MAX_STORED_SKIPPED + 11; i++) {
      const m = await encrypt(crypto, alice, text(`m${i}`))
      alice = m.state
      sent.push(m.message)
    }
    // Two skips, each within MAX_SKIP, together more than can be kept.
    const middle = Math.floor(sent.length / 2)
    bob = (await decrypt(crypto, bob, sent[middle])).state
    bob = (await decrypt(crypto, bob, sent[sent.length - 1])).state
    assert.equal(bob.ratchet.skipped.length, MAX_STORED_SKIPPED)
    await assert.rejects(decrypt(crypto, bob, sent[0]), { name: 'ReplayError' })
    assert.equal(str((await decrypt(crypto, bob, sent[10])).plaintext), 'm10')
  })
})
