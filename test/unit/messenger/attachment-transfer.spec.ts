/**
 * Attachments in conversations (attachment-transfer.ts) alone: the store in
 * memory, blobs in a MemoryBlobStore, the messenger's send and recipient
 * lookup and the platform's download replaced by logs, on a fake clock. What
 * we send may be pulled only by the devices it went to; a large file from a
 * message request is not fetched until the request is accepted, and then
 * only from the sender's direct addresses, never through a relay.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { AttachmentTransfer } from '../../../src/messenger/attachment-transfer.js'
import { MAX_RELAY_ATTACHMENT_BYTES, MemoryBlobStore } from '../../../src/messenger/attachments/index.js'
import type { AttachmentDescriptor, MessageBody, RemoteDevice } from '../../../src/messenger/index.js'
import { remoteDevice } from '../../../src/messenger/devices.js'
import { toHex } from '../../../src/messenger/bytes.js'
import { createCrypto } from '../../../src/crypto/index.js'
import { testDevice } from './harness.js'
import type { TestDevice } from './harness.js'
import { deviceState } from './parts-fixture.js'
import type { DeviceState } from './parts-fixture.js'

const crypto = createCrypto()
const T0 = Date.UTC(2026, 11, 6)

describe('messenger: AttachmentTransfer', function () {
  this.timeout(30_000)
  let clock: FakeTimers.Clock
  let alice: TestDevice
  let bob: TestDevice
  let mallory: TestDevice
  let state: DeviceState
  let sent: MessageBody[]
  let chunks: number
  let downloads: Array<{ peer: string, id: string, addrs: string[] }>
  let transfer: AttachmentTransfer

  beforeEach(async () => {
    clock = FakeTimers.install({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    alice = await testDevice(crypto, 'alice', T0)
    bob = await testDevice(crypto, 'bob', T0)
    mallory = await testDevice(crypto, 'mallory', T0)
    state = await deviceState(crypto, () => clock.now)
    sent = []
    chunks = 0
    downloads = []
    // Alice's device as the messenger knows it: one direct address and one through a relay.
    const aliceDevice: RemoteDevice = {
      ...remoteDevice(alice.record),
      addrs: [multiaddr(`/ip4/127.0.0.1/tcp/4002/p2p/${alice.peerId.toString()}`), multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${mallory.peerId.toString()}/p2p-circuit/p2p/${alice.peerId.toString()}`)]
    }
    transfer = new AttachmentTransfer({
      crypto,
      store: state.store,
      commit: state.commit,
      emit: state.emit,
      now: () => clock.now,
      retryIntervalMs: 1_000,
      running: () => true,
      contacts: state.contacts,
      recipient: async (handle) => {
        const contact = await state.contacts.pinOutgoing({ account: bob.accountKey, handle, devices: {} })
        return { contact, account: bob.accountKey, handle, devices: [remoteDevice(bob.record)] }
      },
      send: async (handle, body) => {
        sent.push(body)
        return { id: toHex(crypto.randomBytes(16)), handle, state: 'queued' }
      },
      enqueueChunk: async () => { chunks++ },
      device: async (peerId) => peerId.equals(alice.peerId) ? aliceDevice : undefined
    }, {
      blobs: new MemoryBlobStore(),
      download: async (peer, d, _signal, addrs: Multiaddr[]) => {
        downloads.push({ peer: peer.toString(), id: toHex(d.id), addrs: addrs.map(String) })
        throw new Error('sender offline')
      }
    })
  })

  afterEach(() => {
    transfer.stop()
    clock.uninstall()
  })

  it('a file we send may be pulled by the devices it went to, and nobody else; a small one also goes as chunks', async () => {
    const bytes = new Uint8Array(100_000).map((_, i) => i % 251)
    await transfer.send(bob.handle, [{ input: bytes, fileName: 'notes.bin', mimeType: 'application/octet-stream', kind: 'file' }], 'for you')
    assert.equal(sent.length, 1)
    const body = sent[0]
    assert.ok(body.kind === 'attachment')
    assert.equal(body.attachments[0].caption, 'for you')
    assert.equal(body.attachments[0].size, bytes.length)
    assert.equal(await transfer.authorise(body.attachments[0].id, bob.peerId), true)
    assert.equal(await transfer.authorise(body.attachments[0].id, mallory.peerId), false)
    assert.equal(await transfer.authorise(crypto.randomBytes(16), bob.peerId), false, 'an unknown id')
    assert.equal(chunks, Math.ceil(bytes.length / body.attachments[0].chunkSize), 'small enough to travel through relays too')
    assert.deepEqual((await transfer.descriptor(body.attachments[0].id))?.sha256, body.attachments[0].sha256)
  })

  it('a large file from a message request waits for acceptance, then is pulled from the sender\'s direct addresses only', async () => {
    const d: AttachmentDescriptor = {
      id: crypto.randomBytes(16),
      fileName: 'film.mp4',
      mimeType: 'video/mp4',
      kind: 'file',
      size: MAX_RELAY_ATTACHMENT_BYTES + 1,
      sha256: crypto.randomBytes(32),
      key: crypto.randomBytes(32),
      chunkSize: 64 * 1024
    }
    await transfer.received(d, alice.peerId, { account: alice.accountKey, accepted: false })
    await clock.tickAsync(60_000)
    assert.deepEqual(downloads, [], 'a request\'s attachment is not fetched')
    assert.equal((await transfer.state(d.id))?.waiting, 'request')

    await state.contacts.pinIncoming(alice.accountKey, alice.handle, alice.peerId.toString(), alice.identity.identityKey.publicKey)
    await state.contacts.setState(alice.accountKey, 'accepted')
    await transfer.accepted(alice.accountKey)
    await clock.tickAsync(10)
    assert.equal(downloads.length, 1)
    assert.deepEqual(downloads[0], { peer: alice.peerId.toString(), id: toHex(d.id), addrs: [`/ip4/127.0.0.1/tcp/4002/p2p/${alice.peerId.toString()}`] })
    assert.equal((await transfer.state(d.id))?.waiting, undefined)
  })
})
