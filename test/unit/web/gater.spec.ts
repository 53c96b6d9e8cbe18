/**
 * Which addresses a tab may dial (web/src/platform/gater.ts): plain ws://
 * only to this machine or a private network (libp2p's browser default
 * refuses both, and a public host must offer TLS), wss and WebRTC
 * anywhere, circuit addresses left to the relay's own check.
 */
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { allowDial, isLocalHost } from '../../../web/src/platform/gater.js'

const P = '12D3KooWT3L9BeK1zjApneJeWnTNW94yt9hxVBb5jgcnmuwLZHMQ'

describe('web: the tab\'s connection gater', function () {
  it('allows ws:// to loopback and private hosts only; wss, WebRTC-direct and circuits anywhere', () => {
    for (const ok of [
      `/ip4/127.0.0.1/tcp/4001/ws/p2p/${P}`, `/ip4/10.1.2.3/tcp/4001/ws`, `/ip4/192.168.1.5/tcp/80/ws`, `/ip4/172.20.0.1/tcp/1/ws`,
      '/ip6/::1/tcp/4001/ws', '/dns4/localhost/tcp/4001/ws',
      '/dns4/relay.example.org/tcp/443/wss', '/dns4/relay.example.org/tcp/443/tls/ws', `/ip4/203.0.113.7/udp/4001/webrtc-direct/certhash/uEiAkH5a4DPGKUuOBjYw0CgwjvcJCJMD2K_1aluKR_tpevQ/p2p/${P}`,
      `/ip4/203.0.113.7/tcp/443/wss/p2p/${P}/p2p-circuit/p2p/${P}`
    ]) assert.equal(allowDial(multiaddr(ok)), true, ok)
    for (const refused of ['/ip4/203.0.113.7/tcp/4001/ws', '/dns4/relay.example.org/tcp/80/ws', '/ip4/8.8.8.8/tcp/4001', '/ip4/127.0.0.1/tcp/4001']) {
      assert.equal(allowDial(multiaddr(refused)), false, refused)
    }
  })

  it('knows loopback and private hosts, and not their look-alikes', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.0.1', '169.254.1.1', 'localhost', 'a.localhost', '::1', 'fd00::1']) assert.equal(isLocalHost(h), true, h)
    for (const h of ['172.32.0.1', '172.15.0.1', '11.0.0.1', '192.169.0.1', 'localhost.example.org', '8.8.8.8', 'example.org', 'fdroid.org', 'fcbarcelona.com', 'fe80.example.com', '127.0.0.1.example.com']) assert.equal(isLocalHost(h), false, h)
  })
})
