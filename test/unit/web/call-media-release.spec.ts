/**
 * The tab's microphone and camera once a call has ended
 * (web/src/platform/call-media.ts). A callee's answer made while it rang now
 * leaves at the accept, and its devices open afterwards (src/calls
 * session.ts, attachMedia): the caller may hang up, or the call fail,
 * while the browser still opens them (a permission prompt can take many
 * seconds). The tab lets a call's media go on its end; whatever opens
 * after that must be stopped too, or the microphone and camera stay on
 * (the browser's recording light with them) until the tab closes.
 *
 * Chromium fires no `connectionstatechange` when the page itself closes
 * an `RTCPeerConnection` (checked on this machine: the state reads
 * "closed", no event, the tracks stay "live"); the fakes here behave the
 * same. Devices are fakes whose opening the test resolves by hand.
 */
import assert from 'node:assert/strict'
import type { CallMediaRequest, CallRtcConfiguration } from '../../../src/calls/index.js'
import { BrowserCallMedia } from '../../../web/src/platform/call-media.js'
import type { FakePc} from './call-media-fakes.js';
import { FakeStream, FakeTrack, SlowDevices, withFakeMediaGlobals } from './call-media-fakes.js'

const CONFIG: CallRtcConfiguration = { iceServers: [], iceTransportPolicy: 'all' }
const liveTracks = (devices: SlowDevices): string[] => devices.opened.filter(t => t.readyState === 'live').map(t => t.kind)

async function until (check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000 && !check(); i++) await new Promise(resolve => setImmediate(resolve))
  assert.ok(check(), what)
}

describe('web: the devices of a call that ended while they opened are stopped', () => {
  withFakeMediaGlobals()

  it('a callee\'s microphone opened after the caller hung up (the accept already left) is stopped, not left on', async () => {
    const devices = new SlowDevices()
    const media = new BrowserCallMedia(devices as unknown as MediaDevices)
    // The connection made while it rang: no devices, the answer made with the offer's transceiver.
    const request: CallMediaRequest = { callId: 'c1', direction: 'incoming', video: false, media: false }
    const pc = await media.factory()(CONFIG, request) as unknown as FakePc
    pc.addTransceiver('audio')
    pc.localDescription = { type: 'answer' }
    const attaching = media.attacher()('c1', { video: false })
    await until(() => devices.opening.length === 1, 'the microphone is being opened')
    // The caller hangs up meanwhile: src/calls closes the connection, the tab lets the call's media go.
    pc.close()
    media.release('c1')
    devices.opening[0].open(new FakeStream([new FakeTrack('audio')]))
    await attaching.catch(() => {})
    assert.deepEqual(liveTracks(devices), [], 'no device left on')
  })

  it('a caller\'s devices opened after its call ended (no device reached) are stopped when src/calls closes the connection', async () => {
    const devices = new SlowDevices()
    const media = new BrowserCallMedia(devices as unknown as MediaDevices)
    const creating = media.factory()(CONFIG, { callId: 'c2', direction: 'outgoing', video: true })
    await until(() => devices.opening.length === 1, 'the devices are being opened')
    // The call ends before they are open (the tab lets its media go: nothing there yet).
    media.release('c2')
    devices.opening[0].open(new FakeStream([new FakeTrack('audio'), new FakeTrack('video')]))
    const pc = await creating
    // src/calls closes a connection made for a call already over (session.ts, makeConnection).
    pc.close()
    assert.deepEqual(liveTracks(devices), [], 'no device left on')
    assert.equal(media.get('c2'), undefined, 'nothing kept for the ended call')
  })

  it('a camera switched to while the call ended is stopped', async () => {
    const devices = new SlowDevices()
    const media = new BrowserCallMedia(devices as unknown as MediaDevices)
    const creating = media.factory()(CONFIG, { callId: 'c3', direction: 'outgoing', video: true })
    await until(() => devices.opening.length === 1, 'the devices are being opened')
    devices.opening[0].open(new FakeStream([new FakeTrack('audio'), new FakeTrack('video')]))
    await creating
    const switching = media.switchCamera('c3')
    await until(() => devices.opening.length === 2, 'the other camera is being opened')
    media.release('c3')
    devices.opening[1].open(new FakeStream([new FakeTrack('video')]))
    await switching.catch(() => {})
    assert.deepEqual(liveTracks(devices), [], 'no device left on')
  })

  it('held: devices that open in time are used, and stopped when the call\'s media is let go', async () => {
    const devices = new SlowDevices()
    const media = new BrowserCallMedia(devices as unknown as MediaDevices)
    const pc = await media.factory()(CONFIG, { callId: 'c4', direction: 'incoming', video: false, media: false }) as unknown as FakePc
    pc.addTransceiver('audio')
    pc.localDescription = { type: 'answer' }
    const attaching = media.attacher()('c4', { video: false })
    await until(() => devices.opening.length === 1, 'the microphone is being opened')
    devices.opening[0].open(new FakeStream([new FakeTrack('audio')]))
    await attaching
    assert.equal(pc.transceivers[0].sender.track?.readyState, 'live', 'the microphone is on the sender')
    pc.close()
    media.release('c4')
    assert.deepEqual(liveTracks(devices), [])
  })
})
