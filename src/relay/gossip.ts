/**
 * Mailbox gossip among relays: envelopes and owner-signed deletes travel on
 * the shard topics `/starling/mailbox/3.0.0/<shard>` so that every relay of
 * a relay set holds every envelope. Only relays of the set take part: a
 * relay gives every other peer a score far below gossipsub's graylist
 * threshold, so their subscriptions and messages are ignored and nothing is
 * sent to them (user nodes never download other people's envelopes), and
 * its topic validator refuses any message that did not come from a linked
 * relay. Messages are unsigned at the gossipsub layer
 * (StrictNoSign: no relay identity or sequence number rides along) and their
 * message id is derived from the content (mailbox, envelope id and SHA-256
 * of the envelope), so the same envelope put on two relays is one message
 * and duplicates cost a cache lookup, while other bytes under a real id
 * (junk a relay of the set spreads first) are another message and never
 * hide the real envelope from gossipsub's seen-cache. What a relay accepts is checked here;
 * deletes must carry the owner's valid signature over ids and content
 * hashes.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { StrictNoSign, TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipsubOpts, Message } from '@libp2p/gossipsub'
import { concatBytes } from '../crypto/bytes.js'
import { ENVELOPE_ID_LENGTH, parseEnvelopeHeader } from '../crypto/envelope.js'
import {
  AUTH_FRESHNESS_MS, MAX_DELETE_REFS, MAX_STORED_ENVELOPE_LENGTH, MAX_REQUEST_FRAME_LENGTH
} from '../protocols/store/constants.js'
import { allShardTopics, checkMailbox, mailboxTopic, peerIdFromBytes } from '../protocols/store/mailbox.js'
import { MailboxGossip } from '../protocols/store/pb/store.js'
import type { GossipDelete, GossipEnvelope } from '../protocols/store/pb/store.js'
import type { EnvelopeRef } from '../protocols/store/store.js'
import { AuthOp, deleteBody, verifyOwnerAuth } from '../protocols/store/signing.js'
import { wire } from '../protocols/store/wire.js'
import type { RelaySet } from './relay-set.js'

/** Largest gossipsub RPC frame a relay reads (a full envelope plus room for control messages). */
export const MAX_GOSSIP_RPC_LENGTH = 4 * 1024 * 1024

const ID_ENVELOPE = 0x45 // 'E'
const ID_DELETE = 0x44 // 'D'
const ID_OTHER = 0x3f // '?'

/** A gossip message that passed {@link checkGossip}. */
export type CheckedGossip =
  | { kind: 'envelope', mailbox: Uint8Array, id: Uint8Array, envelope: Uint8Array }
  | { kind: 'delete', mailbox: Uint8Array, refs: EnvelopeRef[], signed: Required<GossipDelete> }

/** Thrown by {@link checkGossip}; the message is rejected. */
export class InvalidGossipError extends Error {
  override readonly name = 'InvalidGossipError'
}

/** The gossip payload that spreads an envelope. */
export function encodeEnvelopeGossip (mailbox: Uint8Array, envelope: Uint8Array): Uint8Array {
  const message: GossipEnvelope = { mailbox: wire(mailbox), envelope: wire(envelope) }
  return MailboxGossip.encode({ envelope: message })
}

/** The gossip payload that spreads an owner-signed delete. */
export function encodeDeleteGossip (signed: GossipDelete): Uint8Array {
  return MailboxGossip.encode({ delete: signed })
}

function decode (data: Uint8Array): MailboxGossip {
  if (data.length > MAX_REQUEST_FRAME_LENGTH) throw new InvalidGossipError(`gossip message of ${data.length} bytes is too long`)
  try {
    return MailboxGossip.decode(data, { limits: { delete: { refs: MAX_DELETE_REFS } } })
  } catch (err) {
    throw new InvalidGossipError(`undecodable gossip message: ${(err as Error).message}`)
  }
}

/**
 * The gossipsub message id: 'E' || mailbox || envelope id || SHA-256 of the
 * envelope for an envelope (the same envelope from two relays is one
 * message; other bytes under its id are another), 'D' || SHA-256(data) for
 * anything else. Never throws: garbage gets a content hash and is then
 * rejected by the validator.
 */
export function mailboxMessageId (message: Message): Uint8Array {
  try {
    const decoded = decode(message.data)
    if (decoded.envelope != null && decoded.delete == null && decoded.envelope.envelope.length > ENVELOPE_ID_LENGTH) {
      const envelope = decoded.envelope.envelope
      return concatBytes(new Uint8Array([ID_ENVELOPE]), decoded.envelope.mailbox, envelope.subarray(1, 1 + ENVELOPE_ID_LENGTH), sha256(envelope))
    }
    return concatBytes(new Uint8Array([ID_DELETE]), sha256(message.data))
  } catch {
    return concatBytes(new Uint8Array([ID_OTHER]), sha256(message.data))
  }
}

/** What {@link checkGossip} needs for deletes. */
export interface CheckGossipInit {
  now: number
  freshnessMs?: number
}

/**
 * Decodes and checks a gossip message from `topic`: exactly one of
 * envelope/delete, a mailbox of the topic's shard, an envelope that parses
 * and is not too long, or a delete whose owner signature verifies.
 *
 * @throws {InvalidGossipError} otherwise
 */
export async function checkGossip (topic: string, data: Uint8Array, init: CheckGossipInit): Promise<CheckedGossip> {
  const decoded = decode(data)
  if ((decoded.envelope == null) === (decoded.delete == null)) throw new InvalidGossipError('a gossip message holds exactly one of envelope, delete')
  const mailbox = decoded.envelope?.mailbox ?? decoded.delete?.mailbox ?? new Uint8Array(0)
  try {
    checkMailbox(mailbox)
  } catch (err) {
    throw new InvalidGossipError((err as Error).message)
  }
  if (mailboxTopic(mailbox) !== topic) throw new InvalidGossipError('the mailbox belongs to another shard')
  if (decoded.envelope != null) {
    const envelope = decoded.envelope.envelope
    if (envelope.length > MAX_STORED_ENVELOPE_LENGTH) throw new InvalidGossipError(`envelope of ${envelope.length} bytes is too long`)
    let id: Uint8Array
    try {
      id = parseEnvelopeHeader(envelope).id
    } catch (err) {
      throw new InvalidGossipError((err as Error).message)
    }
    return { kind: 'envelope', mailbox, id, envelope }
  }
  const del = decoded.delete as GossipDelete
  if (del.auth == null) throw new InvalidGossipError('an unsigned delete')
  if (del.refs.length === 0) throw new InvalidGossipError('a delete names no envelopes')
  try {
    const relay = peerIdFromBytes(del.relay, 'relay')
    await verifyOwnerAuth(del.auth, {
      op: AuthOp.delete,
      mailbox,
      relay,
      body: deleteBody(del.refs),
      now: init.now,
      freshnessMs: init.freshnessMs ?? AUTH_FRESHNESS_MS
    })
  } catch (err) {
    throw new InvalidGossipError(`a delete without a valid owner signature: ${(err as Error).message}`)
  }
  return { kind: 'delete', mailbox, refs: del.refs, signed: { mailbox: del.mailbox, refs: del.refs, auth: del.auth, relay: del.relay } }
}

/** Maps {@link checkGossip} to a gossipsub validation result. */
export async function validateGossip (topic: string, data: Uint8Array, init: CheckGossipInit): Promise<TopicValidatorResult> {
  try {
    await checkGossip(topic, data, init)
    return TopicValidatorResult.Accept
  } catch {
    return TopicValidatorResult.Reject
  }
}

/**
 * The application score of a peer outside the relay set. Weighted by
 * gossipsub's default appSpecificWeight (10) it puts the peer far below the
 * graylist threshold (-80), whatever its other scores.
 */
export const NOT_LINKED_SCORE = -1000

/** Options of {@link mailboxGossipsubOptions}. */
export interface MailboxGossipsubInit {
  /**
   * Peers share 127.0.0.1 (tests, simulations): turn off gossipsub's
   * same-IP penalty, which breaks meshes there. Keep it in production.
   */
  loopback?: boolean
  /** The relays this relay is linked with: everyone else is graylisted. */
  relaySet: Pick<RelaySet, 'has'>
}

/** The gossipsub options a relay runs with (`gossipsub(mailboxGossipsubOptions(...))`). */
export function mailboxGossipsubOptions (init: MailboxGossipsubInit): Partial<GossipsubOpts> {
  const relaySet = init.relaySet
  return {
    globalSignaturePolicy: StrictNoSign,
    msgIdFn: mailboxMessageId,
    // A lone relay still stores; a relay that already has an envelope from gossip may be handed it again.
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    allowedTopics: allShardTopics(),
    maxInboundDataLength: MAX_GOSSIP_RPC_LENGTH,
    scoreParams: {
      ...(init.loopback === true ? { IPColocationFactorWeight: 0 } : {}),
      appSpecificScore: (peer: string) => relaySet.has(peer) ? 0 : NOT_LINKED_SCORE
    }
  }
}
