/**
 * Voice and video calls (DESIGN.md, Calls; issue 12): signalling on
 * `/starling/call/1.0.0` over the authenticated libp2p connection (relayed
 * ones too) and a state machine per call that the host drives with an
 * `RTCPeerConnection` it supplies ({@link PeerConnectionFactory}: a
 * browser's, Node's `@roamhq/wrtc`, a test's fake).
 *
 * A UI drives a {@link CallSession}: `state`, `remoteMedia`, `mute()`,
 * `camera()`, `hangUp()`, `stats()`, and typed events through `on()`.
 *
 * @example
 * ```ts
 * import { CallService } from './calls/index.js'
 *
 * const calls = new CallService({ registrar: node, dialer: node }, { crypto, callers, createPeerConnection })
 * await calls.start()
 * calls.on((event) => {
 *   if (event.type === 'incoming') showIncoming(event.call)      // event.call.accept() / .decline()
 *   if (event.type === 'ended') addToThread(event.reason, event.durationMs)
 * })
 * const call = await calls.place(devices, { account, handle, contact: true }, { video: true })
 * call.on((e) => { if (e.type === 'state') render(e.state) })
 * call.mute(true)
 * call.hangUp()
 * ```
 */
export { CallService } from './service.js'
export type { CallServiceComponents, CallServiceEvent, CallServiceInit, CallTarget } from './service.js'
export { CallSession } from './session.js'
export type { CallEndReason, CallSessionEvent, CallSessionInit, CallState, RemoteParty } from './types.js'
export { SdpBinding } from './sdp-binding.js'
export { identifyCaller } from './binding.js'
export type { CallerDirectory, Standing } from './binding.js'
export { peerConnectionOptions, remoteFingerprints } from './peer-connection.js'
export type { CallDataChannel, CallMediaRequest, CallPeerConnection, CallPeerConnectionOptions, CallRtcConfiguration, IceCandidate, MediaAttacher, PeerConnectionFactory, SessionDescription } from './peer-connection.js'
export { callStats, estimateMos } from './stats.js'
export type { CallStats } from './stats.js'
export { isLoopback, isLoopbackCandidate, parseCandidate, sdpFingerprints, sdpHasAddresses, stripAddresses } from './sdp.js'
export * from './constants.js'
export * from './errors.js'
