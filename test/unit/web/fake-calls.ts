/**
 * Fakes for the tab's calls (web/src/app/calls.ts) in unit tests: a call
 * session that the test drives with its events, and the tab's call media.
 */
import type { CallSession } from '../../../src/calls/index.js'
import type { BrowserCallMedia } from '../../../web/src/platform/call-media.js'

/** An event of a fake call, as a session emits it. */
export interface FakeCallEvent { type: string, state?: string, reason?: string, message?: string }

type CallListener = (event: FakeCallEvent) => void

/** What a fake call is made of; anything left out is a contact's voice call. */
export interface FakeCallInit {
  id?: string
  direction: 'outgoing' | 'incoming'
  video?: boolean
  /** From someone who is not a contact. */
  request?: boolean
  handle?: string
  /** What accept does (default: the call becomes "connecting", told to its listeners). */
  accept?: (options: { video?: boolean }, call: FakeCall) => Promise<void>
}

/** A fake call: the session, and `emit` for its events (a state event also sets its state). */
export interface FakeCall {
  call: CallSession & { state: string }
  emit: CallListener
}

export function fakeCall (init: FakeCallInit): FakeCall {
  const listeners: CallListener[] = []
  const video = init.video === true
  const call = {
    id: init.id ?? init.direction,
    direction: init.direction,
    state: init.direction === 'outgoing' ? 'calling' : 'ringing',
    request: init.request === true,
    directToStranger: false,
    video,
    remote: { account: 'ab'.repeat(32), handle: init.handle ?? 'bob~x1', contact: init.request !== true },
    localMedia: { audio: true, video },
    remoteMedia: { audio: true, video },
    durationMs: 0,
    over: false,
    on: (l: CallListener) => { listeners.push(l); return () => {} },
    accept: async (options: { video?: boolean } = {}) => {
      if (init.accept != null) return await init.accept(options, fake)
      fake.emit({ type: 'state', state: 'connecting' })
    },
    decline: () => {}
  }
  const fake: FakeCall = {
    call: call as unknown as CallSession & { state: string },
    emit: (e) => {
      if (e.state != null) call.state = e.state
      for (const l of [...listeners]) l(e)
    }
  }
  return fake
}

/** A fake of the tab's call media: calls whose other side's video flows are in `flowing`; `changed` tells the tab. */
export interface FakeMedia {
  media: BrowserCallMedia
  /** Calls whose media were let go, in order. */
  released: string[]
  /** Calls whose other side's video frames come. */
  flowing: Set<string>
  /** Tells the tab that a call's media changed (as a remote track arriving or unmuting does). */
  changed: (callId: string) => void
}

export function fakeMedia (init: { cameraOn?: boolean } = {}): FakeMedia {
  const listeners = new Set<(callId: string) => void>()
  const released: string[] = []
  const flowing = new Set<string>()
  const media = {
    on: (l: (callId: string) => void) => { listeners.add(l); return () => { listeners.delete(l) } },
    release: (id: string) => { released.push(id) },
    cameraOn: () => init.cameraOn === true,
    remoteVideoFlowing: (id: string) => flowing.has(id),
    acceptWithVideo: false
  }
  return { media: media as unknown as BrowserCallMedia, released, flowing, changed: (id) => { for (const l of [...listeners]) l(id) } }
}
