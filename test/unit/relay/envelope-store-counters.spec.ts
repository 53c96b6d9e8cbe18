/**
 * The envelope store's counters that a relay's operator now scrapes
 * (node/relay-ops/metrics.ts): envelopes that expired and were put again
 * in many mailboxes at once are all counted, and the number of mailboxes
 * holding envelopes follows puts and deletes and survives a reopen.
 */
import assert from 'node:assert/strict'
import { parseEnvelopeHeader } from '../../../src/crypto/envelope.js'
import { envelopeRef } from '../../../src/protocols/store/index.js'
import { EnvelopeStore, RETENTION_MS } from '../../../src/relay/index.js'
import { LevelStore } from '../../../src/store/index.js'
import { fakeClock, fakeEnvelope, tempDir } from './helpers.js'

const FROM = { source: 'ip4:127.0.0.1' }

function mailboxOf (n: number): Uint8Array {
  return new Uint8Array(32).fill(n)
}

describe('relay/envelope-store counters', () => {
  it('counts every expired envelope put again, when many mailboxes do it at once', async () => {
    const tmp = await tempDir()
    const level = new LevelStore(`${tmp.dir}/db`)
    await level.open()
    try {
      const clock = fakeClock(1_800_000_000_000)
      const store = new EnvelopeStore(level, { now: clock.now })
      const envelopes = Array.from({ length: 20 }, () => fakeEnvelope())
      for (const [i, e] of envelopes.entries()) await store.put(mailboxOf(i + 1), parseEnvelopeHeader(e).id, e, FROM)
      clock.t += RETENTION_MS + 1
      // Not swept yet: each put finds its expired copy, removes it and stores the new one, all at once.
      await Promise.all(envelopes.map(async (e, i) => await store.put(mailboxOf(i + 1), parseEnvelopeHeader(e).id, e, FROM)))
      assert.equal(store.metrics.expired, 20)
    } finally {
      await level.close()
      await tmp.remove()
    }
  })

  it('counts the mailboxes holding envelopes through puts, deletes and a reopen', async () => {
    const tmp = await tempDir()
    let level = new LevelStore(`${tmp.dir}/db`)
    await level.open()
    try {
      let store = new EnvelopeStore(level)
      const a = fakeEnvelope()
      const b = fakeEnvelope()
      const c = fakeEnvelope()
      await store.put(mailboxOf(1), parseEnvelopeHeader(a).id, a, FROM)
      await store.put(mailboxOf(1), parseEnvelopeHeader(b).id, b, FROM)
      await store.put(mailboxOf(2), parseEnvelopeHeader(c).id, c, FROM)
      assert.equal(store.mailboxes, 2)
      await store.delete(mailboxOf(1), [envelopeRef(parseEnvelopeHeader(a).id, a)])
      assert.equal(store.mailboxes, 2, 'mailbox 1 still holds b')
      await store.delete(mailboxOf(1), [envelopeRef(parseEnvelopeHeader(b).id, b)])
      assert.equal(store.mailboxes, 1)
      await level.close()
      level = new LevelStore(`${tmp.dir}/db`)
      await level.open()
      store = new EnvelopeStore(level)
      await store.held()
      assert.equal(store.mailboxes, 1, 'counted again when the store opens')
    } finally {
      await level.close()
      await tmp.remove()
    }
  })
})
