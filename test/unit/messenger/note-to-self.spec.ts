/**
 * Sending to our own handle is a Note to Self: stored in our own
 * conversation as ours, with replies, reactions and edits; never encrypted
 * for anyone, never handed to a relay, no outbox entry, and we do not
 * become our own contact. Before, it went to relays ("held by 1 relays"
 * forever) with ourselves pinned as a contact.
 */
import assert from 'node:assert/strict'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createCrypto } from '../../../src/crypto/index.js'
import { toHex } from '../../../src/messenger/bytes.js'
import type { Custody, DeliveryTransport, MailboxItem } from '../../../src/messenger/transport.js'
import { fakeDirectory, testDevice, testMessenger } from './harness.js'

/** Records every envelope handed out; relays take custody of all. */
class RecordingTransport implements DeliveryTransport {
  readonly direct: PeerId[] = []
  readonly stored: PeerId[] = []
  async sendDirect (peer: PeerId): Promise<void> {
    this.direct.push(peer)
    throw new Error('unreachable')
  }

  async storeOnRelay (relay: PeerId, _addrs: Multiaddr[], _recipient: PeerId, envelope: Uint8Array): Promise<Custody> {
    this.stored.push(relay)
    return { relay, stored: true, sha256: new Uint8Array(32), bytes: envelope.length } as unknown as Custody
  }

  async fetchMailbox (): Promise<{ items: MailboxItem[], more: boolean }> {
    return { items: [], more: false }
  }

  async deleteFromMailbox (): Promise<void> {}
}

describe('messenger: Note to Self', function () {
  this.timeout(20_000)

  it('a message to our own handle is stored as ours, sent to nobody, and we are no contact of ourselves', async () => {
    const crypto = createCrypto()
    const now = Date.now()
    const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const alice = await testDevice(crypto, 'alice', now, [relay])
    const transport = new RecordingTransport()
    const m = await testMessenger(crypto, alice, { transport, directory: fakeDirectory([alice]), now: () => Date.now(), relayPeers: [relay] })
    await m.start()
    try {
      const note = await m.send(alice.handle, { kind: 'text', text: 'buy milk' })
      assert.equal(note.note, true)
      assert.equal(note.handle, alice.handle)
      const bare = await m.send('alice', { kind: 'text', text: 'and bread' })
      assert.equal(bare.note, true, 'our bare name is us too when no contact is pinned under it')
      const reply = await m.send(alice.handle, { kind: 'reply', target: Buffer.from(note.id, 'hex'), text: 'done' })
      await m.send(alice.handle, { kind: 'reaction', target: Buffer.from(note.id, 'hex'), emoji: '👍', action: 'add' })
      await m.send(alice.handle, { kind: 'edit', target: Buffer.from(bare.id, 'hex'), text: 'and butter' })
      await new Promise(resolve => setTimeout(resolve, 200))

      const c = await m.conversation(alice.handle)
      const me = toHex(alice.accountKey)
      assert.deepEqual(c.view.messages.map(x => x.id), [note.id, bare.id, reply.id])
      assert.ok(c.view.messages.every(x => toHex(x.author.account) === me), 'every note is ours')
      assert.equal(c.view.messages[1].text, 'and butter')
      assert.deepEqual(c.view.messages[0].reactions.map(r => r.emoji), ['👍'])
      assert.deepEqual(c.statuses, {}, 'no outbox state: nothing waits to be delivered')
      assert.equal(m.delivery.size, 0, 'nothing in the outbox')
      assert.deepEqual(transport.direct, [], 'never sent directly')
      assert.deepEqual(transport.stored, [], 'never handed to a relay')
      assert.deepEqual(await m.contacts.list(), [], 'we are not our own contact')
    } finally {
      await m.stop()
    }
  })
})
