/**
 * A ring whose stream goes while the callee identifies its caller (the
 * service's onRing awaits the contact book and the device record): the
 * channel is closed by the time the call's session is made, so the session
 * ends in its constructor, before the service listens for its end. The
 * callee must not keep that call as under way (every later call would be
 * "busy"). The caller here is a stranger (or a contact) who sends a ring and
 * at once resets the stream, or closes its writing end (the channel's check
 * of a stream gone as it was built, channel.ts, closes ours in a microtask).
 */
import assert from 'node:assert/strict'
import type { Stream } from '@libp2p/interface'
import { encodeCallFrame } from '../../../src/calls/wire.js'
import type { Signal } from '../../../src/calls/wire.js'
import { connect, newParty, pair, party, stopAll, target, waitFor } from './helpers.js'

const SDP = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0',
  `a=fingerprint:sha-256 ${new Array(32).fill('CD').join(':')}`, 'a=setup:actpass'
].join('\r\n') + '\r\n'

function send (stream: Stream, callId: Uint8Array, signal: Signal): void {
  stream.send(encodeCallFrame(callId, signal))
}

describe('calls: a ring whose stream goes while the callee identifies the caller', () => {
  afterEach(stopAll)

  for (const how of ['reset', 'close'] as const) {
    it(`a stranger's ring, its stream ${how === 'reset' ? 'reset' : 'closed'} at once: the callee keeps no call under way, and the next call rings`, async () => {
      const { alice, bob } = await pair({ attachMedia: async () => {} })
      const mallory = await newParty()
      // The contact book takes a moment (a store read): the stream goes meanwhile.
      let asked = false
      const isContactDevice = bob.callers.isContactDevice.bind(bob.callers)
      bob.callers.isContactDevice = async (peer) => {
        asked = true
        await new Promise(resolve => setTimeout(resolve, 30))
        return await isContactDevice(peer)
      }
      const s = await connect(bob, mallory.device.peerId)
      send(s, new Uint8Array(16).fill(9), { kind: 'ring', video: false, sdp: SDP, deviceRecord: mallory.record })
      await waitFor(() => asked, 'the ring read')
      if (how === 'reset') s.abort(new Error('gone'))
      else await s.close()
      await new Promise(resolve => setTimeout(resolve, 100))
      assert.deepEqual(bob.service.active.map(c => c.state), [], 'no call left under way (before: an ended call kept in the service: busy for everyone)')
      const call = await alice.service.place(target(bob), party(bob))
      await waitFor(() => call.over || bob.service.active.length === 1, 'the next call at the callee')
      assert.notEqual(call.endReason, 'busy', 'the next call rings, not busy')
    })
  }
})
