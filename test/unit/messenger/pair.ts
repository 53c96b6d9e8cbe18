/**
 * Whole messengers in one process for tests: real sessions, envelopes,
 * outbox and LevelDB stores, with the network replaced by an in-memory one
 * (direct delivery only: a device that is offline makes sends fail, and they
 * stay in the outbox) and the DHT by a table of signed records.
 *
 * `recordingCrypto` wraps the facade's AEAD so that a test can see every
 * (key, nonce) pair ever used to encrypt, by every device in the process.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { createCrypto } from '../../../src/crypto/index.js'
import type { Crypto, KeyPair } from '../../../src/crypto/index.js'
import { createPrekeyState, publicPrekeys } from '../../../src/crypto/prekeys.js'
import type { PrekeyState } from '../../../src/crypto/prekeys.js'
import { PrekeyKind, prekeySignaturePayload } from '../../../src/crypto/prekey-signature.js'
import { buildDeviceRecord, buildHandleClaim, formatHandle, handleTag } from '../../../src/identity/index.js'
import type { DeviceRecord } from '../../../src/identity/index.js'
import type { ResolvedClaim } from '../../../src/net/directory.js'
import { LevelStore } from '../../../src/store/index.js'
import type { Store } from '../../../src/store/index.js'
import { Messenger } from '../../../src/messenger/messenger.js'
import type { MessengerIdentity } from '../../../src/messenger/messenger.js'
import type { DeliveryTransport } from '../../../src/messenger/transport.js'
import { concat, fromHex, toHex } from '../../../src/messenger/bytes.js'

const RECORD_LIFETIME_MS = 24 * 3600_000

/**
 * Every AEAD encryption seen, by (key, nonce). A pair is reused when it
 * encrypted two different inputs (plaintext or associated data): that is what
 * leaks (the XOR of the plaintexts, and GCM's authentication key). Sealing the
 * same outbox entry again for another direct attempt computes the very same
 * encryption (same key, nonce, plaintext and associated data: the same bytes
 * come out, nothing new is revealed); those are counted apart.
 */
export interface AeadLog {
  /** `key hex/nonce hex` -> digests of the distinct (plaintext, aad) inputs encrypted under it. */
  uses: Map<string, Set<string>>
  /** Encryptions that repeated an earlier one exactly. */
  repeats: number
  /** Pairs that encrypted more than one distinct input. */
  reused(): string[]
}

/** The default facade with every AEAD encryption recorded in `log`. */
export function recordingCrypto (): { crypto: Crypto, log: AeadLog } {
  const inner = createCrypto()
  const log: AeadLog = {
    uses: new Map(),
    repeats: 0,
    reused: () => [...log.uses].filter(([, inputs]) => inputs.size > 1).map(([pair]) => pair)
  }
  const crypto: Crypto = {
    ...inner,
    aead: {
      encrypt: async (key, nonce, plaintext, aad) => {
        const pair = `${toHex(key)}/${toHex(nonce)}`
        const input = toHex(inner.hash.sha256(concat(u32(plaintext.length), plaintext, aad ?? new Uint8Array(0))))
        const inputs = log.uses.get(pair) ?? new Set<string>()
        if (inputs.has(input)) log.repeats++
        inputs.add(input)
        log.uses.set(pair, inputs)
        return inner.aead.encrypt(key, nonce, plaintext, aad)
      },
      decrypt: async (key, nonce, ciphertext, aad) => inner.aead.decrypt(key, nonce, ciphertext, aad)
    }
  }
  return { crypto, log }
}

function u32 (n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}

/** A device's keys, kept across a restore (the restored device is the same device). */
export interface TestIdentity {
  name: string
  handle: string
  account: KeyPair
  devicePrivateKey: PrivateKey
  peerId: PeerId
  identityKey: KeyPair
  identityKeySignature: Uint8Array
  prekeys: PrekeyState
}

/** Fresh keys for a device named `name`. */
export async function newIdentity (crypto: Crypto, name: string): Promise<TestIdentity> {
  const account = await crypto.ed25519.generateKeyPair()
  const devicePrivateKey = await generateKeyPair('Ed25519')
  const identityKey = await crypto.x25519.generateKeyPair()
  return {
    name,
    handle: formatHandle(name, handleTag(crypto, name, account.publicKey)),
    account,
    devicePrivateKey,
    peerId: peerIdFromPrivateKey(devicePrivateKey),
    identityKey,
    identityKeySignature: await crypto.ed25519.sign(account.secretKey, prekeySignaturePayload(PrekeyKind.identity, 0, identityKey.publicKey)),
    prekeys: await createPrekeyState(crypto, account.secretKey, Date.now())
  }
}

/** The network and the DHT of a test: who is online, and every device's signed record. */
export class TestNet {
  private readonly online = new Map<string, Messenger>()
  private readonly claims = new Map<string, ResolvedClaim>()
  private readonly records = new Map<string, DeviceRecord>()
  private readonly dirs: string[] = []
  private readonly running: Array<{ messenger: Messenger, store: Store }> = []

  constructor (readonly crypto: Crypto) {}

  /** Publishes a device's record and its account's claim, as its daemon would. */
  async publish (id: TestIdentity): Promise<void> {
    const now = Date.now()
    const { record } = await buildDeviceRecord(this.crypto, {
      accountSecretKey: id.account.secretKey,
      devicePrivateKey: id.devicePrivateKey,
      addrs: [multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${id.peerId.toString()}`)],
      identityKey: id.identityKey.publicKey,
      signedPrekey: publicPrekeys(id.prekeys).signedPrekey,
      kemPrekey: publicPrekeys(id.prekeys).kemPrekey,
      seq: now,
      expiresAt: now + RECORD_LIFETIME_MS
    })
    const { record: claim } = await buildHandleClaim(this.crypto, {
      accountSecretKey: id.account.secretKey,
      name: id.name,
      devices: [id.peerId],
      seq: now,
      expiresAt: now + RECORD_LIFETIME_MS
    })
    this.records.set(id.peerId.toString(), record)
    const tag = id.handle.split('~')[1]
    this.claims.set(id.handle, {
      handle: id.handle,
      name: id.name,
      tag,
      accountKey: id.account.publicKey,
      fingerprint: tag,
      claim,
      devices: [{ peerId: id.peerId, record, addrs: [] }]
    })
  }

  /** The DHT no longer answers for `id`'s handle (its claim is gone; device records stay). */
  unpublish (id: TestIdentity): void {
    this.claims.delete(id.handle)
  }

  /** A store in a fresh temporary directory (removed by {@link TestNet.close}). */
  async store (): Promise<{ store: LevelStore, location: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'starling-pair-'))
    this.dirs.push(dir)
    const location = join(dir, 'store')
    const store = new LevelStore(location)
    await store.open()
    return { store, location }
  }

  /** Starts a messenger for `id` over `store`, online. */
  async start (id: TestIdentity, store: Store): Promise<Messenger> {
    const identity: MessengerIdentity = {
      handleName: id.name,
      tag: id.handle.split('~')[1],
      accountSecretKey: id.account.secretKey,
      accountPublicKey: id.account.publicKey,
      peerId: id.peerId,
      identityKey: id.identityKey,
      identityKeySignature: id.identityKeySignature,
      prekeys: () => id.prekeys
    }
    const messenger = new Messenger({
      crypto: this.crypto,
      store,
      directory: this.directory(),
      transport: this.transport(id.peerId),
      identity,
      relays: () => [],
      retryIntervalMs: 50,
      fetchIntervalMs: 60_000
    })
    await messenger.start()
    this.online.set(id.peerId.toString(), messenger)
    this.running.push({ messenger, store })
    return messenger
  }

  /** Takes a device off the network (sends to it fail) or puts it back. */
  setOnline (id: TestIdentity, messenger: Messenger | undefined): void {
    if (messenger == null) this.online.delete(id.peerId.toString())
    else this.online.set(id.peerId.toString(), messenger)
  }

  /** Stops a messenger and closes its store (the old copy of a device, say). */
  async stop (messenger: Messenger): Promise<void> {
    const at = this.running.findIndex(r => r.messenger === messenger)
    for (const [peer, m] of this.online) if (m === messenger) this.online.delete(peer)
    await messenger.stop()
    if (at >= 0) {
      await this.running[at].store.close()
      this.running.splice(at, 1)
    }
  }

  async close (): Promise<void> {
    for (const { messenger } of [...this.running]) await this.stop(messenger)
    await Promise.all(this.dirs.map(async d => rm(d, { recursive: true, force: true })))
  }

  private directory (): ConstructorParameters<typeof Messenger>[0]['directory'] {
    const resolveOne = async (handle: string): Promise<ResolvedClaim> => {
      const claim = this.claims.get(handle)
      if (claim == null) throw Object.assign(new Error(`unknown handle ${handle}`), { name: 'UnknownHandleError' })
      return claim
    }
    return {
      resolveOne,
      resolve: async (handle: string) => ({ query: handle, unique: true, claims: [await resolveOne(handle)] }),
      lookupDevice: async (peerId: PeerId) => this.records.get(peerId.toString())
    }
  }

  private transport (self: PeerId): DeliveryTransport {
    return {
      sendDirect: async (peer, _addrs, envelope) => {
        // A network answers in a later turn of the event loop, never synchronously.
        await new Promise(resolve => setImmediate(resolve))
        const target = this.online.get(peer.toString())
        if (target == null) throw new Error(`${peer.toString()} is offline`)
        try {
          await target.receiveDirect(envelope, self)
        } catch (err) {
          // The dm protocol acknowledges an envelope stored before.
          if ((err as Error).name !== 'DuplicateEnvelopeError') throw err
        }
      },
      storeOnRelay: async () => {
        await new Promise(resolve => setImmediate(resolve))
        throw new Error('no relays in this test')
      },
      fetchMailbox: async () => ({ items: [], more: false }),
      deleteFromMailbox: async () => {}
    }
  }
}

/** Resolves once `messenger` holds messages with each of `texts` in its history (stored before the call, or later). */
export async function received (messenger: Messenger, texts: string[]): Promise<void> {
  const missing = new Set(texts)
  let done: () => void = () => {}
  const finished = new Promise<void>(resolve => { done = resolve })
  const listener = (evt: Event): void => {
    const text = (evt as CustomEvent<{ text?: string }>).detail.text
    if (text != null) missing.delete(text)
    if (missing.size === 0) done()
  }
  // Listen first, then read what is stored: nothing arriving in between is missed.
  messenger.addEventListener('message', listener)
  try {
    for (const c of await messenger.contacts.list()) {
      for (const m of await messenger.history.messages(fromHex(c.account))) {
        if ('text' in m.body) missing.delete(m.body.text)
      }
    }
    if (missing.size > 0) await finished
  } finally {
    messenger.removeEventListener('message', listener)
  }
}
