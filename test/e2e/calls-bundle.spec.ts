/**
 * A call's connection carries its media and its data channel on one
 * transport from the offer on (peerConnectionOptions: 'max-bundle'). With
 * WebRTC's default an offer gathered a transport per media kind until the
 * answer bundled them: ~12 loopback candidates for a tab's video call
 * instead of 2, each crossing the network and each `addIceCandidate`
 * holding the callee's page thread. Real `@roamhq/wrtc` connections, made
 * by the daemon's factory (the tab's is checked in
 * test/unit/web/call-media-remote.spec.ts).
 */
import assert from 'node:assert/strict'
import type { CallPeerConnection, IceCandidate } from '../../src/calls/index.js'
import { CallAudio, loadWrtc, wrtcPeerConnectionFactory } from '../../node/calls/media.js'
import { tone } from '../../node/calls/wav.js'

/** The candidates an offer of `pc` gathers, until gathering completes. */
async function gathered (pc: CallPeerConnection): Promise<IceCandidate[]> {
  const candidates: IceCandidate[] = []
  const done = new Promise<void>((resolve) => {
    pc.addEventListener('icecandidate', (e) => { if (e.candidate == null || e.candidate.candidate === '') resolve(); else candidates.push(e.candidate) })
  })
  pc.createDataChannel('starling-call', { negotiated: true, id: 0 })
  const offer = await pc.createOffer()
  await pc.setLocalDescription({ type: 'offer', sdp: offer.sdp ?? '' })
  await Promise.race([done, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('gathering did not complete in 10 s')) }, 10_000))])
  return candidates
}

describe('calls: one transport per call (bundled from the offer)', () => {
  it('the daemon\'s connection gathers candidates for its first media section only; one made with WebRTC\'s default gathers for each', async () => {
    const audio = new CallAudio(tone(440, 1))
    const pc = await wrtcPeerConnectionFactory(() => audio)({ iceServers: [], iceTransportPolicy: 'all' }, { callId: 'c', direction: 'outgoing', video: false })
    try {
      const candidates = await gathered(pc)
      assert.ok(candidates.length > 0, 'some candidate')
      assert.deepEqual([...new Set(candidates.map(c => c.sdpMid))], ['0'])
    } finally {
      audio.stop()
      pc.close()
    }
    // The control: the default bundle policy gathers for the audio and the data channel sections apart.
    const { RTCPeerConnection } = loadWrtc()
    const plain = new RTCPeerConnection({ iceServers: [] }) as unknown as CallPeerConnection
    const control = new CallAudio(tone(440, 1))
    control.attach(plain as never)
    try {
      const candidates = await gathered(plain)
      assert.ok(new Set(candidates.map(c => c.sdpMid)).size > 1, `the default gathered for ${[...new Set(candidates.map(c => c.sdpMid))].join(', ')}`)
    } finally {
      control.stop()
      plain.close()
    }
  })
})
