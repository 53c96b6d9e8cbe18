/**
 * A whole Starling peer from a platform's pieces: the one composition root
 * that node/ (the daemon) and web/ (the app) call (DESIGN.md, Layers and
 * folders), with the identity's life (create, load, rotate) and the views
 * and actions both show a user; and a relay from its platform's pieces
 * ({@link createStarlingRelay}), which node/ runs as `starling relay` and
 * simulations run in-process.
 *
 * @example
 * ```ts
 * import { createIdentity, createStarlingPeer, historyView } from './peer/index.js'
 *
 * await createIdentity(platform.crypto, platform.keys, 'alice')
 * const peer = await createStarlingPeer(platform, { bootstrap: [relayAddr], listen: [] })
 * await peer.start()
 * await peer.messenger.send('bob~k3x7abcd2q', { kind: 'text', text: 'hi' })
 * const history = await historyView(peer.messenger, 'bob~k3x7abcd2q')
 * await peer.stop()
 * ```
 */
export { MAX_SERVED_LOG, PREKEY_CHECK_INTERVAL_MS, StarlingPeer, createStarlingPeer } from './peer.js'
export type { PeerMessengerOptions, StarlingPeerInit } from './peer.js'
export type { PeerPlatform } from './platform.js'
export { createIdentity, encodeIdentity, encryptKeyFileIfPlain, loadIdentity, rotateIfDue } from './identity.js'
export type { KeyFileOptions, KeyStorage, LocalIdentity } from './identity.js'
export { contactView, contactsView, conversationsView, historyView, resolutionView, safetyNumberView, whoamiView } from './views.js'
export type { ContactView, ConversationSummary, HistoryEntry, HistoryView, PeerStatus, ResolutionView, SafetyNumberView, ServedRequest, WhoAmI } from './views.js'
export { acceptContact, blockContact, sendFiles, trustContact } from './actions.js'
export type { ContactDecision } from './actions.js'
export { AttachmentsUnavailableError, IdentityExistsError, NoIdentityError, NotAContactError } from './errors.js'
export { RELAY_CONNECTION_MONITOR, createStarlingRelay } from './relay.js'
export { PeerCalls, callOutcome } from './calls.js'
export type { MediaPath, PeerCallOptions, PeerCallsInit } from './calls.js'
export type { ClosableDatastore, RelayLimits, RelayPlatform, StarlingRelay, StarlingRelayInit } from './relay.js'
