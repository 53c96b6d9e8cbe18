/**
 * Changes of one contact happen one at a time (src/messenger/contacts.ts).
 * Side by side, our first message to an account and its first message to
 * us both read "no contact"; the one written last won, so we could write to
 * someone whose record then said "request" (seen in the acid test: a file
 * from a contact we had written to waited as if from a stranger).
 */
import assert from 'node:assert/strict'
import { Contacts } from '../../../src/messenger/contacts.js'
import type { Store } from '../../../src/store/index.js'
import { memoryStore } from './harness.js'

describe('messenger: contact changes one at a time', function () {
  /** A store whose reads of contact records wait until the test opens the gate. */
  async function gatedStore (): Promise<{ store: Store, open: () => void, waiting: () => number }> {
    const raw = await memoryStore()
    let open!: () => void
    const gate = new Promise<void>(resolve => { open = resolve })
    let waiting = 0
    const account = new TextEncoder().encode('account/')
    const store: Store = {
      open: async () => { await raw.open() },
      close: async () => { await raw.close() },
      put: async (...a) => { await raw.put(...a) },
      del: async (...a) => { await raw.del(...a) },
      batch: async (...a) => { await raw.batch(...a) },
      iterate: (...a) => raw.iterate(...a),
      get: async (namespace, key) => {
        if (namespace === 'contacts' && account.every((b, i) => key[i] === b)) {
          waiting++
          await gate
        }
        return await raw.get(namespace, key)
      }
    }
    return { store, open, waiting: () => waiting }
  }
  const settle = async (): Promise<void> => { for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve)) }
  const alice = new Uint8Array(32).fill(7)
  const device = { peer: '12D3KooWAlice', key: new Uint8Array(32).fill(1) }

  it('our first message and theirs at once: the record says what our send was told', async () => {
    const { store, open, waiting } = await gatedStore()
    const contacts = new Contacts(store, () => 1)
    const outgoing = contacts.pinOutgoing({ alias: 'alice', account: alice, handle: 'alice~aaaa', devices: { [device.peer]: device.key } })
    const incoming = contacts.pinIncoming(alice, 'alice~aaaa', device.peer, device.key)
    await settle()
    assert.ok(waiting() >= 1)
    open()
    const [sent, received] = await Promise.all([outgoing, incoming])
    const stored = await new Contacts(store, () => 1).get(alice)
    assert.equal(stored?.state, sent.state, `our send saw "${sent.state}", the record says "${stored?.state}"`)
    assert.equal(received.state, sent.state)
  })

  it('accepting while their message is pinned: accepted stays', async () => {
    const { store, open } = await gatedStore()
    const first = new Contacts(store, () => 1)
    open()
    await first.pinIncoming(alice, 'alice~aaaa', device.peer, device.key)
    const { store: gated, open: openGate } = await gatedStore()
    await gated.batch([{ type: 'put', namespace: 'contacts', key: new Uint8Array([...new TextEncoder().encode('account/'), ...alice]), value: (await store.get('contacts', new Uint8Array([...new TextEncoder().encode('account/'), ...alice]))) as Uint8Array }])
    const contacts = new Contacts(gated, () => 1)
    const accepting = contacts.setState(alice, 'accepted')
    const again = contacts.pinIncoming(alice, 'alice~aaaa', device.peer, new Uint8Array(32).fill(2))
    await settle()
    openGate()
    await Promise.all([accepting, again])
    const stored = await new Contacts(gated, () => 1).get(alice)
    assert.equal(stored?.state, 'accepted')
    assert.ok(stored?.keyChange != null, 'the new key is still flagged')
  })

  it('a change that fails does not hold up the next one of that account', async () => {
    const contacts = new Contacts(await memoryStore(), () => 1)
    await assert.rejects(contacts.exclusive(alice, async () => { throw new Error('boom') }), /boom/)
    assert.equal(await contacts.exclusive(alice, async () => 'next'), 'next')
  })
})
