/**
 * A browser tab reaches a relay over WebRTC-direct alone (issue 11, item 3):
 * headless Chromium with a page whose libp2p node has no other transport
 * dials the relay's `/webrtc-direct/certhash/...` address, Noise proves the
 * relay's peer id, and a ping goes both ways. The relay (a real
 * `starling relay` process, listening on a UDP port chosen beforehand) is
 * stopped and started again on the same port and data directory: it
 * announces the same address, and the page connects again with it.
 *
 * Then a rotation, with a relay in this process whose certificates run on
 * a clock the test moves: the address taken before the rotation still
 * connects from the browser, whose DTLS checks the certificate against the
 * certhash (Node's dialer does not: it relies on Noise's prologue).
 */
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { noise } from '@chainsafe/libp2p-noise'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { starlingYamux } from '../../src/net/yamux.js'
import { certhashes } from '../../src/net/webrtc-direct/addresses.js'
import { WebRTCDirectCertificates } from '../../src/net/webrtc-direct/certificates.js'
import { CERTIFICATE_ROTATION_INTERVAL_MS } from '../../src/net/webrtc-direct/constants.js'
import { relayWebRTCDirect } from '../../src/net/webrtc-direct/relay-transport.js'
import { multiaddr } from '@multiformats/multiaddr'
import { Processes } from './harness.js'
import { openTestPage } from './webrtc-direct/browser.js'
import type { TestPage } from './webrtc-direct/browser.js'
import type { ConnectResult } from './webrtc-direct/page.js'

/** A UDP port free on 127.0.0.1 now (bound, read, released), so the relay can be restarted on it. */
async function freeUdpPort (): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  await new Promise<void>(resolve => socket.close(resolve))
  return port
}

describe('a browser tab and a relay over WebRTC-direct', function () {
  this.timeout(120_000)
  const procs = new Processes()
  let tab: TestPage

  before(async () => {
    tab = await openTestPage(resolve(import.meta.dirname, 'webrtc-direct/page.ts'), '() => globalThis.webrtcDirectTest != null')
  })

  after(async () => {
    await tab?.close()
    await procs.stopAll()
  })

  async function connect (addr: string): Promise<ConnectResult> {
    try {
      return await tab.page.evaluate(async (a) => {
        const t = (globalThis as unknown as { webrtcDirectTest: { connect(addr: string): Promise<ConnectResult> } }).webrtcDirectTest
        return await t.connect(a)
      }, addr)
    } catch (err) {
      throw new Error(`${(err as Error).message}\nbrowser console:\n${tab.console.slice(-20).join('\n')}`, { cause: err })
    }
  }

  it('connects with the address the relay printed, and with the same address after the relay restarts', async () => {
    const port = await freeUdpPort()
    const dataDir = await procs.tempDir('starling-relay-wrtc-')
    const args = ['relay', '--listen', `/ip4/127.0.0.1/udp/${port}/webrtc-direct`, '--data', dataDir]
    const first = await procs.start(args)
    const peerId = first.ready.peerId as string
    const addr = (first.ready.multiaddrs as string[]).find(a => a.includes('/webrtc-direct/'))
    assert.ok(addr != null, `no WebRTC-direct address in ${JSON.stringify(first.ready.multiaddrs)}`)
    assert.match(addr, new RegExp(`^/ip4/127\\.0\\.0\\.1/udp/${port}/webrtc-direct/certhash/u[\\w-]+/certhash/u[\\w-]+/p2p/${peerId}$`))
    assert.equal((await stat(join(dataDir, 'webrtc-direct.json'))).mode & 0o777, 0o600, 'the certificate keys are the operator\'s alone')

    const before = await connect(addr)
    assert.equal(before.peer, peerId, 'Noise proved the relay\'s peer id')
    assert.ok(before.remoteAddr.includes(`/udp/${port}/webrtc-direct/certhash/${certhashes(multiaddr(addr))[0]}`))
    assert.ok(before.rttMs >= 0)

    await procs.stop(first)
    const again = await procs.start(args)
    assert.equal(again.ready.peerId, peerId)
    assert.ok((again.ready.multiaddrs as string[]).includes(addr), 'the restarted relay announces the same address')
    const after = await connect(addr)
    assert.equal(after.peer, peerId)
    await procs.stop(again)
  })

  it('after a certificate rotation, connects with the address taken before it', async () => {
    let now = Date.now()
    let stored: Uint8Array | undefined
    const certificates = new WebRTCDirectCertificates({ storage: { load: async () => stored, save: async (d) => { stored = d } }, now: () => now })
    await certificates.start()
    const wrtc = relayWebRTCDirect({ certificates })
    const relay: Libp2p = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/udp/0/webrtc-direct'], announceFilter: wrtc.announceFilter },
      transports: [wrtc.transport],
      connectionEncrypters: [noise()],
      streamMuxers: [starlingYamux()],
      services: { identify: identify(), ping: ping() }
    })
    try {
      const given = relay.getMultiaddrs()[0].toString()
      const [, next] = certhashes(relay.getMultiaddrs()[0])
      assert.equal((await connect(given)).peer, relay.peerId.toString())
      now += CERTIFICATE_ROTATION_INTERVAL_MS
      assert.equal(await certificates.check(), true)
      const result = await connect(given)
      assert.equal(result.peer, relay.peerId.toString())
      assert.ok(result.remoteAddr.includes(`/certhash/${next}`), `connected through the next certificate: ${result.remoteAddr}`)
    } finally {
      certificates.stop()
      await relay.stop()
    }
  })
})
