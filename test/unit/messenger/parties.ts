/**
 * A receiving messenger over a real LevelDB store (the daemon's receive path:
 * envelope open, session, ratchet, validation, synced commit), and senders
 * that build envelopes for it with the real library, byte for byte as a peer
 * would, including hostile ones.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { Crypto } from '../../../src/crypto/index.js'
import { concatBytes } from '../../../src/crypto/bytes.js'
import { sealEnvelope } from '../../../src/crypto/envelope.js'
import { encryptHeader } from '../../../src/crypto/header.js'
import { encodePrekeyPrefix } from '../../../src/crypto/pqxdh.js'
import { createPrekeyState, generateIdentityKey, publicPrekeys } from '../../../src/crypto/prekeys.js'
import type { PrekeyState } from '../../../src/crypto/prekeys.js'
import { encrypt, initiateSession } from '../../../src/crypto/session.js'
import type { LocalIdentity, PrekeyBundle, SessionState } from '../../../src/crypto/session.js'
import { LevelStore } from '../../../src/store/index.js'
import { Messenger } from '../../../src/messenger/messenger.js'
import type { MessengerInit } from '../../../src/messenger/messenger.js'
import type { AttachmentHost } from '../../../src/messenger/attachment-transfer.js'
import { encodeMessage, newMessageId } from '../../../src/messenger/model/index.js'
import type { MessageBody } from '../../../src/messenger/model/index.js'
import { encodePayload, isChunkPayload, withDeviceRecord } from '../../../src/messenger/payload.js'
import { buildDeviceRecord } from '../../../src/identity/index.js'

/** An account with one device: what a messenger or a peer needs. */
export interface Account {
  accountSecretKey: Uint8Array
  identity: LocalIdentity
  prekeys: PrekeyState
  peerId: PeerId
  bundle: PrekeyBundle
  /** The device's signed device record (a session's first messages carry it). */
  record: Uint8Array
}

/** A fresh account and device. */
export async function makeAccount (crypto: Crypto, now: number): Promise<Account> {
  const account = await crypto.ed25519.generateKeyPair()
  const ik = await generateIdentityKey(crypto, account.secretKey)
  const prekeys = await createPrekeyState(crypto, account.secretKey, now)
  const deviceKey = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(deviceKey)
  const identity: LocalIdentity = { accountKey: account.publicKey, identityKey: { secretKey: ik.secretKey, publicKey: ik.publicKey }, identityKeySignature: ik.signature }
  const pub = publicPrekeys(prekeys)
  const record = await buildDeviceRecord(crypto, { accountSecretKey: account.secretKey, devicePrivateKey: deviceKey, addrs: [], identityKey: ik.publicKey, signedPrekey: pub.signedPrekey, kemPrekey: pub.kemPrekey, seq: now, expiresAt: now + 24 * 3_600_000 })
  return {
    record: record.value,
    accountSecretKey: account.secretKey,
    identity,
    prekeys,
    peerId,
    bundle: { accountKey: account.publicKey, identityKey: ik.publicKey, identityKeySignature: ik.signature, signedPrekey: pub.signedPrekey, kemPrekey: pub.kemPrekey }
  }
}

/** A messenger of `me` over a LevelDB store in a temporary directory; the network is never reached. */
export interface Receiver {
  me: Account
  messenger: Messenger
  store: LevelStore
  close(): Promise<void>
}

const unreachable = async (): Promise<never> => { throw new Error('no network in this test') }

/** Builds a {@link Receiver}. */
export async function makeReceiver (crypto: Crypto, options: { now: () => number, attachments?: AttachmentHost, init?: Partial<MessengerInit> }): Promise<Receiver> {
  const me = await makeAccount(crypto, options.now())
  const dir = await mkdtemp(join(tmpdir(), 'starling-receiver-'))
  const store = new LevelStore(dir)
  await store.open()
  const messenger = new Messenger({
    crypto,
    store,
    directory: { resolve: unreachable, resolveOne: unreachable, lookupDevice: unreachable },
    transport: { sendDirect: unreachable, storeOnRelay: unreachable, fetchMailbox: unreachable, deleteFromMailbox: unreachable },
    identity: {
      handleName: 'bob',
      tag: 'test',
      accountSecretKey: me.accountSecretKey,
      accountPublicKey: me.identity.accountKey,
      peerId: me.peerId,
      identityKey: me.identity.identityKey,
      identityKeySignature: me.identity.identityKeySignature,
      prekeys: () => me.prekeys,
      deviceRecord: () => me.record
    },
    relays: () => [],
    now: options.now,
    ...(options.attachments != null ? { attachments: options.attachments } : {}),
    ...options.init
  })
  return {
    me,
    messenger,
    store,
    close: async () => {
      await messenger.stop()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** A peer writing to one recipient device: its session and the envelopes it seals. */
export interface Sender {
  account: Account
  session: SessionState
  /** Seals `inner` (a session message, or any bytes) to the recipient as this sender. */
  seal(inner: Uint8Array): Promise<Uint8Array>
  /** A real message with `body`, encrypted in the session (which moves on), sealed. */
  message(body: MessageBody, lamport?: number): Promise<Uint8Array>
  /** A chunk payload (attachments through relays), encrypted in the session, sealed. */
  payload(plaintext: Uint8Array): Promise<Uint8Array>
}

/** A new account that starts a session with `to` (nothing is sent yet). */
export async function makeSender (crypto: Crypto, to: Account, now: number, name = 'mallory'): Promise<Sender> {
  const account = await makeAccount(crypto, now)
  const { state } = await initiateSession(crypto, account.identity, to.bundle)
  const sender: Sender = {
    account,
    session: state,
    seal: async (inner) => (await sealEnvelope(crypto, to.identity.identityKey.publicKey, { accountKey: account.identity.accountKey, identityKey: account.identity.identityKey }, inner)).envelope,
    payload: async (plaintext) => {
      // As the library does: while the session is unconfirmed, the payload carries our device record.
      const out = await encrypt(crypto, sender.session, sender.session.pendingPrekey != null && !isChunkPayload(plaintext) ? withDeviceRecord(plaintext, account.record) : plaintext)
      sender.session = out.state
      return await sender.seal(out.message)
    },
    message: async (body, lamport = 1) => {
      const message = { id: newMessageId(crypto), author: { account: account.identity.accountKey, device: account.peerId.toMultihash().bytes }, timestamp: now, lamport, body }
      return await sender.payload(encodePayload(name, encodeMessage(message)))
    }
  }
  return sender
}

/**
 * A ratchet message in the sender's current sending chain whose encrypted
 * header claims message number `n`, with a body the attacker did not bother
 * to encrypt: the header authenticates under the header key the attacker
 * shares with us, the body never does. Inside a first message while the
 * session is unconfirmed (as the library sends it). Sealed.
 */
export async function claimingEnvelope (crypto: Crypto, sender: Sender, n: number): Promise<Uint8Array> {
  const r = sender.session.ratchet
  if (r.hks == null) throw new Error('sender cannot send yet')
  const prefix = await encryptHeader(crypto, r.hks, { dh: r.dhs.publicKey, pn: r.pn, n })
  const ratchetMessage = concatBytes(prefix, crypto.randomBytes(64))
  const pending = sender.session.pendingPrekey
  return await sender.seal(pending != null ? concatBytes(encodePrekeyPrefix(pending), ratchetMessage) : ratchetMessage)
}
