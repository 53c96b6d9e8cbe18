/**
 * Shared set-up for the call tests: a fake RTCPeerConnection pair (SDP with
 * a fingerprint, a candidate and an address to strip, candidates after
 * setLocalDescription, "connected" once both sides have what ICE needs,
 * stats naming the remote certificate), two call services joined by
 * in-memory stream pairs, and accounts with signed device records.
 */
import { streamPair } from '@libp2p/utils'
import type { Connection, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import type { KeyPair } from '../../../src/crypto/index.js'
import { CALL_PROTOCOL, CallService } from '../../../src/calls/index.js'
import type {
  CallDataChannel, CallPeerConnection, CallRtcConfiguration, CallServiceComponents, CallServiceInit, CallerDirectory, IceCandidate, PeerConnectionFactory, Standing, CallServiceEvent, CallSession
} from '../../../src/calls/index.js'
import { crypto, NOW, newAccount, newDevice, signedDevice } from '../identity/helpers.js'
import type { TestDevice } from '../identity/helpers.js'
import { CallFrameDecoder } from '../../../src/calls/wire.js'
import type { Signal } from '../../../src/calls/wire.js'

export { crypto, NOW }

function randomFingerprint (): string {
  return [...crypto.randomBytes(32)].map(b => b.toString(16).padStart(2, '0').toUpperCase()).join(':')
}

/** A negotiated data channel whose messages reach its twin on the other fake. */
class FakeChannel implements CallDataChannel {
  readyState = 'connecting'
  twin?: FakeChannel
  private readonly listeners: Record<string, Array<(event: { data: unknown }) => void>> = {}
  send (data: string): void {
    if (this.readyState !== 'open') throw new Error('channel not open')
    const twin = this.twin
    setTimeout(() => { twin?.dispatch('message', { data }) }, 0)
  }

  close (): void { this.readyState = 'closed' }
  addEventListener (type: string, listener: (event: { data: unknown }) => void): void {
    (this.listeners[type] ??= []).push(listener)
  }

  dispatch (type: string, event: { data: unknown }): void {
    for (const l of this.listeners[type] ?? []) l(event)
  }
}

/** A fake RTCPeerConnection; two of them connect through a {@link FakeNetwork}. */
export class FakePeerConnection implements CallPeerConnection {
  connectionState = 'new'
  iceConnectionState = 'new'
  readonly fingerprint = randomFingerprint()
  /** What getStats reports as the remote certificate (a test may replace it: a man in the middle). */
  remoteCertificate?: string
  local?: { type: 'offer' | 'answer', sdp: string }
  remote?: { type: 'offer' | 'answer', sdp: string }
  readonly remoteCandidates: IceCandidate[] = []
  readonly offers: Array<{ iceRestart?: boolean }> = []
  readonly channel = new FakeChannel()
  readonly senders = [{ track: { kind: 'audio', enabled: true } }]
  /** The offer's audio transceiver, as a callee's connection has it after the offer is set. */
  readonly transceivers = [{ direction: 'recvonly' }]
  /** Whether gathering (after the local description was set) has given its candidates. */
  gathered = false
  /** Answers made, and when (ms of the performance clock). */
  readonly answers: number[] = []
  closed = false
  peer?: FakePeerConnection
  private readonly listeners: Record<string, Array<(event: { candidate: IceCandidate | null }) => void>> = {}

  constructor (readonly config: CallRtcConfiguration, readonly network: FakeNetwork) {
    network.join(this)
  }

  private sdp (type: 'offer' | 'answer'): string {
    return [
      'v=0', 'o=- 4611731400430051336 2 IN IP4 192.0.2.7', 's=-', 't=0 0',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 192.0.2.7', 'a=rtcp:9 IN IP4 192.0.2.7',
      `a=fingerprint:sha-256 ${this.fingerprint}`, `a=setup:${type === 'offer' ? 'actpass' : 'active'}`,
      'a=candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host'
    ].join('\r\n') + '\r\n'
  }

  async createOffer (options: { iceRestart?: boolean } = {}): Promise<{ type: 'offer', sdp: string }> {
    this.offers.push(options)
    return { type: 'offer', sdp: this.sdp('offer') }
  }

  async createAnswer (): Promise<{ type: 'answer', sdp: string }> {
    this.answers.push(performance.now())
    return { type: 'answer', sdp: this.sdp('answer') }
  }

  async setLocalDescription (description: { type: 'offer' | 'answer', sdp: string }): Promise<void> {
    this.local = description
    // Gathering starts: a loopback and a LAN candidate, then the end.
    setTimeout(() => {
      if (this.closed) return
      this.gathered = true
      const relay = this.config.iceTransportPolicy === 'relay'
      this.dispatch('icecandidate', { candidate: { candidate: `candidate:1 1 udp 2122260223 ${relay ? '127.0.0.1 3478 typ relay' : '127.0.0.1 50000 typ host'}`, sdpMid: '0', sdpMLineIndex: 0 } })
      if (!relay) this.dispatch('icecandidate', { candidate: { candidate: 'candidate:2 1 udp 2122194687 192.0.2.7 50001 typ host', sdpMid: '0', sdpMLineIndex: 0 } })
      this.dispatch('icecandidate', { candidate: null })
    }, 1)
    this.network.check()
  }

  async setRemoteDescription (description: { type: 'offer' | 'answer', sdp: string }): Promise<void> {
    if (!description.sdp.includes('a=fingerprint:')) throw new Error('no fingerprint')
    this.remote = description
    this.network.check()
  }

  async addIceCandidate (candidate: IceCandidate): Promise<void> {
    this.remoteCandidates.push(candidate)
    this.network.check()
  }

  createDataChannel (): CallDataChannel {
    return this.channel
  }

  getSenders (): Array<{ track: { kind: string, enabled: boolean } | null }> {
    return this.senders
  }

  getTransceivers (): Array<{ direction: string }> {
    return this.transceivers
  }

  async getStats (): Promise<Map<string, Record<string, unknown>>> {
    const stats = new Map<string, Record<string, unknown>>()
    if (this.connectionState !== 'connected') return stats
    const remote = this.remoteCertificate ?? this.peer?.fingerprint ?? ''
    stats.set('T', { id: 'T', type: 'transport', remoteCertificateId: 'C', selectedCandidatePairId: 'P' })
    stats.set('C', { id: 'C', type: 'certificate', fingerprint: remote, fingerprintAlgorithm: 'sha-256' })
    stats.set('P', { id: 'P', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R', currentRoundTripTime: 0.002 })
    stats.set('L', { id: 'L', type: 'local-candidate', candidateType: this.config.iceTransportPolicy === 'relay' ? 'relay' : 'host' })
    stats.set('R', { id: 'R', type: 'remote-candidate', candidateType: 'host' })
    return stats
  }

  addEventListener (type: string, listener: (event: { candidate: IceCandidate | null }) => void): void {
    (this.listeners[type] ??= []).push(listener)
  }

  dispatch (type: string, event: { candidate: IceCandidate | null }): void {
    for (const l of this.listeners[type] ?? []) l(event)
  }

  setConnectionState (state: string): void {
    this.connectionState = state
    this.dispatch('connectionstatechange', { candidate: null })
  }

  close (): void {
    this.closed = true
    this.connectionState = 'closed'
  }
}

/** Joins the two fakes of a call; connects them once both have descriptions and a candidate each. */
export class FakeNetwork {
  readonly pcs: FakePeerConnection[] = []
  join (pc: FakePeerConnection): void {
    this.pcs.push(pc)
    const [a, b] = this.pcs
    if (a != null && b != null) {
      a.peer = b
      b.peer = a
      a.channel.twin = b.channel
      b.channel.twin = a.channel
    }
  }

  check (): void {
    const [a, b] = this.pcs
    if (a == null || b == null) return
    const ready = (pc: FakePeerConnection): boolean => pc.local != null && pc.remote != null && pc.remoteCandidates.length > 0
    if (!ready(a) || !ready(b) || a.connectionState === 'connected' || a.closed || b.closed) return
    setTimeout(() => {
      a.channel.readyState = 'open'
      b.channel.readyState = 'open'
      a.setConnectionState('connected')
      b.setConnectionState('connected')
    }, 1)
  }
}

/** An account with one device and its signed record. */
export interface TestParty {
  account: KeyPair
  device: TestDevice
  record: Uint8Array
  identityKey: Uint8Array
}

export async function newParty (): Promise<TestParty> {
  const account = await newAccount()
  const device = await newDevice()
  const signed = await signedDevice(account, device)
  return { account, device, record: signed.value, identityKey: signed.record.identityKey }
}

function hex (b: Uint8Array): string {
  return Buffer.from(b).toString('hex')
}

/** A contact book: accounts (hex) → standing and handle, with the devices pinned for each. */
export class TestCallers implements CallerDirectory {
  readonly entries = new Map<string, { standing: Standing, handle: string, devices: Map<string, string> }>()

  add (party: TestParty, standing: Standing, handle: string): void {
    this.entries.set(hex(party.account.publicKey), { standing, handle, devices: new Map([[party.device.peerId.toString(), hex(party.identityKey)]]) })
  }

  async standing (account: Uint8Array, device: PeerId, identityKey: Uint8Array): Promise<{ standing: Standing, handle?: string }> {
    const entry = this.entries.get(hex(account))
    if (entry == null) return { standing: 'stranger' }
    if (entry.standing !== 'contact') return { standing: entry.standing, handle: entry.handle }
    return { standing: entry.devices.get(device.toString()) === hex(identityKey) ? 'contact' : 'stranger', handle: entry.handle }
  }

  async isContactDevice (device: PeerId): Promise<boolean> {
    for (const e of this.entries.values()) if (e.standing === 'contact' && e.devices.has(device.toString())) return true
    return false
  }
}

/** One side of a test call: its service, party, contacts, and the fakes it made. */
export interface Side {
  party: TestParty
  service: CallService
  callers: TestCallers
  pcs: FakePeerConnection[]
  handler?: StreamHandler
  /** Inbound streams this side was handed (the caller's end is kept by the dialer). */
  inbound: Stream[]
  /** The dialer's ends of those streams: what this side sends arrives on them. */
  dialled: Stream[]
}

/** Every fake of one test call shares a network; a new {@link pair} starts a new one. */
export function fakeFactory (side: { pcs: FakePeerConnection[] }, network: () => FakeNetwork): PeerConnectionFactory {
  return async (config) => {
    const pc = new FakePeerConnection(config, network())
    side.pcs.push(pc)
    return pc
  }
}

/** Gives `side`'s running service another factory for the connections it makes from now on. */
export function setFactory (side: Pick<Side, 'service'>, factory: PeerConnectionFactory): void {
  (side.service as unknown as { init: { createPeerConnection: PeerConnectionFactory } }).init.createPeerConnection = factory
}

/** Fakes as {@link fakeFactory} makes them, each changed by `alter` (a WebRTC stack that fails or never settles a step). */
export function alteredFactory (side: { pcs: FakePeerConnection[] }, network: () => FakeNetwork, alter: (pc: FakePeerConnection) => void): PeerConnectionFactory {
  const fake = fakeFactory(side, network)
  return async (config, request) => {
    const pc = await fake(config, request) as FakePeerConnection
    alter(pc)
    return pc
  }
}

/** Opens a stream pair as `from` to `to`'s handler; returns the dialer's end. */
export async function connect (to: Pick<Side, 'handler' | 'inbound' | 'dialled'>, from: PeerId): Promise<Stream> {
  const [outbound, inbound] = await streamPair({ protocol: CALL_PROTOCOL })
  to.inbound.push(inbound)
  to.dialled.push(outbound)
  if (to.handler == null) throw new Error('no call handler registered')
  await to.handler(inbound, { remotePeer: from, streams: [] } as unknown as Connection)
  return outbound
}

const running: CallService[] = []

/** Stops every service {@link pair} started (hangs up what is left). */
export async function stopAll (): Promise<void> {
  for (const s of running.splice(0)) await s.stop()
}

/** Alice and Bob, contacts of each other, with call services joined by in-memory streams (`options.bob`, `options.alice`: one's own settings over `init`). */
export async function pair (init: Partial<CallServiceInit> = {}, options: { contacts?: boolean, bob?: Partial<CallServiceInit>, alice?: Partial<CallServiceInit> } = {}): Promise<{ alice: Side, bob: Side, network: () => FakeNetwork, newCall: () => void }> {
  let network = new FakeNetwork()
  const current = (): FakeNetwork => network
  const make = async (): Promise<Side> => {
    const party = await newParty()
    const side: Side = { party, callers: new TestCallers(), pcs: [], inbound: [], dialled: [], service: undefined as unknown as CallService }
    return side
  }
  const alice = await make()
  const bob = await make()
  for (const [side, other] of [[alice, bob], [bob, alice]] as const) {
    side.service = new CallService({
      registrar: {
        handle: async (_p, handler) => { side.handler = handler },
        unhandle: async () => { side.handler = undefined }
      },
      dialer: {
        dial: async () => ({ remotePeer: other.party.device.peerId, newStream: async () => await connect(other, side.party.device.peerId) })
      } as unknown as CallServiceComponents['dialer']
    }, {
      crypto,
      callers: side.callers,
      createPeerConnection: fakeFactory(side, current),
      deviceRecord: () => side.party.record,
      name: side === alice ? 'alice' : 'bob',
      now: () => NOW,
      ...init,
      ...(side === bob ? options.bob : options.alice)
    })
    await side.service.start()
    running.push(side.service)
  }
  if (options.contacts !== false) {
    alice.callers.add(bob.party, 'contact', 'bob~test')
    bob.callers.add(alice.party, 'contact', 'alice~test')
  }
  return { alice, bob, network: current, newCall: () => { network = new FakeNetwork() } }
}

/** Resolves when `predicate` holds (polled; tests on fake timers advance the clock instead). */
export async function waitFor (predicate: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 5000 && !predicate(); i++) await new Promise(resolve => setTimeout(resolve, 2))
  if (!predicate()) throw new Error(`timed out waiting for ${what}`)
}

/** The next incoming call at `side`'s service. */
export async function nextIncoming (side: Pick<Side, 'service'>): Promise<Extract<CallServiceEvent, { type: 'incoming' }>> {
  return await new Promise(resolve => {
    const off = side.service.on((event) => {
      if (event.type !== 'incoming') return
      off()
      resolve(event)
    })
  })
}

/** Where a call to `side` goes: its device, no addresses (the fake network connects by peer id). */
export const target = (side: Side): Array<{ peerId: Side['party']['device']['peerId'], addrs: [] }> => [{ peerId: side.party.device.peerId, addrs: [] }]

/** `side` as the caller's contact. */
export const party = (side: Side): { account: string, handle: string, contact: boolean } => ({ account: Buffer.from(side.party.account.publicKey).toString('hex'), handle: 'bob~test', contact: true })

/**
 * A call from alice to bob that bob accepts while alice's applying of his
 * answer is held (a busy WebRTC thread): `release()` lets it complete, or,
 * with `refuse`, fail. `bob`: Bob's own settings.
 */
export async function acceptedWithHeldAnswer (options: { refuse?: boolean, bob?: Partial<CallServiceInit> } = {}): Promise<{ alice: Side, bob: Side, call: CallSession, bobCall: CallSession, pc: FakePeerConnection, release: () => void }> {
  const { alice, bob } = await pair({ attachMedia: async () => {} }, { bob: options.bob })
  const ringing = nextIncoming(bob)
  const call = await alice.service.place(target(bob), party(bob))
  const { call: bobCall } = await ringing
  await waitFor(() => alice.pcs[0]?.local != null)
  const pc = alice.pcs[0]
  const setRemote = pc.setRemoteDescription.bind(pc)
  let release = (): void => {}
  pc.setRemoteDescription = async (d) => {
    await new Promise<void>(resolve => { release = resolve })
    if (options.refuse === true) throw new Error('bad answer')
    await setRemote(d)
  }
  await bobCall.accept()
  return { alice, bob, call, bobCall, pc, release: () => { release() } }
}

/** A factory whose connection made while a call rings waits for `release` (its WebRTC stack busy); `set` gives the factory behind it. */
export function heldFactory (): { factory: PeerConnectionFactory, release: () => void, set: (f: PeerConnectionFactory) => void } {
  let inner: PeerConnectionFactory | undefined
  let release = (): void => {}
  const held = new Promise<void>(resolve => { release = resolve })
  return {
    factory: async (config, request) => {
      if (request.direction === 'incoming' && request.media === false) await held
      return await (inner as PeerConnectionFactory)(config, request)
    },
    release: () => { release() },
    set: (f) => { inner = f }
  }
}

/** The call frames that arrive on `stream` from now on, decoded (`side.dialled[i]`: what that side sends; `side.inbound[i]`: what it is sent). */
export function tap (stream: Pick<Stream, 'addEventListener'>): Signal[] {
  const decoder = new CallFrameDecoder()
  const seen: Signal[] = []
  stream.addEventListener('message', (e) => { for (const m of decoder.decode(e.data)) seen.push(m.signal) })
  return seen
}

/**
 * A factory of fakes (as {@link fakeFactory} for `side`) whose connection
 * made while a call rings sets its answer only once `release` is called
 * (its WebRTC stack busy), or then fails to (`fail`); with `offer`, the
 * caller's connection is the one that sets its offer so. `side` and `network`
 * are read when a connection is made (pair() gives them after it took the factory).
 */
export function heldAnswerFactory (side: () => Side, network: () => () => FakeNetwork, options: { fail?: boolean, offer?: boolean } = {}): { factory: PeerConnectionFactory, release: () => void } {
  let release = (): void => {}
  const held = new Promise<void>(resolve => { release = resolve })
  const factory: PeerConnectionFactory = async (config, request) => {
    const pc = await fakeFactory(side(), network())(config, request) as FakePeerConnection
    if (options.offer === true ? request.direction !== 'outgoing' : request.media !== false) return pc
    const setLocal = pc.setLocalDescription.bind(pc)
    pc.setLocalDescription = async (d) => {
      await held
      if (options.fail === true) throw new Error('the answer could not be set')
      await setLocal(d)
    }
    return pc
  }
  return { factory, release: () => { release() } }
}

/**
 * Alice and Bob; Alice's connections are made only once `release` is called
 * (her devices take their time to open: a permission prompt), and Bob's
 * device drops each stream 20 ms after it opens, before any ring (no ring in
 * time, a budget, a service stopping).
 */
export async function droppedWhileMaking (): Promise<{ alice: Side, bob: Side, release: () => void }> {
  let release = (): void => {}
  const held = new Promise<void>(resolve => { release = resolve })
  const { alice, bob, network } = await pair({}, {})
  const inner = fakeFactory(alice, network)
  setFactory(alice, async (config, request) => {
    await held
    return await inner(config, request)
  })
  bob.handler = (stream) => { setTimeout(() => { stream.abort(new Error('no ring in time')) }, 20) }
  return { alice, bob, release: () => { release() } }
}
