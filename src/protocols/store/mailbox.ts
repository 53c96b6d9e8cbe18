/**
 * Mailbox ids and shard topics. A device's mailbox id is
 * SHA-256(utf8("starling-mailbox-v1") || its peer id as multihash bytes):
 * anyone who knows the peer id can address it, and relays learn nothing more
 * from it than that a 32-byte digest receives envelopes. Relays subscribe to
 * every shard topic; user nodes never do.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import type { PeerId } from '@libp2p/interface'
import { concatBytes } from '../../crypto/bytes.js'
import { MAILBOX_DOMAIN, MAILBOX_LENGTH, MAILBOX_SHARDS, MAILBOX_TOPIC_PREFIX, MAX_PEER_ID_LENGTH } from './constants.js'
import { InvalidStoreRequestError } from './errors.js'

const DOMAIN = new TextEncoder().encode(MAILBOX_DOMAIN)

/** The mailbox id of a device. */
export function mailboxId (peerId: PeerId): Uint8Array {
  return sha256(concatBytes(DOMAIN, peerId.toMultihash().bytes))
}

/** The shard a mailbox belongs to: its first byte modulo {@link MAILBOX_SHARDS}. */
export function mailboxShard (mailbox: Uint8Array): number {
  checkMailbox(mailbox)
  return mailbox[0] % MAILBOX_SHARDS
}

/** The gossipsub topic of a shard. */
function shardTopic (shard: number): string {
  if (!Number.isInteger(shard) || shard < 0 || shard >= MAILBOX_SHARDS) throw new RangeError(`shard must be 0..${MAILBOX_SHARDS - 1}, got ${shard}`)
  return `${MAILBOX_TOPIC_PREFIX}${shard}`
}

/** The gossipsub topic a mailbox's envelopes and deletes travel on. */
export function mailboxTopic (mailbox: Uint8Array): string {
  return shardTopic(mailboxShard(mailbox))
}

/** Every shard topic, in shard order (what a relay subscribes to). */
export function allShardTopics (): string[] {
  return Array.from({ length: MAILBOX_SHARDS }, (_, shard) => shardTopic(shard))
}

/** Throws InvalidStoreRequestError unless `mailbox` is a {@link MAILBOX_LENGTH}-byte array. */
export function checkMailbox (mailbox: Uint8Array): void {
  if (!(mailbox instanceof Uint8Array) || mailbox.length !== MAILBOX_LENGTH) {
    throw new InvalidStoreRequestError(`a mailbox id is ${MAILBOX_LENGTH} bytes, got ${(mailbox as Uint8Array | undefined)?.length}`)
  }
}

/**
 * A peer id from its multihash bytes, bounded in size.
 *
 * @throws {InvalidStoreRequestError} when the bytes are not a peer id
 */
export function peerIdFromBytes (bytes: Uint8Array, what: string): PeerId {
  if (bytes.length === 0 || bytes.length > MAX_PEER_ID_LENGTH) throw new InvalidStoreRequestError(`${what} of ${bytes.length} bytes is not a peer id`)
  try {
    return peerIdFromMultihash(Digest.decode(bytes))
  } catch (err) {
    throw new InvalidStoreRequestError(`${what} is not a peer id: ${(err as Error).message}`)
  }
}
