/**
 * Fakes of what web/src/platform/call-media.ts uses of the browser
 * (MediaStream, RTCPeerConnection, Audio, devices), as Chromium behaves:
 * `close()` changes the state and fires nothing; a transceiver's receiver
 * has its track from the start.
 */

/** A track; a remote one (a receiver's) starts muted, until {@link FakeTrack.unmute} (its first media). */
export class FakeTrack extends EventTarget {
  readyState: 'live' | 'ended' = 'live'
  enabled = true
  constructor (readonly kind: 'audio' | 'video', public muted = false) { super() }
  unmute (): void {
    this.muted = false
    this.dispatchEvent(new Event('unmute'))
  }

  stop (): void { this.readyState = 'ended' }
  getSettings (): Record<string, unknown> { return { facingMode: 'user', deviceId: `${this.kind}-1` } }
}

export class FakeStream {
  private readonly tracks: FakeTrack[]
  constructor (tracks: FakeTrack[] = []) { this.tracks = [...tracks] }
  getTracks (): FakeTrack[] { return [...this.tracks] }
  getVideoTracks (): FakeTrack[] { return this.tracks.filter(t => t.kind === 'video') }
  getAudioTracks (): FakeTrack[] { return this.tracks.filter(t => t.kind === 'audio') }
  addTrack (t: FakeTrack): void { this.tracks.push(t) }
  removeTrack (t: FakeTrack): void { this.tracks.splice(this.tracks.indexOf(t), 1) }
}

export class FakeSender {
  track: FakeTrack | null = null
  constructor (private readonly pc: FakePc) {}
  async replaceTrack (t: FakeTrack | null): Promise<void> {
    if (this.pc.connectionState === 'closed') throw Object.assign(new Error('The RTCPeerConnection is closed'), { name: 'InvalidStateError' })
    this.track = t
  }
}

/** As Chromium's: `close()` changes the state and fires nothing. */
export class FakePc extends EventTarget {
  connectionState = 'new'
  localDescription: { type: string } | null = null
  readonly transceivers: Array<{ receiver: { track: FakeTrack }, sender: FakeSender }> = []
  constructor (readonly config: unknown) { super() }
  addTransceiver (kind: 'audio' | 'video'): void { this.transceivers.push({ receiver: { track: new FakeTrack(kind, true) }, sender: new FakeSender(this) }) }
  getTransceivers (): FakePc['transceivers'] { return this.transceivers }
  getReceivers (): Array<FakePc['transceivers'][number]['receiver']> { return this.transceivers.map(t => t.receiver) }
  addTrack (t: FakeTrack): FakeSender {
    const sender = new FakeSender(this)
    sender.track = t
    this.transceivers.push({ receiver: { track: new FakeTrack(t.kind, true) }, sender })
    return sender
  }

  close (): void { this.connectionState = 'closed' }
}

export class FakeAudio {
  autoplay = false
  muted = false
  srcObject: unknown = null
  async play (): Promise<void> {}
  pause (): void {}
}

/** Devices that open when the test says so. */
export class SlowDevices {
  readonly opening: Array<{ constraints: unknown, open: (stream: FakeStream) => void }> = []
  /** Every track opened, as opened (a stream may gain or lose tracks later). */
  readonly opened: FakeTrack[] = []
  async getUserMedia (constraints: unknown): Promise<FakeStream> {
    return await new Promise(resolve => {
      this.opening.push({ constraints, open: (s) => { this.opened.push(...s.getTracks()); resolve(s) } })
    })
  }

  async enumerateDevices (): Promise<unknown[]> { return [] }
}

/** For the calling suite: the browser's MediaStream, RTCPeerConnection and Audio are these fakes, put back after. */
export function withFakeMediaGlobals (): void {
  const globals = globalThis as unknown as Record<string, unknown>
  const saved: Record<string, unknown> = {}
  before(() => {
    for (const name of ['MediaStream', 'RTCPeerConnection', 'Audio']) saved[name] = globals[name]
    globals.MediaStream = FakeStream
    globals.RTCPeerConnection = FakePc
    globals.Audio = FakeAudio
  })
  after(() => {
    for (const [name, value] of Object.entries(saved)) globals[name] = value
  })
}
