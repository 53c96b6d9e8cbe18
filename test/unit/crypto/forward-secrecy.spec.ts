/**
 * Forward secrecy and post-compromise recovery (Double Ratchet spec §1 and
 * §6.5): old ciphertexts do not decrypt with later states; a stolen copy of
 * Alice's state stops working once the DH ratchet has turned.
 */
import assert from 'node:assert/strict'
import { decrypt, encrypt } from '../../../src/crypto/session.js'
import type { SessionState } from '../../../src/crypto/session.js'
import { daemonCrypto as crypto } from './providers.js'
import { connectedPair, str, text } from './parties.js'

async function send (from: SessionState, to: SessionState, body: string): Promise<{ from: SessionState, to: SessionState, message: Uint8Array }> {
  const m = await encrypt(crypto, from, text(body))
  const d = await decrypt(crypto, to, m.message)
  assert.equal(str(d.plaintext), body)
  return { from: m.state, to: d.state, message: m.message }
}

const REJECTED = /^(ReplayError|DecryptionError)$/

describe('forward secrecy and recovery', () => {
  it('recorded ciphertexts do not decrypt with either party\'s later state', async () => {
    let { alice, bob } = await connectedPair(crypto)
    const recorded: Uint8Array[] = []
    let r = await send(bob, alice, 'b1');
    [bob, alice] = [r.from, r.to]
    r = await send(alice, bob, 'a1');
    [alice, bob] = [r.from, r.to]
    recorded.push(r.message)
    r = await send(bob, alice, 'b2');
    [bob, alice] = [r.from, r.to]
    recorded.push(r.message)
    for (let i = 0; i < 3; i++) {
      r = await send(alice, bob, `a${i}`);
      [alice, bob] = [r.from, r.to]
      r = await send(bob, alice, `b${i}`);
      [bob, alice] = [r.from, r.to]
    }
    for (const m of recorded) {
      for (const state of [alice, bob]) {
        await assert.rejects(decrypt(crypto, state, m), (err: Error) => REJECTED.test(err.name))
      }
    }
  })

  it('a stolen copy of Alice\'s state stops decrypting new messages after two round trips', async () => {
    let { alice, bob } = await connectedPair(crypto)
    let r = await send(bob, alice, 'hi');
    [bob, alice] = [r.from, r.to]
    const stolen = alice

    // Right after the theft the copy reads Bob's next message: the test can fail.
    const early = await encrypt(crypto, bob, text('still readable'))
    assert.equal(str((await decrypt(crypto, stolen, early.message)).plaintext), 'still readable')

    for (let i = 0; i < 2; i++) {
      r = await send(alice, bob, `a${i}`);
      [alice, bob] = [r.from, r.to]
      r = await send(bob, alice, `b${i}`);
      [bob, alice] = [r.from, r.to]
    }
    const later = await encrypt(crypto, bob, text('private again'))
    await assert.rejects(decrypt(crypto, stolen, later.message), { name: 'DecryptionError' })
    assert.equal(str((await decrypt(crypto, alice, later.message)).plaintext), 'private again')
  })
})
