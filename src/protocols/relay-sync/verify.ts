/**
 * Checks of what another relay hands over in a sync: nothing it says is
 * taken on its word. An envelope must be the one asked for (its id and the
 * SHA-256 of its bytes are in the item key) and not expired; a delete must
 * carry its owner's valid signature, whatever relay it was signed for,
 * and name the tombstones asked for.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesEqual } from '../../crypto/bytes.js'
import { ENVELOPE_ID_LENGTH, parseEnvelopeHeader } from '../../crypto/envelope.js'
import { MAILBOX_LENGTH, MAX_DELETE_REFS, MAX_STORED_ENVELOPE_LENGTH } from '../store/constants.js'
import { checkMailbox, peerIdFromBytes } from '../store/mailbox.js'
import { GossipDelete } from '../store/pb/store.js'
import { AuthOp, deleteBody, verifyOwnerAuth } from '../store/signing.js'
import { ITEM_KEY_LENGTH, MAX_CLOCK_SKEW_MS } from './constants.js'
import { SyncProtocolError } from './errors.js'
import type { SyncedEnvelopeEntry } from './relay-sync.js'

/** The parts of an item key. */
export interface KeyParts {
  mailbox: Uint8Array
  id: Uint8Array
  hash: Uint8Array
}

/** Splits an item key. */
export function splitKey (key: Uint8Array): KeyParts {
  return {
    mailbox: key.subarray(0, MAILBOX_LENGTH),
    id: key.subarray(MAILBOX_LENGTH, MAILBOX_LENGTH + ENVELOPE_ID_LENGTH),
    hash: key.subarray(MAILBOX_LENGTH + ENVELOPE_ID_LENGTH, ITEM_KEY_LENGTH)
  }
}

/**
 * Whether a fetched envelope may be stored: true when it is the one asked
 * for and still within `retentionMs` of its stored-at time, false when it
 * has expired meanwhile.
 *
 * @throws {SyncProtocolError} for other bytes than the key names, or a stored-at time in the future
 */
export function checkSyncedEnvelope (entry: SyncedEnvelopeEntry, now: number, retentionMs: number): boolean {
  const { id, hash } = splitKey(entry.key)
  if (entry.envelope.length > MAX_STORED_ENVELOPE_LENGTH) throw new SyncProtocolError(`an envelope of ${entry.envelope.length} bytes`)
  let header
  try {
    header = parseEnvelopeHeader(entry.envelope)
  } catch (err) {
    throw new SyncProtocolError(`an envelope that does not parse: ${(err as Error).message}`)
  }
  if (!bytesEqual(header.id, id)) throw new SyncProtocolError('an envelope under another id than its own')
  if (!bytesEqual(sha256(entry.envelope), hash)) throw new SyncProtocolError('an envelope whose bytes do not hash to its key')
  if (!Number.isSafeInteger(entry.storedAt) || entry.storedAt > now + MAX_CLOCK_SKEW_MS) throw new SyncProtocolError('an envelope stored in the future')
  return entry.storedAt + retentionMs > now
}

/** A signed delete that verified. */
export interface CheckedDelete {
  mailbox: Uint8Array
  refs: Array<{ id: Uint8Array, hash: Uint8Array }>
  timestamp: number
  /** Past its lifetime: nothing to keep a tombstone for. */
  expired: boolean
}

/**
 * Decodes and verifies a signed delete as a relay serves it from its
 * tombstones. Unlike a delete from its owner, an old one is fine (it is
 * kept until `lifetimeMs` after its signing); one signed in the future is not.
 *
 * @throws {SyncProtocolError} for anything its owner did not sign
 */
export async function checkSyncedDelete (bytes: Uint8Array, now: number, lifetimeMs: number): Promise<CheckedDelete> {
  let signed: GossipDelete
  try {
    signed = GossipDelete.decode(bytes, { limits: { refs: MAX_DELETE_REFS } })
    checkMailbox(signed.mailbox)
  } catch (err) {
    throw new SyncProtocolError(`a delete that does not decode: ${(err as Error).message}`)
  }
  if (signed.auth == null || signed.refs.length === 0) throw new SyncProtocolError('an unsigned or empty delete')
  const timestamp = Number(signed.auth.timestamp)
  if (!Number.isSafeInteger(timestamp) || timestamp > now + MAX_CLOCK_SKEW_MS) throw new SyncProtocolError('a delete signed in the future')
  try {
    await verifyOwnerAuth(signed.auth, {
      op: AuthOp.delete,
      mailbox: signed.mailbox,
      relay: peerIdFromBytes(signed.relay, 'relay'),
      body: deleteBody(signed.refs),
      // Its age is checked against the tombstone lifetime instead of the owner's freshness window.
      now: timestamp,
      freshnessMs: 0
    })
  } catch (err) {
    throw new SyncProtocolError(`a delete without its owner's valid signature: ${(err as Error).message}`)
  }
  return { mailbox: signed.mailbox, refs: signed.refs, timestamp, expired: timestamp + lifetimeMs <= now }
}
