import assert from 'node:assert/strict'
import { createServer, connect } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { Uint8ArrayList } from 'uint8arraylist'
import { coalesceSocketWrites, nodeNoiseCrypto } from '../../../node/platform.js'

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)
const flat = (x: Uint8Array | { subarray: () => Uint8Array }): Uint8Array => new Uint8Array(x instanceof Uint8Array ? x : x.subarray())

describe('node platform: Noise crypto', () => {
  it('seals and opens like the library default at every size, from plain arrays and lists', () => {
    const ours = nodeNoiseCrypto()
    const k = bytes(32, 1)
    const nonce = bytes(12, 2)
    const ad = bytes(32, 3)
    for (const size of [0, 1, 100, 699, 700, 701, 1199, 1200, 1400, 65519]) {
      const plaintext = bytes(size, size)
      const mine = flat(ours.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))
      const theirs = flat(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))
      assert.deepEqual(mine, theirs, `ciphertext of ${size} bytes`)
      assert.deepEqual(flat(ours.chaCha20Poly1305Decrypt(theirs, nonce, ad, k)), plaintext)
      // A ciphertext in two pieces, as Noise hands them over (its own Uint8ArrayList version).
      const list = new Uint8ArrayList(mine.subarray(0, mine.length >> 1), mine.subarray(mine.length >> 1)) as unknown as Parameters<ICryptoInterface['chaCha20Poly1305Decrypt']>[0]
      assert.deepEqual(flat(ours.chaCha20Poly1305Decrypt(list, nonce, ad, k) as Uint8Array), plaintext)
      const tampered = mine.slice()
      tampered[tampered.length - 1] ^= 1
      assert.throws(() => ours.chaCha20Poly1305Decrypt(tampered, nonce, ad, k))
    }
  })
})

describe('node platform: coalesced socket writes', () => {
  it('delivers every write intact and in order, within a tick and across ticks, and lets end() flush', async () => {
    coalesceSocketWrites()
    const received: Buffer[] = []
    let serverSide: Socket | undefined
    const server = createServer(s => { serverSide = s; s.on('data', (d: Buffer) => received.push(d)) })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const client = connect(port, '127.0.0.1')
    await new Promise<void>(resolve => client.once('connect', resolve))
    const sent: Uint8Array[] = []
    for (let tick = 0; tick < 20; tick++) {
      for (let i = 0; i < 5; i++) {
        const chunk = bytes(100 + tick * 7 + i, tick * 5 + i)
        sent.push(chunk)
        client.write(chunk)
      }
      await new Promise(resolve => setImmediate(resolve))
    }
    const last = bytes(10, 99)
    sent.push(last)
    const closed = new Promise<void>(resolve => serverSide?.once('end', () => resolve()) ?? resolve())
    client.end(last)
    await closed
    assert.deepEqual(new Uint8Array(Buffer.concat(received)), new Uint8Array(Buffer.concat(sent)))
    server.close()
  })
})
