/**
 * The tab's ring tone and notification (web/src/app/calls.ts, ring-tone.ts)
 * against the announce wait of src/calls: a call that ended before it was
 * announced neither rings nor notifies (its media is let go); the tone,
 * which starts in a task of its own, never starts for a call accepted or
 * ended before that task ran, and an answered call's tone stops.
 */
import assert from 'node:assert/strict'
import type { CallSession } from '../../../src/calls/index.js'
import type { PeerCalls } from '../../../src/peer/index.js'
import { TabCalls } from '../../../web/src/app/calls.js'
import { StateBox } from '../../../web/src/app/state.js'
import type { AppState } from '../../../web/src/app/state.js'
import { fakeCall as makeCall, fakeMedia } from './fake-calls.js'

type Listener = (event: { type: string, call: unknown, reason?: string }) => void

/** What the fake browser saw: audio contexts made and closed, notifications shown. */
const seen = { contexts: 0, closed: 0, notifications: [] as string[] }

class FakeAudioContext {
  currentTime = 0
  readonly destination = {}
  constructor () { seen.contexts++ }
  createGain (): unknown {
    return { gain: { value: 0, setValueAtTime: () => {}, linearRampToValueAtTime: () => {} }, connect: () => {} }
  }

  createOscillator (): unknown {
    return { frequency: { value: 0 }, connect: () => {}, start: () => {} }
  }

  async close (): Promise<void> { seen.closed++ }
}

class FakeNotification {
  static permission = 'granted'
  onclick?: () => void
  constructor (title: string) { seen.notifications.push(title) }
  close (): void {}
}

/** A contact's incoming voice call; accepting it makes it "connecting" (told to no one: the tab reads its state). */
function fakeCall (id: string): ReturnType<typeof makeCall> {
  const fake = makeCall({ id, direction: 'incoming', handle: 'alice~x1', accept: async () => { fake.call.state = 'connecting' } })
  return fake
}

const task = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 5)) }

describe('web: the ring tone and notification of an incoming call', () => {
  const saved: Record<string, unknown> = {}
  let service: Listener[]
  let released: string[]
  let tab: TabCalls

  beforeEach(() => {
    for (const k of ['AudioContext', 'Notification', 'document']) saved[k] = (globalThis as Record<string, unknown>)[k]
    Object.assign(globalThis, { AudioContext: FakeAudioContext, Notification: FakeNotification, document: { visibilityState: 'hidden' } })
    seen.contexts = 0
    seen.closed = 0
    seen.notifications = []
    service = []
    const peerCalls = {
      service: { on: (l: Listener) => { service.push(l); return () => {} } },
      accept: async (call: CallSession) => { await call.accept() }
    } as unknown as PeerCalls
    const fake = fakeMedia()
    released = fake.released
    const media = fake.media
    tab = new TabCalls(peerCalls, media, new StateBox({} as unknown as AppState), () => {}, () => true)
    tab.start()
  })

  afterEach(() => {
    tab.stop()
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) Reflect.deleteProperty(globalThis, k)
      else Object.assign(globalThis, { [k]: v })
    }
  })

  it('a call that ended before it was announced neither rings nor notifies, and its media is let go', async () => {
    const { call } = fakeCall('c1')
    for (const l of service) l({ type: 'ended', call, reason: 'remote-hangup' })
    await task()
    assert.equal(seen.contexts, 0)
    assert.deepEqual(seen.notifications, [])
    assert.equal(tab.ringing, false)
    assert.deepEqual(released, ['c1'])
  })

  it('an announced call rings and notifies; one accepted, or ended, before the tone\'s task ran never makes an audio context', async () => {
    for (const end of ['accept', 'hang-up'] as const) {
      const { call, emit } = fakeCall(`c-${end}`)
      for (const l of service) l({ type: 'incoming', call })
      assert.equal(tab.ringing, true)
      assert.equal(seen.notifications.length, 1)
      if (end === 'accept') await tab.accept(false)
      else emit({ type: 'ended', reason: 'remote-hangup' })
      assert.equal(tab.ringing, false)
      await task()
      assert.equal(seen.contexts, 0, end)
      assert.equal(tab.ringing, false, end)
      seen.notifications = []
      tab.dismiss()
    }
  })

  it('an answered call\'s tone stops: its audio context is closed', async () => {
    const { call } = fakeCall('c2')
    for (const l of service) l({ type: 'incoming', call })
    await task()
    assert.equal(seen.contexts, 1)
    await tab.accept(false)
    assert.equal(tab.ringing, false)
    assert.equal(seen.closed, 1)
  })
})
