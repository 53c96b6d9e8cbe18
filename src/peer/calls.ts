/**
 * Calls in a peer (issue 12): the adapter between src/calls, which knows no
 * conversations, and the messenger. It answers the call service's "who is
 * ringing" from the contacts (a contact only through a device pinned for
 * it with the key its verified record names), fetches ICE servers only from
 * our own relays (TURN credentials on `/starling/turn/1.0.0`), places calls
 * to a handle's devices from their verified records, and writes each call
 * the caller placed into both threads as one `call` message (missed,
 * declined, busy, or ended with its duration) when it is over.
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { CallService, CallUnreachableError, DirectCallError } from '../calls/index.js'
import type { CallEndReason, CallRtcConfiguration, CallSession, CallerDirectory, MediaAttacher, PeerConnectionFactory, Standing } from '../calls/index.js'
import type { Crypto } from '../crypto/index.js'
import type { Directory } from '../net/directory.js'
import type { StarlingLibp2p } from '../net/node.js'
import type { Messenger } from '../messenger/index.js'
import { fetchTurnCredentials } from '../protocols/turn/index.js'
import { mark } from '../calls/trace.js'
import type { TurnIceServer } from '../protocols/turn/index.js'
import { toHex } from '../messenger/bytes.js'
import type { CallBody } from '../messenger/model/index.js'

const log = logger('starling:peer:calls')

/** How long the set of contact devices is kept before it is read again. */
const CONTACT_DEVICES_TTL_MS = 5_000
/** TURN credentials are asked for again this long before they expire. */
const TURN_REFRESH_MARGIN_MS = 30 * 60_000
/** A relay without TURN is asked again after this long. */
const NO_TURN_RETRY_MS = 5 * 60_000
/** Time allowed to ask one relay for TURN credentials (a call waits for it). */
const TURN_FETCH_TIMEOUT_MS = 3_000

/** Call settings a peer's host may give. */
export interface PeerCallOptions {
  /** Hide my IP: every call's media through TURN (DESIGN.md, Calls). */
  hideMyIp?: boolean
  /** Calls from people who are not contacts: ring as a request (default) or not at all. */
  strangers?: 'request' | 'refuse'
  /** Everything on one machine (tests): only loopback ICE candidates. */
  loopbackOnly?: boolean
  /** Ring time (default 60 s; tests shorten it). */
  ringTimeoutMs?: number
}

/** What the adapter is made of. */
export interface PeerCallsInit {
  crypto: Crypto
  node: StarlingLibp2p
  directory: Directory
  messenger: Messenger
  createPeerConnection: PeerConnectionFactory
  /** With it, a contact's call gets its connection while it rings (src/calls). */
  attachMedia?: MediaAttacher
  /** Our relays (where TURN credentials come from). */
  relays: Array<{ peerId: PeerId, addrs: Multiaddr[] }>
  name: string
  now: () => number
  options?: PeerCallOptions
  /** Hide my IP as the peer has it now (else `options.hideMyIp`). */
  hideIp?: () => boolean
}

/** How a call's media would travel: through a TURN server of our relays, or directly between the two devices. */
export type MediaPath = 'turn' | 'direct'

/** A call's end as the thread shows it. */
export function callOutcome (call: CallSession, reason: CallEndReason): Pick<CallBody, 'outcome' | 'durationMs'> {
  if (call.connectedAt != null) return { outcome: 'ended', durationMs: call.durationMs }
  if (reason === 'declined' || reason === 'busy') return { outcome: reason, durationMs: 0 }
  return { outcome: 'missed', durationMs: 0 }
}

/** The calls of a peer. */
export class PeerCalls {
  readonly service: CallService
  private readonly init: PeerCallsInit
  private contactDevices?: { at: number, devices: Set<string> }
  private turn?: { servers: TurnIceServer[], until: number }
  private strangerCalls: 'request' | 'refuse'

  constructor (init: PeerCallsInit) {
    this.init = init
    this.strangerCalls = init.options?.strangers ?? 'request'
    const callers: CallerDirectory = {
      standing: async (account, device, identityKey) => await this.standing(account, device, identityKey),
      isContactDevice: async (device) => (await this.knownDevices()).has(device.toString()),
      lookupDevice: async (device) => await init.directory.lookupDevice(device, { signal: AbortSignal.timeout(TURN_FETCH_TIMEOUT_MS) })
    }
    this.service = new CallService({ registrar: init.node, dialer: init.node }, {
      crypto: init.crypto,
      callers,
      createPeerConnection: init.createPeerConnection,
      attachMedia: init.attachMedia,
      iceServers: async () => await this.iceServers(),
      hideMyIp: () => this.hideMyIp,
      strangers: () => this.strangerCalls,
      deviceRecord: () => init.directory.lastDeviceRecord,
      name: init.name,
      loopbackOnly: init.options?.loopbackOnly,
      now: init.now,
      ringTimeoutMs: init.options?.ringTimeoutMs
    })
  }

  async start (): Promise<void> {
    await this.service.start()
  }

  /**
   * Fetches TURN credentials ahead (the peer calls it when a relay
   * reservation is made: relays answer only peers they serve), so that the
   * first call does not wait a round trip to each relay for them.
   */
  prefetchIceServers (): void {
    this.iceServers({ prefetch: true }).catch((err: Error) => { log('TURN credentials not fetched ahead: %s', err.message) })
  }

  /** Hide my IP: every call's media through TURN. */
  get hideMyIp (): boolean {
    return this.init.hideIp?.() ?? this.init.options?.hideMyIp === true
  }

  /** Calls from people who are not contacts: they ring as a request, or not at all. */
  get strangers (): 'request' | 'refuse' {
    return this.strangerCalls
  }

  /** Changes how calls from people who are not contacts are taken (from the next ring on). */
  setStrangers (mode: 'request' | 'refuse'): void {
    if (mode !== 'request' && mode !== 'refuse') throw new TypeError(`calls from strangers are 'request' or 'refuse', not ${String(mode)}`)
    this.strangerCalls = mode
  }

  /**
   * How a call's media would travel if it were connected now: through TURN
   * with hide my IP, or for a stranger's call when our relays offer TURN;
   * else directly (the other side sees our address). A host asks this
   * before accepting a request, to tell its user (src/calls also warns
   * when it makes the connection).
   */
  async mediaPath (call: Pick<CallSession, 'request'>): Promise<MediaPath> {
    if (this.hideMyIp) return 'turn'
    if (!call.request) return 'direct'
    const servers = await this.iceServers()
    return servers.some(s => s.urls.some(u => u.startsWith('turn:') || u.startsWith('turns:'))) ? 'turn' : 'direct'
  }

  async stop (): Promise<void> {
    await this.service.stop()
  }

  /**
   * Accepts an incoming call. A request (someone who is not a contact)
   * whose media would be direct, because our relays offer no TURN server,
   * is accepted only with `direct: true`: the user was told that the other
   * side will see their address, before anything connects.
   *
   * @throws {DirectCallError} for such a request without `direct: true` (it keeps ringing)
   */
  async accept (call: CallSession, options: { video?: boolean, direct?: boolean } = {}): Promise<void> {
    if (call.request && options.direct !== true && await this.mediaPath(call) === 'direct') {
      throw new DirectCallError('this call is from someone who is not a contact and our relays offer no TURN server: it would be direct and they would see your address (accept with direct: true to go ahead)')
    }
    await call.accept({ video: options.video })
  }

  /**
   * Calls a handle (a contact, or a `name~tag` confirmed as for messages):
   * rings all its devices from their verified records at once; the first to accept takes the call. The
   * call's end goes into both threads.
   *
   * @throws {CallUnreachableError} when no device could be reached (a missed call is still written)
   */
  async place (handle: string, options: { video?: boolean } = {}): Promise<CallSession> {
    const to = await this.init.messenger.recipient(handle)
    mark('caller:recipient')
    const video = options.video === true
    let call: CallSession
    try {
      call = await this.service.place(to.devices.map(d => ({ peerId: d.peerId, addrs: d.addrs })), { account: toHex(to.account), handle: to.handle, contact: true }, { video })
    } catch (err) {
      if (err instanceof CallUnreachableError) this.record(to.handle, { outcome: 'missed', durationMs: 0 }, video)
      throw err
    }
    // Written once, for the ring that ends the call (several devices rung: the screen may move to another ring).
    // A ring already over was so before place() returned (its stream dropped while the connection was made, a
    // host that hung up on hearing of it): its end event is past, so it is written now.
    const follow = (ring: CallSession): void => {
      const ended = (reason: CallEndReason): void => {
        if (ring.continuedBy != null) follow(ring.continuedBy)
        else this.record(to.handle, callOutcome(ring, reason), video)
      }
      if (ring.over) {
        ended(ring.endReason ?? 'failed')
        return
      }
      ring.on((event) => { if (event.type === 'ended') ended(event.reason) })
    }
    follow(call)
    return call
  }

  /** The caller writes the call into both threads (one message: both sides show the same event). */
  private record (handle: string, outcome: Pick<CallBody, 'outcome' | 'durationMs'>, video: boolean): void {
    this.init.messenger.send(handle, { kind: 'call', ...outcome, video }).catch((err: Error) => {
      log('the call with %s was not written to the thread: %s', handle, err.message)
    })
  }

  private async standing (account: Uint8Array, device: PeerId, identityKey: Uint8Array): Promise<{ standing: Standing, handle?: string }> {
    const contact = await this.init.messenger.contacts.get(account)
    if (contact == null) return { standing: 'stranger' }
    if (contact.state === 'blocked') return { standing: 'blocked', handle: contact.handle }
    const pinned = contact.devices[device.toString()] === toHex(identityKey)
    return { standing: contact.state === 'accepted' && contact.keyChange == null && pinned ? 'contact' : 'stranger', handle: contact.handle }
  }

  /** Devices pinned for accepted contacts (read again every few seconds). */
  private async knownDevices (): Promise<Set<string>> {
    const now = this.init.now()
    if (this.contactDevices != null && now - this.contactDevices.at < CONTACT_DEVICES_TTL_MS && now >= this.contactDevices.at) return this.contactDevices.devices
    const devices = new Set<string>()
    for (const c of await this.init.messenger.contacts.list()) {
      if (c.state === 'accepted' && c.keyChange == null) for (const d of Object.keys(c.devices)) devices.add(d)
    }
    this.contactDevices = { at: now, devices }
    return devices
  }

  /**
   * ICE servers from our own relays only: their TURN servers, with
   * credentials while they last. A fetch ahead that found none is not
   * kept (a relay may not have served us yet): the call asks again.
   */
  private async iceServers (options: { prefetch?: boolean } = {}): Promise<CallRtcConfiguration['iceServers']> {
    const now = this.init.now()
    if (this.turn == null || now >= this.turn.until) {
      const servers: TurnIceServer[] = []
      await Promise.all(this.init.relays.map(async (relay) => {
        try {
          servers.push(await fetchTurnCredentials(this.init.node, relay.peerId, { signal: AbortSignal.timeout(TURN_FETCH_TIMEOUT_MS), now: this.init.now, relayAddrs: relay.addrs }))
        } catch (err) {
          log('relay %p offers no TURN credentials: %s', relay.peerId, (err as Error).message)
        }
      }))
      const until = servers.length > 0 ? Math.min(...servers.map(s => s.expiresAt)) - TURN_REFRESH_MARGIN_MS : now + NO_TURN_RETRY_MS
      if (options.prefetch === true && servers.length === 0) return []
      this.turn = { servers, until: Math.max(until, now + 60_000) }
    }
    return this.turn.servers.map(s => ({ urls: s.urls, username: s.username, credential: s.credential }))
  }
}
