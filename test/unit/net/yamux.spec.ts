import assert from 'node:assert/strict'
import { createLibp2p } from 'libp2p'
import type { Libp2p, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { lazyWindowUpdates, starlingYamux } from '../../../src/net/yamux.js'

const PROTOCOL = '/starling-test/window/1.0.0'
const KIB = new Uint8Array(1024)

interface Windowed { sendWindowCapacity: number, recvWindow: number, recvWindowCapacity: number }

async function pair (muxer: typeof yamux): Promise<{ nodes: Libp2p[], sender: Stream, receiver: Promise<Stream>, received: () => number }> {
  const make = async (): Promise<Libp2p> => createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [muxer()]
  })
  const nodes = [await make(), await make()]
  let bytes = 0
  let gotStream!: (s: Stream) => void
  const receiver = new Promise<Stream>(resolve => { gotStream = resolve })
  await nodes[1].handle(PROTOCOL, (stream) => {
    stream.addEventListener('message', (evt) => { bytes += evt.data.byteLength })
    gotStream(stream)
  })
  const sender = await nodes[0].dialProtocol(nodes[1].getMultiaddrs(), PROTOCOL)
  return { nodes, sender, receiver, received: () => bytes }
}

async function until (check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

describe('net: yamux window updates', function () {
  this.timeout(20_000)

  it('are sent once half the window is used, not after every frame', async () => {
    const { nodes, sender, receiver, received } = await pair(starlingYamux)
    try {
      const out = sender as unknown as Windowed
      const initial = out.sendWindowCapacity
      assert.ok(initial >= 64 * 1024, 'the library stream keeps its window fields')
      for (let i = 0; i < 20; i++) sender.send(KIB)
      await until(() => received() === 20 * 1024, '20 KiB to arrive')
      const inbound = await receiver as unknown as Windowed
      // Nothing was sent back: both sides still count the 20 KiB against the window.
      assert.ok(inbound.recvWindowCapacity <= inbound.recvWindow - 20 * 1024, `receiver capacity ${inbound.recvWindowCapacity} of ${inbound.recvWindow}`)
      await new Promise(resolve => setTimeout(resolve, 50))
      assert.ok(out.sendWindowCapacity <= initial - 20 * 1024, `sender capacity ${out.sendWindowCapacity}, was ${initial}`)
      // Past half the window an update comes, and the sender never runs dry.
      const more = Math.ceil(inbound.recvWindow / 2 / 1024) + 1
      for (let i = 0; i < more; i++) sender.send(KIB)
      await until(() => received() === (20 + more) * 1024, 'the rest to arrive')
      await until(() => out.sendWindowCapacity > initial / 2, 'a window update')
    } finally {
      await Promise.all(nodes.map(async n => n.stop()))
    }
  })

  it('(control) the library alone answers every data frame with an update', async () => {
    const { nodes, sender, received } = await pair(yamux)
    try {
      const out = sender as unknown as Windowed
      const initial = out.sendWindowCapacity
      for (let i = 0; i < 20; i++) sender.send(KIB)
      await until(() => received() === 20 * 1024, '20 KiB to arrive')
      await until(() => out.sendWindowCapacity >= initial, 'the window back to full (or grown)')
    } finally {
      await Promise.all(nodes.map(async n => n.stop()))
    }
  })

  it('leaves alone a stream that does not look like the library\'s', () => {
    const stream = { state: 3, sendWindowUpdate: () => {} }
    const original = stream.sendWindowUpdate
    assert.equal(lazyWindowUpdates(stream), false)
    assert.equal(stream.sendWindowUpdate, original)
  })
})
