/**
 * Where a call's remote tracks go in the tab (web/src/platform/call-media.ts).
 * The caller's receivers exist from its offer on: their tracks go into the
 * remote stream (and its audio element) when the connection is made, while
 * the call rings, and the answer's `track` events then find them there and
 * re-render nothing; that work sat between the accept and DTLS, on the
 * thread the call's WebRTC steps come back to (CPU profiles of the call
 * benchmark). A callee's come with its `track` events, once the offer is
 * set, in a task of their own (not before the answer made while it rings).
 */
import assert from 'node:assert/strict'
import type { CallRtcConfiguration } from '../../../src/calls/index.js'
import { BrowserCallMedia } from '../../../web/src/platform/call-media.js'
import type { FakePc} from './call-media-fakes.js';
import { FakeStream, FakeTrack, withFakeMediaGlobals } from './call-media-fakes.js'

const CONFIG: CallRtcConfiguration = { iceServers: [], iceTransportPolicy: 'all' }

/** Devices that open at once. */
const devices = {
  getUserMedia: async (c: { video?: boolean }) => new FakeStream([new FakeTrack('audio'), ...(c.video === true ? [new FakeTrack('video')] : [])]),
  enumerateDevices: async () => []
}

async function tick (): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, 0))
}

function trackEvent (track: unknown): Event {
  return Object.assign(new Event('track'), { track })
}

describe('web: a call\'s remote tracks', () => {
  withFakeMediaGlobals()

  it('a call\'s connection is made bundled (one transport from the offer on), with our relays\' ICE configuration', async () => {
    const media = new BrowserCallMedia(devices as unknown as MediaDevices)
    const ice: CallRtcConfiguration = { iceServers: [{ urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }], iceTransportPolicy: 'relay' }
    const pc = await media.factory()(ice, { callId: 'c0', direction: 'outgoing', video: false }) as unknown as FakePc
    assert.deepEqual(pc.config, { ...ice, bundlePolicy: 'max-bundle' })
  })

  it('the caller\'s are in the remote stream once its connection is made; the answer\'s track events add nothing and re-render nothing', async () => {
    const media = new BrowserCallMedia(devices as unknown as MediaDevices)
    const pc = await media.factory()(CONFIG, { callId: 'c1', direction: 'outgoing', video: true }) as unknown as FakePc
    const set = media.get('c1')
    assert.deepEqual(set?.remote.getTracks().map(t => t.kind), ['audio', 'video'])
    let changes = 0
    media.on((id) => { if (id === 'c1') changes++ })
    for (const r of pc.getReceivers()) pc.dispatchEvent(trackEvent(r.track))
    await tick()
    assert.equal(set?.remote.getTracks().length, 2)
    assert.equal(changes, 0, 'no re-render while the answer is applied')
  })

  it('a callee\'s (its connection made while it rang, no media) come with the track events, after them, each once, and the screen hears of them', async () => {
    const media = new BrowserCallMedia(devices as unknown as MediaDevices)
    const pc = await media.factory()(CONFIG, { callId: 'c2', direction: 'incoming', video: true, media: false }) as unknown as FakePc
    const set = media.get('c2')
    assert.deepEqual(set?.remote.getTracks(), [])
    let changes = 0
    media.on((id) => { if (id === 'c2') changes++ })
    // The offer is set: its transceivers, and a track event for each.
    pc.addTransceiver('audio')
    pc.addTransceiver('video')
    for (const r of pc.getReceivers()) pc.dispatchEvent(trackEvent(r.track))
    pc.dispatchEvent(trackEvent(pc.getReceivers()[0].track))
    // Not while the offer is being applied (the events come before its promise resolves): in a task of their own.
    assert.deepEqual(set?.remote.getTracks(), [])
    await tick()
    assert.deepEqual(set?.remote.getTracks().map(t => t.kind), ['audio', 'video'])
    assert.equal(changes, 2)
  })

  it('the screen hears when the other side\'s video starts to flow (its track unmutes), for the call it flows on', async () => {
    const media = new BrowserCallMedia(devices as unknown as MediaDevices)
    const pc = await media.factory()(CONFIG, { callId: 'c4', direction: 'outgoing', video: true }) as unknown as FakePc
    const changes: string[] = []
    media.on((id) => { changes.push(id) })
    assert.equal(media.remoteVideoFlowing('c4'), false, 'a remote track starts muted')
    const [audio, video] = pc.getReceivers().map(r => r.track)
    audio.unmute()
    assert.equal(media.remoteVideoFlowing('c4'), false, 'sound is not video')
    assert.deepEqual(changes, [])
    video.unmute()
    assert.equal(media.remoteVideoFlowing('c4'), true)
    assert.deepEqual(changes, ['c4'])
    // Once the call's media are let go, its track says nothing more.
    media.release('c4')
    changes.length = 0
    video.dispatchEvent(new Event('unmute'))
    assert.equal(media.remoteVideoFlowing('c4'), false)
    assert.deepEqual(changes.filter(id => id === 'c4').length, 0)
  })

  it('a callee\'s camera and microphone go on the senders at the accept together, the camera first, each on its own transceiver', async () => {
    const media = new BrowserCallMedia(devices as unknown as MediaDevices)
    const pc = await media.factory()(CONFIG, { callId: 'c3', direction: 'incoming', video: true, media: false }) as unknown as FakePc
    pc.addTransceiver('audio')
    pc.addTransceiver('video')
    pc.localDescription = { type: 'answer' }
    // Each replaceTrack answers only when the test says (WebRTC's thread busy): both must be asked for before either answers.
    const asked: string[] = []
    const answer: Array<() => void> = []
    for (const t of pc.getTransceivers()) {
      const replace = t.sender.replaceTrack.bind(t.sender)
      t.sender.replaceTrack = async (track) => {
        asked.push(`${t.receiver.track.kind}:${track?.kind ?? 'none'}`)
        await new Promise<void>(resolve => { answer.push(resolve) })
        await replace(track)
      }
    }
    const attaching = media.attacher()('c3', { video: true })
    for (let i = 0; i < 10 && asked.length < 2; i++) await tick()
    assert.deepEqual(asked, ['video:video', 'audio:audio'])
    for (const a of answer) a()
    await attaching
    assert.deepEqual(pc.getTransceivers().map(t => t.sender.track?.kind), ['audio', 'video'])
  })
})
