/**
 * What the messenger knows about a remote device, from its signed device
 * record: how to dial it, which relays hold its mailbox, and the prekey
 * bundle to start a session with it.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { DeviceRecord } from '../identity/index.js'
import type { PrekeyBundle } from '../crypto/session.js'
import { setNewest } from '../bounded.js'

/** A remote device, ready to talk to. */
export interface RemoteDevice {
  peerId: PeerId
  accountKey: Uint8Array
  identityKey: Uint8Array
  /** Addresses to dial, each ending in the device's /p2p/<peer id>. */
  addrs: Multiaddr[]
  /** Relays the device listens through: where its mailbox is. */
  relays: Array<{ peerId: PeerId, addrs: Multiaddr[] }>
  /** Absent for a device known only by the session we have with it (it wrote to us). */
  bundle?: PrekeyBundle
}

/** Peer ids parsed recently, by their text or multihash bytes (a peer's id is parsed for every message). */
const PEER_ID_CACHE_SIZE = 1024
const peerIds = new Map<string, PeerId>()

function remember (key: string, make: () => PeerId): PeerId {
  const hit = peerIds.get(key)
  if (hit != null) return hit
  const peerId = make()
  setNewest(peerIds, key, peerId, PEER_ID_CACHE_SIZE)
  return peerId
}

/** The peer id in a record or message (multihash bytes). */
export function peerIdFromBytes (bytes: Uint8Array): PeerId {
  let key = 'b'
  for (const b of bytes) key += String.fromCharCode(b)
  return remember(key, () => peerIdFromMultihash(Digest.decode(bytes)))
}

/** A peer id from its text form (as the outbox stores it). */
export function peerIdFromText (text: string): PeerId {
  return remember('s' + text, () => peerIdFromString(text))
}

/** Turns a verified device record into a {@link RemoteDevice}. */
export function remoteDevice (record: DeviceRecord): RemoteDevice {
  const peerId = peerIdFromBytes(record.peerId)
  const self = `/p2p/${peerId.toString()}`
  const addrs: Multiaddr[] = []
  const relays = new Map<string, { peerId: PeerId, addrs: Multiaddr[] }>()
  for (const bytes of record.addrs) {
    let ma: Multiaddr
    try {
      ma = multiaddr(bytes)
    } catch {
      continue
    }
    const text = ma.toString()
    addrs.push(text.endsWith(self) ? ma : multiaddr(text + self))
    const circuit = text.indexOf('/p2p-circuit')
    if (circuit < 0) continue
    const relayAddr = text.slice(0, circuit)
    const relayId = /\/p2p\/([^/]+)$/.exec(relayAddr)?.[1]
    if (relayId == null) continue
    const entry = relays.get(relayId) ?? { peerId: peerIdFromString(relayId), addrs: [] }
    entry.addrs.push(multiaddr(relayAddr))
    relays.set(relayId, entry)
  }
  if (record.signedPrekey == null || record.kemPrekey == null) throw new TypeError('device record without prekeys')
  return {
    peerId,
    accountKey: record.accountKey,
    identityKey: record.identityKey,
    addrs,
    relays: [...relays.values()],
    bundle: {
      accountKey: record.accountKey,
      identityKey: record.identityKey,
      identityKeySignature: record.identityKeySignature,
      signedPrekey: record.signedPrekey,
      kemPrekey: record.kemPrekey
    }
  }
}
