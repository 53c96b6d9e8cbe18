/**
 * What owners and relays sign, with domain separation so that no signature
 * made here verifies as anything else (nor anything signed elsewhere with the
 * same peer key as one of these).
 *
 * owner auth   = "starling-store-v2 owner-auth" || 0x00 || op (1) || mailbox (32)
 *                || u32 len || relay peer id || u64 timestamp || u32 len || body
 *                body: fetch = u32 limit || after cursor;
 *                      delete = id (16) || SHA-256 of the envelope (32), for each envelope
 * receipt      = "starling-store-v3 custody-receipt" || 0x00 || mailbox (32) || envelope id (16)
 *                || SHA-256 of the envelope (32) || u32 len || relay peer id || u64 storedAt || u64 expiresAt
 * receipt tree = "starling-store-v3 custody-receipt-tree" || 0x00 || u32 leaves || root (32)
 *                the root of a hash tree over receipt payloads (receipt-tree.ts)
 *
 * v2 changed the delete body (v1 signed bare ids, so junk served under a
 * real id got the real envelope deleted); the domain changed with it, so a
 * v1 signature over three ids can never pass for a v2 delete of one. v3
 * (store protocol 3.0.0) put the envelope's hash in the receipt (a v2
 * receipt named the id alone, and a relay holding junk under that id
 * signed it for the real envelope); the receipt's domain changed with it.
 *
 * Integers are big-endian. An owner is a device whose peer key is Ed25519,
 * so its public key is inside its peer id and verifying needs no lookup.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Ed25519Provider } from '../../crypto/provider.js'
import { bytesEqual, concatBytes, toHex } from '../../crypto/bytes.js'
import { ENVELOPE_ID_LENGTH } from '../../crypto/envelope.js'
import { AUTH_DOMAIN, ENVELOPE_HASH_LENGTH, MAX_RECEIPT_SIGNATURE_LENGTH, RECEIPT_DOMAIN, RECEIPT_TREE_DOMAIN } from './constants.js'
import { buildTree, leafHash, rootFromPath } from './receipt-tree.js'
import { InvalidReceiptError, InvalidStoreRequestError, UnauthorizedError } from './errors.js'
import { checkMailbox, mailboxId, peerIdFromBytes } from './mailbox.js'
import type { CustodyReceipt, OwnerAuth } from './pb/store.js'
import { wire } from './wire.js'

const encoder = new TextEncoder()
const AUTH_PREFIX = concatBytes(encoder.encode(AUTH_DOMAIN), new Uint8Array([0]))
const RECEIPT_PREFIX = concatBytes(encoder.encode(RECEIPT_DOMAIN), new Uint8Array([0]))
const RECEIPT_TREE_PREFIX = concatBytes(encoder.encode(RECEIPT_TREE_DOMAIN), new Uint8Array([0]))

/** Operations an owner signs for. */
export const AuthOp = { fetch: 1, delete: 2 } as const
export type AuthOp = typeof AuthOp[keyof typeof AuthOp]

function u32 (n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n, false)
  return out
}

function u64 (n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n), false)
  return out
}

function lengthPrefixed (bytes: Uint8Array): Uint8Array {
  return concatBytes(u32(bytes.length), bytes)
}

/** The body an owner signs for a fetch. */
export function fetchBody (after: Uint8Array, limit: number): Uint8Array {
  return concatBytes(u32(limit), after)
}

/**
 * The body an owner signs for a delete: each envelope's id and hash.
 *
 * @throws {InvalidStoreRequestError} for an id or hash of the wrong length
 */
export function deleteBody (refs: ReadonlyArray<{ id: Uint8Array, hash: Uint8Array }>): Uint8Array {
  const parts: Uint8Array[] = []
  for (const { id, hash } of refs) {
    if (!(id instanceof Uint8Array) || id.length !== ENVELOPE_ID_LENGTH) throw new InvalidStoreRequestError(`an envelope id is ${ENVELOPE_ID_LENGTH} bytes, got ${(id as Uint8Array | undefined)?.length}`)
    if (!(hash instanceof Uint8Array) || hash.length !== ENVELOPE_HASH_LENGTH) throw new InvalidStoreRequestError(`an envelope hash is ${ENVELOPE_HASH_LENGTH} bytes, got ${(hash as Uint8Array | undefined)?.length}`)
    parts.push(id, hash)
  }
  return concatBytes(...parts)
}

/** The reference a delete names: the envelope's id and SHA-256 of the bytes as fetched. */
export function envelopeRef (id: Uint8Array, envelope: Uint8Array): { id: Uint8Array, hash: Uint8Array } {
  return { id, hash: sha256(envelope) }
}

/** The bytes an owner signs. */
function ownerAuthPayload (op: AuthOp, mailbox: Uint8Array, relay: PeerId, timestamp: number, body: Uint8Array): Uint8Array {
  checkMailbox(mailbox)
  return concatBytes(AUTH_PREFIX, new Uint8Array([op]), mailbox, lengthPrefixed(relay.toMultihash().bytes), u64(timestamp), lengthPrefixed(body))
}

/** Signs an owner auth with the device's peer key (its mailbox is derived from that key). */
export async function signOwnerAuth (deviceKey: PrivateKey, op: AuthOp, relay: PeerId, timestamp: number, body: Uint8Array): Promise<{ mailbox: Uint8Array, auth: OwnerAuth }> {
  const owner = peerIdFromPrivateKey(deviceKey)
  const mailbox = mailboxId(owner)
  const signature = await deviceKey.sign(ownerAuthPayload(op, mailbox, relay, timestamp, body))
  return { mailbox, auth: { owner: wire(owner.toMultihash().bytes), timestamp: BigInt(timestamp), signature: wire(signature) } }
}

/** What {@link verifyOwnerAuth} checks against. */
export interface VerifyOwnerAuthInit {
  op: AuthOp
  mailbox: Uint8Array
  relay: PeerId
  body: Uint8Array
  now: number
  freshnessMs: number
}

/**
 * Checks that `auth` was signed by the device whose mailbox is `mailbox`,
 * for this operation and relay, within the freshness window.
 *
 * @throws {UnauthorizedError} for anything else
 */
export async function verifyOwnerAuth (auth: OwnerAuth | undefined, init: VerifyOwnerAuthInit): Promise<void> {
  if (auth == null) throw new UnauthorizedError('no owner signature')
  let owner: PeerId
  try {
    owner = peerIdFromBytes(auth.owner, 'owner')
  } catch (err) {
    throw new UnauthorizedError((err as Error).message)
  }
  if (owner.type !== 'Ed25519' || owner.publicKey == null) throw new UnauthorizedError(`owner key type ${owner.type} is not supported`)
  if (!bytesEqual(mailboxId(owner), init.mailbox)) throw new UnauthorizedError('the signer does not own this mailbox')
  const timestamp = Number(auth.timestamp)
  if (!Number.isSafeInteger(timestamp) || Math.abs(init.now - timestamp) > init.freshnessMs) {
    throw new UnauthorizedError('the owner signature is outside the freshness window')
  }
  const payload = ownerAuthPayload(init.op, init.mailbox, init.relay, timestamp, init.body)
  let valid: boolean
  try {
    valid = await owner.publicKey.verify(payload, auth.signature)
  } catch {
    valid = false
  }
  if (!valid) throw new UnauthorizedError('the owner signature does not verify')
}

/** What a custody receipt names: the envelope by mailbox, id and the SHA-256 of its bytes. */
export interface ReceiptSubject {
  mailbox: Uint8Array
  envelopeId: Uint8Array
  hash: Uint8Array
}

/** The bytes a relay signs in a custody receipt (`relayBytes`: the relay's multihash bytes, when the caller has them already). */
export function receiptPayload (subject: ReceiptSubject, relay: PeerId, storedAt: number, expiresAt: number, relayBytes: Uint8Array = relay.toMultihash().bytes): Uint8Array {
  checkMailbox(subject.mailbox)
  if (subject.hash.length !== ENVELOPE_HASH_LENGTH) throw new InvalidStoreRequestError(`an envelope hash is ${ENVELOPE_HASH_LENGTH} bytes, got ${subject.hash.length}`)
  return concatBytes(RECEIPT_PREFIX, subject.mailbox, subject.envelopeId, subject.hash, lengthPrefixed(relayBytes), u64(storedAt), u64(expiresAt))
}

/** The bytes a relay signs for a tree of `leaves` receipts with this root. */
function receiptTreePayload (leaves: number, root: Uint8Array): Uint8Array {
  return concatBytes(RECEIPT_TREE_PREFIX, u32(leaves), root)
}

/** What one receipt of a batch says: the envelope, and when it was stored and until when it is held. */
export interface ReceiptItem {
  subject: ReceiptSubject
  storedAt: number
  expiresAt: number
}

/** The Ed25519 seed length inside a libp2p Ed25519 private key (seed || public key). */
const ED25519_SEED_LENGTH = 32

/**
 * Signs a relay's custody receipts: one per stored envelope, so on the
 * relay's hot path. The relay's peer id and its bytes are worked out once.
 * With `ed25519` (the crypto facade's, node:crypto in Node) the signature
 * comes from the seed, whose imported key the provider keeps: libp2p's
 * `privateKey.sign` imports the key again on every call (a third of the
 * signature's cost in a relay profile). Both make the same signature
 * (Ed25519 is deterministic); other key types always use the peer key.
 */
export class ReceiptSigner {
  /** The relay whose receipts these are. */
  readonly relay: PeerId
  /** The relay's peer id as a receipt names it (multihash bytes). */
  readonly relayBytes: Uint8Array
  private readonly key: PrivateKey
  private readonly ed25519?: Pick<Ed25519Provider, 'sign'>
  /** One array for the life of the signer: the provider caches the imported key by array identity. */
  private readonly seed?: Uint8Array

  constructor (relayKey: PrivateKey, ed25519?: Pick<Ed25519Provider, 'sign'>) {
    this.key = relayKey
    this.relay = peerIdFromPrivateKey(relayKey)
    this.relayBytes = this.relay.toMultihash().bytes
    if (ed25519 != null && relayKey.type === 'Ed25519' && relayKey.raw.length >= ED25519_SEED_LENGTH) {
      this.ed25519 = ed25519
      this.seed = relayKey.raw.slice(0, ED25519_SEED_LENGTH)
    }
  }

  /** Signs the receipt payload of `subject`, these times. */
  async sign (subject: ReceiptSubject, storedAt: number, expiresAt: number): Promise<CustodyReceipt> {
    const payload = receiptPayload(subject, this.relay, storedAt, expiresAt, this.relayBytes)
    return this.receipt({ subject, storedAt, expiresAt }, await this.signBytes(payload))
  }

  /**
   * Tree receipts for `items` (receipt-tree.ts): one signature over the
   * root of their payloads' tree, each receipt with its inclusion proof, in
   * the order given.
   */
  async signTree (items: readonly ReceiptItem[]): Promise<CustodyReceipt[]> {
    const leaves = items.map(({ subject, storedAt, expiresAt }) => leafHash(receiptPayload(subject, this.relay, storedAt, expiresAt, this.relayBytes)))
    const tree = buildTree(leaves)
    const signature = await this.signBytes(receiptTreePayload(items.length, tree.root))
    return items.map((item, index) => ({ ...this.receipt(item, signature), leaves: items.length, index, path: tree.paths[index].map(wire) }))
  }

  private async signBytes (payload: Uint8Array): Promise<Uint8Array> {
    return this.ed25519 != null && this.seed != null ? await this.ed25519.sign(this.seed, payload) : await this.key.sign(payload)
  }

  private receipt ({ subject, storedAt, expiresAt }: ReceiptItem, signature: Uint8Array): CustodyReceipt {
    return {
      envelopeId: wire(subject.envelopeId),
      hash: wire(subject.hash),
      relay: wire(this.relayBytes),
      storedAt: BigInt(storedAt),
      expiresAt: BigInt(expiresAt),
      signature: wire(signature),
      leaves: 0,
      index: 0,
      path: []
    }
  }
}

/** A custody receipt signed with the relay's peer key (or its {@link ReceiptSigner}), for the envelope (these very bytes) it holds. */
export async function signReceipt (relay: PrivateKey | ReceiptSigner, subject: ReceiptSubject, storedAt: number, expiresAt: number): Promise<CustodyReceipt> {
  const signer = relay instanceof ReceiptSigner ? relay : new ReceiptSigner(relay)
  return await signer.sign(subject, storedAt, expiresAt)
}

/** A custody receipt as the client keeps it once verified. */
export interface VerifiedReceipt {
  envelopeId: Uint8Array
  /** SHA-256 of the envelope the relay holds: the bytes that were handed over. */
  hash: Uint8Array
  relay: PeerId
  storedAt: number
  expiresAt: number
  /** Over this receipt's payload, or (with `tree`) over the root of its batch's tree. */
  signature: Uint8Array
  /** For a tree receipt: where its leaf is in the tree the signature is over (receipt-tree.ts). */
  tree?: { leaves: number, index: number, path: Uint8Array[] }
}

/** Signatures over receipt trees that verified lately, so that the receipts of one batch cost one verification. */
const MAX_VERIFIED_TREES = 64

/**
 * Tree signatures a client verified (or is verifying), by everything the
 * signature covers and the signature itself: the same bytes, key and
 * signature verify the same way every time, so a batch's receipts need one
 * verification between them. The oldest are forgotten past
 * {@link MAX_VERIFIED_TREES}.
 */
export class VerifiedTrees {
  private readonly verdicts = new Map<string, Promise<boolean>>()

  /** Verdicts kept. */
  get size (): number {
    return this.verdicts.size
  }

  async check (key: string, verify: () => Promise<boolean>): Promise<boolean> {
    let verdict = this.verdicts.get(key)
    if (verdict == null) {
      verdict = verify()
      this.verdicts.set(key, verdict)
      if (this.verdicts.size > MAX_VERIFIED_TREES) this.verdicts.delete(this.verdicts.keys().next().value as string)
    }
    return await verdict
  }
}

/** What {@link verifyReceipt} may use: an Ed25519 verifier (the crypto facade's), and a client's {@link VerifiedTrees}. */
export interface VerifyReceiptOptions {
  ed25519?: Pick<Ed25519Provider, 'verify'>
  trees?: VerifiedTrees
}

/**
 * Checks a receipt for the envelope `subject` names (the bytes that were
 * handed over) against the relay that was dialled; a tree receipt's
 * inclusion proof leads from this receipt's payload to the root the
 * signature is over. With `ed25519` (the crypto facade's), an Ed25519
 * relay's signature is checked by it; with `trees`, a tree signature
 * already verified is not verified again.
 *
 * @throws {InvalidReceiptError} when it names other bytes, another envelope or relay, or is not that relay's valid signature (or a signature longer than {@link MAX_RECEIPT_SIGNATURE_LENGTH})
 */
export async function verifyReceipt (receipt: CustodyReceipt | undefined, relay: PeerId, subject: ReceiptSubject, options: VerifyReceiptOptions = {}): Promise<VerifiedReceipt> {
  if (receipt == null) throw new InvalidReceiptError('the relay sent no receipt')
  // Before any work: the signature is hex-encoded into a verdict's cache key, and a relay may send one as long as a frame.
  if (receipt.signature.length > MAX_RECEIPT_SIGNATURE_LENGTH) throw new InvalidReceiptError(`a receipt signature of ${receipt.signature.length} bytes is over ${MAX_RECEIPT_SIGNATURE_LENGTH}`)
  if (!bytesEqual(receipt.envelopeId, subject.envelopeId)) throw new InvalidReceiptError('the receipt names another envelope')
  if (!bytesEqual(receipt.hash, subject.hash)) throw new InvalidReceiptError('the receipt names other bytes than those handed over')
  const relayBytes = relay.toMultihash().bytes
  if (!bytesEqual(receipt.relay, relayBytes)) throw new InvalidReceiptError('the receipt names another relay')
  const publicKey = relay.publicKey
  if (publicKey == null) throw new InvalidReceiptError(`cannot verify a receipt from a ${relay.type} peer id`)
  const storedAt = Number(receipt.storedAt)
  const expiresAt = Number(receipt.expiresAt)
  if (!Number.isSafeInteger(storedAt) || !Number.isSafeInteger(expiresAt) || expiresAt < storedAt) throw new InvalidReceiptError('the receipt times are not valid')
  const { ed25519, trees } = options
  const verify = async (payload: Uint8Array): Promise<boolean> => {
    try {
      // The facade's verifier keeps the imported key (libp2p's imports it again for every receipt).
      return ed25519 != null && relay.type === 'Ed25519'
        ? await ed25519.verify(publicKey.raw, payload, receipt.signature)
        : await publicKey.verify(payload, receipt.signature)
    } catch {
      return false
    }
  }
  const payload = receiptPayload(subject, relay, storedAt, expiresAt, relayBytes)
  let valid: boolean
  let tree: VerifiedReceipt['tree']
  if (receipt.leaves === 0 && receipt.index === 0 && receipt.path.length === 0) {
    valid = await verify(payload)
  } else {
    const root = rootFromPath(leafHash(payload), receipt.index, receipt.leaves, receipt.path)
    if (root == null) throw new InvalidReceiptError(`the receipt's inclusion proof is not one for leaf ${receipt.index} of ${receipt.leaves}`)
    const signed = receiptTreePayload(receipt.leaves, root)
    valid = trees != null
      ? await trees.check(`${toHex(relayBytes)} ${toHex(signed)} ${toHex(receipt.signature)}`, async () => await verify(signed))
      : await verify(signed)
    tree = { leaves: receipt.leaves, index: receipt.index, path: receipt.path }
  }
  if (!valid) throw new InvalidReceiptError('the receipt signature does not verify')
  return { envelopeId: subject.envelopeId, hash: subject.hash, relay, storedAt, expiresAt, signature: receipt.signature, ...(tree != null ? { tree } : {}) }
}
