/**
 * What differs between the platforms a peer runs on, and nothing else:
 * node/ gives TCP and WebSockets, node:crypto, LevelDB and files; web/ will
 * give WebSockets and WebRTC, WebCrypto, IndexedDB and OPFS. Everything
 * else about a peer is assembled the same way in src/peer/peer.ts.
 */
import type { ConnectionGater } from '@libp2p/interface'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import type { Crypto } from '../crypto/index.js'
import type { TransportFactory } from '../net/node.js'
import type { Store } from '../store/index.js'
import type { BlobStore } from '../messenger/attachments/index.js'
import type { KeyStorage } from './identity.js'
import type { MediaAttacher, PeerConnectionFactory } from '../calls/index.js'

/**
 * A platform's pieces. `B` is the platform's blob store, so that its host
 * (the daemon's API, a page) can use what it has beyond {@link BlobStore}
 * (a file path to open, say).
 */
export interface PeerPlatform<B extends BlobStore = BlobStore> {
  /** The crypto facade with this platform's fastest providers. */
  crypto: Crypto
  /** Transports to listen and dial on (the circuit relay transport is always added). */
  transports(): TransportFactory[]
  /** Noise's primitives, when the platform has faster ones than the library's. */
  noiseCrypto?: ICryptoInterface
  /** Which connections to allow (a browser's default refuses `ws://` and loopback). */
  connectionGater?: ConnectionGater
  /**
   * Whether DCUtR (hole punching over a relayed connection) can do anything
   * here (default true). It only dials a peer's public addresses that are
   * not relayed, over TCP or another transport of ours, and hands the other
   * side ours: a tab has no TCP and no address a peer can dial directly
   * (its upgrade of a relayed connection is WebRTC's), so it has none.
   */
  holePunching?: boolean
  /** Where the key file lives. */
  keys: KeyStorage
  /**
   * Opens the message store. `atRestSecret` is the identity's secret key when
   * its key file is encrypted: the store is then encrypted under a key
   * derived from it (src/store/at-rest-key.ts), and a store in the clear is
   * encrypted on this open.
   */
  openStore(atRestSecret?: Uint8Array): Promise<Store>
  /** Opens the attachment store, encrypted like the message store. */
  openBlobs(atRestSecret?: Uint8Array): Promise<B>
  /** The clock, in ms since the Unix epoch (default Date.now). */
  now?(): number
  /** Makes `RTCPeerConnection`s with the platform's media for calls; without it the peer neither places nor takes calls. */
  createPeerConnection?: PeerConnectionFactory
  /** Adds the microphone and camera to a connection made without them: with it, a contact's call gets its connection while it rings. */
  attachCallMedia?: MediaAttacher
}
