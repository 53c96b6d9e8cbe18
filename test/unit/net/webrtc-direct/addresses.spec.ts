/** WebRTC-direct addresses with several certhashes (src/net/webrtc-direct/addresses.ts). */
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { announceCerthashes, certhashes, perCerthash, withCerthashes } from '../../../../src/net/webrtc-direct/addresses.js'

const PEER = '12D3KooWLAc3vSjcDDCTbf6yfKf8RooxhTCcu4oGZLjcgVH37JLY'
const A = 'uEiDgaldxa6mwG8MY6gD3qbQnRe6zd_cglI2mq5-31-Xx5Q'
const B = 'uEiCQ7dutNFmfKYesR-er1Qmp4ImHx_rtoMjJWjM15_DXdQ'

describe('WebRTC-direct addresses', () => {
  it('names the given certhashes after /webrtc-direct, replacing those it had, keeping /p2p', () => {
    const one = multiaddr(`/ip4/203.0.113.7/udp/4003/webrtc-direct/certhash/${A}/p2p/${PEER}`)
    const two = withCerthashes(one, [A, B])
    assert.equal(two.toString(), `/ip4/203.0.113.7/udp/4003/webrtc-direct/certhash/${A}/certhash/${B}/p2p/${PEER}`)
    assert.deepEqual(certhashes(two), [A, B])
    assert.equal(withCerthashes(multiaddr('/ip4/203.0.113.7/udp/4003/webrtc-direct'), [B]).toString(), `/ip4/203.0.113.7/udp/4003/webrtc-direct/certhash/${B}`)
  })

  it('splits an address into one per certhash, in order, for dialers that read the first only', () => {
    const two = multiaddr(`/ip4/203.0.113.7/udp/4003/webrtc-direct/certhash/${A}/certhash/${B}/p2p/${PEER}`)
    assert.deepEqual(perCerthash(two).map(String), [
      `/ip4/203.0.113.7/udp/4003/webrtc-direct/certhash/${A}/p2p/${PEER}`,
      `/ip4/203.0.113.7/udp/4003/webrtc-direct/certhash/${B}/p2p/${PEER}`
    ])
    const one = multiaddr(`/ip4/203.0.113.7/udp/4003/webrtc-direct/certhash/${A}`)
    assert.deepEqual(perCerthash(one), [one])
  })

  it('announces the current certhashes on every WebRTC-direct address and leaves the others alone', () => {
    let hashes = [A, B]
    const filter = announceCerthashes(() => hashes)
    const tcp = multiaddr(`/ip4/203.0.113.7/tcp/4001/p2p/${PEER}`)
    const announced = multiaddr('/dns4/relay.example.org/udp/4003/webrtc-direct')
    assert.deepEqual(filter([tcp, announced]).map(String), [tcp.toString(), `/dns4/relay.example.org/udp/4003/webrtc-direct/certhash/${A}/certhash/${B}`])
    hashes = [B, A]
    assert.equal(filter([announced])[0].toString(), `/dns4/relay.example.org/udp/4003/webrtc-direct/certhash/${B}/certhash/${A}`, 'read when announced, not when made')
  })
})
