/**
 * A tab's platform pieces for src/peer (PeerPlatform): WebSockets and
 * WebRTC (transports.ts) behind a gater that lets a tab reach relays on
 * this machine or network (gater.ts), WebCrypto where the browser has the
 * algorithm (src/crypto picks per primitive), the key file and the message
 * store in IndexedDB (keys.ts, storage.ts), attachments in the origin
 * private file system (opfs-blobs.ts). Everything of one profile is named
 * after it, so two profiles of one origin share nothing.
 */
import { createCrypto, webCryptoProvider } from '../../../src/crypto/index.js'
import type { Crypto } from '../../../src/crypto/index.js'
import type { PeerPlatform } from '../../../src/peer/index.js'
import { deriveAtRestKey } from '../../../src/store/index.js'
import { browserConnectionGater } from './gater.js'
import type { KeyValueTable } from './idb.js'
import { indexedDbKeyStorage } from './keys.js'
import { OpfsBlobStore } from './opfs-blobs.js'
import { openBrowserStore } from './storage.js'
import { browserTransports } from './transports.js'
import type { BrowserCallMedia } from './call-media.js'

export { acquireProfileLock, requestProfile } from './lock.js'
export type { HeldProfileLock } from './lock.js'
export { persistStorage, StoreLockedError } from './storage.js'
export { KeyValueTable } from './idb.js'
export { OpfsBlobStore } from './opfs-blobs.js'
export { allowDial, isLocalHost } from './gater.js'
export { BrowserCallMedia } from './call-media.js'
export type { CallMediaSet } from './call-media.js'

/** The crypto facade with WebCrypto where the browser has the algorithm, noble elsewhere. */
export async function browserCrypto (): Promise<Crypto> {
  return createCrypto([await webCryptoProvider()])
}

/** Options of {@link browserPeerPlatform}. */
export interface BrowserPlatformInit {
  /** The profile: names the databases and the attachment directory. */
  profile: string
  crypto: Crypto
  /** The profile's key-value table (key file, settings). */
  table: KeyValueTable
  /** STUN/TURN servers the user's relays give. */
  iceServers?: RTCIceServer[]
  /** "Hide my IP": no WebRTC with other peers, only relayed connections (transports.ts). */
  hideMyIp?: boolean
  /** The tab's call media: with it the peer places and takes calls (the browser's RTCPeerConnection). */
  callMedia?: BrowserCallMedia
}

/** A tab's platform pieces for one profile. */
export function browserPeerPlatform (init: BrowserPlatformInit): PeerPlatform<OpfsBlobStore> {
  const { crypto, profile } = init
  return {
    crypto,
    transports: () => browserTransports({ iceServers: init.iceServers, peerWebRTC: init.hideMyIp !== true }),
    connectionGater: browserConnectionGater(),
    // No TCP, and nothing a peer can dial directly: DCUtR would only send its messages through the relay for nothing.
    holePunching: false,
    keys: indexedDbKeyStorage(init.table),
    openStore: async (secret) => await openBrowserStore(crypto, `${profile}-store`, secret),
    openBlobs: async (secret) => await OpfsBlobStore.open(`starling/${profile}/attachments`, {
      crypto,
      ...(secret != null ? { encryptionKey: deriveAtRestKey(crypto, secret, 'attachments') } : {})
    }),
    now: Date.now,
    ...(init.callMedia != null ? { createPeerConnection: init.callMedia.factory(), attachCallMedia: init.callMedia.attacher() } : {})
  }
}
