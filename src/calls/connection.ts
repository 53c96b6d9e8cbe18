/**
 * A call's `RTCPeerConnection`, made through the host's factory with the ICE
 * configuration of our own relays, and its negotiated data channel (the
 * in-band hang-up: the signalling stream may be slower, or gone).
 */
import { logger } from '@libp2p/logger'
import type { CallDataChannel, CallMediaRequest, CallPeerConnection, CallRtcConfiguration, IceCandidate, PeerConnectionFactory } from './peer-connection.js'

import { inbandHangup } from './wire.js'
import { mark } from './trace.js'
import type { HangupReasonName } from './wire.js'

const log = logger('starling:calls:connection')

/** How long the connection stays open after an in-band hang-up was sent on it. */
const CLOSE_GRACE_MS = 100

/** The data channel both sides open with the same id (negotiated: no extra round trip). */
const DATA_CHANNEL_LABEL = 'starling-call'
const DATA_CHANNEL_ID = 0

/** What a connection tells its call. */
export interface ConnectionHandlers {
  candidate(candidate: IceCandidate | null): void
  connectionState(): void
  dataMessage(data: unknown): void
}

/** A made connection. */
export interface CallConnection {
  pc: CallPeerConnection
  dataChannel: CallDataChannel
  config: CallRtcConfiguration
}

/**
 * Makes the connection with `config`; the data channel exists before any
 * offer or answer, so that the SDP carries its section.
 */
export async function makeCallConnection (factory: PeerConnectionFactory, config: CallRtcConfiguration, request: CallMediaRequest, handlers: ConnectionHandlers): Promise<CallConnection> {
  const pc = await factory(config, request)
  pc.addEventListener('icecandidate', (event) => { handlers.candidate(event.candidate) })
  pc.addEventListener('connectionstatechange', () => { handlers.connectionState() })
  const dataChannel = pc.createDataChannel(DATA_CHANNEL_LABEL, { negotiated: true, id: DATA_CHANNEL_ID })
  dataChannel.addEventListener('message', (event) => { handlers.dataMessage(event.data) })
  return { pc, dataChannel, config }
}

/** Says the hang-up on the data channel, when it is open (the signalling stream says it too). */
export function sendInbandHangup (dataChannel: CallDataChannel | undefined, reason: HangupReasonName): void {
  try {
    if (dataChannel?.readyState === 'open') dataChannel.send(inbandHangup(reason))
  } catch (err) {
    log('the in-band hang-up was not sent: %s', (err as Error).message)
  }
}

/** Closes the connection, a moment later when the data channel is open (for an in-band hang-up to leave). */
export function closeConnection (dataChannel: CallDataChannel | undefined, pc: CallPeerConnection | undefined): void {
  setTimeout(() => {
    try {
      dataChannel?.close()
      pc?.close()
    } catch (err) {
      log('closing the connection failed: %s', (err as Error).message)
    }
  }, dataChannel?.readyState === 'open' ? CLOSE_GRACE_MS : 0)
}

/** Enables or disables our tracks of one kind (mute, camera off: the other side is told apart, since a muted track still sends packets). */
export function enableTracks (pc: CallPeerConnection | undefined, kind: 'audio' | 'video', enabled: boolean): void {
  for (const sender of pc?.getSenders?.() ?? []) {
    if (sender.track?.kind === kind) sender.track.enabled = enabled
  }
}

/** A callee's connection made while the call rings, and its answer when it could be made then. */
export interface EarlyConnection {
  pc: CallPeerConnection
  /** The answer, already the connection's local description (its media attached at the accept). */
  answer?: string
}

/**
 * A callee's connection made while the call rings, with the caller's offer
 * set; undefined, with what was made closed, when it fails or the call
 * ends meanwhile. `hooks.answered` has the answer as soon as it is made, before it is set: a call accepted by
 * then sends it at once (the caller applies it while this side sets it), and a failure to set it ends the call. Where the connection shows its transceivers, they are set
 * to send (no track yet: nothing captured) and the answer is made and set
 * now, so that the accept waits only for the tracks to be put on the
 * senders (a browser took ~75 ms to answer at the accept). Setting it
 * gathers candidates: they wait in the call's candidate gate until the
 * accept, and nothing is sent to the caller before it (no candidate, no
 * SDP; with no remote candidate there is no connectivity check either).
 */
export async function connectionForOffer (make: () => Promise<CallPeerConnection>, offerSdp: string, over: () => boolean, hooks: { answered?: (answer: string) => void } = {}): Promise<EarlyConnection | undefined> {
  let pc: CallPeerConnection | undefined
  try {
    pc = await make()
    mark('callee:pc-made')
    if (over()) return undefined
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp })
    mark('callee:offer-set')
    if (pc.getTransceivers == null || over()) return { pc }
    for (const transceiver of pc.getTransceivers()) {
      if (transceiver.direction === 'recvonly') transceiver.direction = 'sendrecv'
    }
    const answer = await pc.createAnswer()
    mark('callee:answer-made')
    if (over()) return { pc }
    hooks.answered?.(answer.sdp ?? '')
    await pc.setLocalDescription({ type: 'answer', sdp: answer.sdp ?? '' })
    return { pc, answer: answer.sdp ?? '' }
  } catch (err) {
    log('no connection made while ringing: %s', (err as Error).message)
    pc?.close()
    return undefined
  }
}

/**
 * The callee's answer at the accept when none was made while it rang: on
 * the connection made then, its media attached (`attach`) and the answer
 * made now; on a connection made at the accept, the offer set and the
 * answer made. (An answer made while ringing leaves at once: session.ts.)
 */
export async function answerAtAccept (pc: CallPeerConnection, options: { offerSdp: string, early?: EarlyConnection, attach?: () => Promise<void> }): Promise<string> {
  if (options.early != null) {
    await options.attach?.()
    mark('callee:media-attached')
  } else {
    await pc.setRemoteDescription({ type: 'offer', sdp: options.offerSdp })
  }
  const answer = (await pc.createAnswer()).sdp ?? ''
  await pc.setLocalDescription({ type: 'answer', sdp: answer })
  return answer
}

/** Resolves when `work` settles or after `ms`, whichever is first (the timer is cleared). */
export async function settledOrAfter (work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([work.then(() => {}, () => {}), new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })])
  clearTimeout(timer)
}
