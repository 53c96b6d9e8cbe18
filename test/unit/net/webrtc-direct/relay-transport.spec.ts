/**
 * WebRTC-direct on a relay (src/net/webrtc-direct/relay-transport.ts and
 * dial.ts), over real UDP on 127.0.0.1 with Node dialers: the relay
 * announces the certhash it serves and the next one; after a rotation it
 * serves the next one, so an address given out before the rotation still
 * connects with a dialer that tries every certhash (the stock dialer,
 * which reads the first only, does not). The rotation reaches
 * `@libp2p/webrtc`'s listener through one of its internals: if the library
 * changes, the "after a rotation" test fails.
 *
 * The attack: a flood of STUN Binding requests, each with a new ufrag, one
 * UDP packet each. Every one used to make the relay create a native peer
 * connection (~120 KB each, measured: 3,000 packets, +361 MB) held for the
 * inbound upgrade timeout; now at most MAX_PENDING_HANDSHAKES are under
 * way, the rest are refused before anything is allocated, and the relay
 * takes dialers again once the flood's handshakes have timed out.
 */
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { webRTCDirect } from '@libp2p/webrtc'
import type { Multiaddr } from '@multiformats/multiaddr'
import { certhashes, withCerthashes } from '../../../../src/net/webrtc-direct/addresses.js'
import { WebRTCDirectCertificates } from '../../../../src/net/webrtc-direct/certificates.js'
import { CERTIFICATE_ROTATION_INTERVAL_MS, MAX_PENDING_HANDSHAKES } from '../../../../src/net/webrtc-direct/constants.js'
import { webRTCDirectAnyCerthash } from '../../../../src/net/webrtc-direct/dial.js'
import { relayWebRTCDirect } from '../../../../src/net/webrtc-direct/relay-transport.js'
import type { RelayWebRTCDirect } from '../../../../src/net/webrtc-direct/relay-transport.js'
import type { CertificateStorage } from '../../../../src/net/webrtc-direct/stored.js'
import { eventually } from '../../../e2e/harness.js'
import { bindingRequest, randomUfrag } from './stun.js'

type PingNode = Libp2p<{ ping: ReturnType<ReturnType<typeof ping>>, identify: ReturnType<ReturnType<typeof identify>> }>

function memoryStorage (): CertificateStorage {
  let data: Uint8Array | undefined
  return { load: async () => data, save: async (d) => { data = d } }
}

/** Handshakes the listener holds a native peer connection for (its own map: the budget's count could not show the attack before the fix). */
function listenerPeerConnections (node: Libp2p): number {
  const listeners = (node as unknown as { components: { transportManager: { getListeners(): Array<{ connections?: Map<string, unknown> }> } } }).components.transportManager.getListeners()
  return listeners.reduce((n, l) => n + (l.connections?.size ?? 0), 0)
}

describe('WebRTC-direct on a relay', function () {
  this.timeout(60_000)
  let now: number
  let certificates: WebRTCDirectCertificates
  let wrtc: RelayWebRTCDirect
  let relay: PingNode
  const dialers: PingNode[] = []

  async function startRelay (inboundUpgradeTimeout?: number): Promise<void> {
    now = Date.now()
    certificates = new WebRTCDirectCertificates({ storage: memoryStorage(), now: () => now })
    await certificates.start()
    wrtc = relayWebRTCDirect({ certificates })
    relay = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/udp/0/webrtc-direct'], announceFilter: wrtc.announceFilter },
      transports: [wrtc.transport],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: inboundUpgradeTimeout != null ? { inboundUpgradeTimeout } : {},
      services: { identify: identify(), ping: ping() }
    })
  }

  async function dialer (anyCerthash: boolean): Promise<PingNode> {
    const transport = anyCerthash ? webRTCDirectAnyCerthash({ rtcConfiguration: { iceServers: [] } }) : webRTCDirect({ rtcConfiguration: { iceServers: [] } })
    const node = await createLibp2p({
      transports: [transport],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyDialMultiaddr: () => false },
      services: { identify: identify(), ping: ping() }
    })
    dialers.push(node)
    return node
  }

  async function pings (node: PingNode, addr: Multiaddr): Promise<boolean> {
    try {
      await node.services.ping.ping(addr, { signal: AbortSignal.timeout(10_000) })
      return true
    } catch {
      return false
    } finally {
      await node.hangUp(relay.peerId)
    }
  }

  afterEach(async () => {
    for (const d of dialers.splice(0)) await d.stop()
    certificates.stop()
    await relay.stop()
  })

  it('announces the served certhash first and the next one beside it', async () => {
    await startRelay()
    const addr = relay.getMultiaddrs()[0]
    assert.deepEqual(certhashes(addr), certificates.certhashes())
    assert.equal(certhashes(addr)[0], certificates.current.certhash)
    assert.equal(await pings(await dialer(false), addr), true, 'a stock dialer reads the first certhash: the served one')
    assert.equal(await pings(await dialer(true), addr), true)
  })

  it('after a rotation, serves the next certificate: the address given out before still connects', async () => {
    await startRelay()
    const given = relay.getMultiaddrs()[0]
    const [before, next] = certhashes(given)
    now += CERTIFICATE_ROTATION_INTERVAL_MS
    assert.equal(await certificates.check(), true)
    assert.deepEqual(certhashes(relay.getMultiaddrs()[0]), [next, certificates.next.certhash], 'the new pair is announced')

    const stock = await dialer(false)
    assert.equal(await pings(stock, withCerthashes(given, [next])), true, 'the listener presents the next certificate')
    assert.equal(await pings(stock, withCerthashes(given, [before])), false, 'and no longer the old one')
    assert.equal(await pings(await dialer(true), given), true, 'the address given out before the rotation connects')
  })

  it('bounds the handshakes a flood of STUN requests starts, and takes dialers again afterwards', async () => {
    await startRelay(2_000)
    const addr = relay.getMultiaddrs()[0]
    const port = Number(addr.getComponents().find(c => c.name === 'udp')?.value)
    const socket = createSocket('udp4')
    const FLOOD = 500
    try {
      for (let i = 0; i < FLOOD; i++) await new Promise<void>(resolve => socket.send(bindingRequest(randomUfrag()), port, '127.0.0.1', () => { resolve() }))
    } finally {
      socket.close()
    }
    const seen = (): boolean => listenerPeerConnections(relay) >= FLOOD || wrtc.handshakes.metrics.pending + wrtc.handshakes.metrics.refused >= FLOOD
    await eventually(async () => seen() ? true : undefined, 20_000, 'the relay to see the flood')
    assert.ok(listenerPeerConnections(relay) <= MAX_PENDING_HANDSHAKES, `${listenerPeerConnections(relay)} peer connections for ${FLOOD} STUN packets`)
    assert.ok(wrtc.handshakes.metrics.refused >= FLOOD - MAX_PENDING_HANDSHAKES)
    await eventually(async () => wrtc.handshakes.metrics.pending === 0 ? true : undefined, 20_000, 'the flood\'s handshakes to time out')
    assert.equal(await pings(await dialer(true), addr), true)
  })
})
