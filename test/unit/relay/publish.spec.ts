/**
 * A relay with no linked relay builds and publishes no gossip for what it
 * stores (no peer would take it: relays accept gossip only from their own
 * linked relays); with linked relays every stored envelope is published.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { GossipSub } from '@libp2p/gossipsub'
import { MemoryLevel } from 'memory-level'
import { parseEnvelopeHeader } from '../../../src/crypto/envelope.js'
import { mailboxId, mailboxTopic } from '../../../src/protocols/store/index.js'
import { EnvelopeStore, MailboxRelay } from '../../../src/relay/index.js'
import { LevelStore } from '../../../src/store/index.js'
import { fakeEnvelope } from './helpers.js'

describe('relay: gossip published for stored envelopes', () => {
  for (const linked of [0, 1]) {
    it(`with ${linked} linked relays, a stored envelope is published ${linked === 0 ? 'nowhere' : 'on its shard topic'}`, async () => {
      const level = new LevelStore(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }))
      await level.open()
      const privateKey = await generateKeyPair('Ed25519')
      const published: string[] = []
      const pubsub = { publish: async (topic: string) => { published.push(topic); return { recipients: [] } } } as unknown as GossipSub
      const relay = new MailboxRelay({ registrar: { handle: async () => {}, unhandle: async () => {} }, peerId: peerIdFromPrivateKey(privateKey), privateKey, pubsub }, {
        store: new EnvelopeStore(level),
        relaySet: { has: () => false, size: linked },
        sweepIntervalMs: 0
      })
      const mailbox = mailboxId(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
      const envelope = fakeEnvelope()
      const outcome = await relay.put(mailbox, parseEnvelopeHeader(envelope).id, envelope, { source: 'ip4:127.0.0.1' })
      assert.equal(outcome.duplicate, false)
      assert.deepEqual(published, linked === 0 ? [] : [mailboxTopic(mailbox)])
      await relay.store.flush()
      await level.close()
    })
  }
})
