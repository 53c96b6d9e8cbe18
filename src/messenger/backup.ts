/**
 * Encrypted backups of a device: its key file, contacts, history, message
 * states and the plaintext of its unsent messages, encrypted with a
 * passphrase (scrypt + AES-256-GCM), to restore on a new machine. Restoring
 * moves the device (same device key; the old copy must not keep running).
 *
 * A backup never holds ratchet states or the outbox's ratchet messages
 * (DESIGN.md, Cryptography): a session restored at the position it was
 * saved at would use again the message keys the old copy used after the
 * backup (same key, same nonce: the new plaintext falls out of an XOR with
 * the old one), and the contact would refuse the messages as replays. The
 * restored device has no sessions, starts fresh ones with everyone, and
 * encrypts its unsent messages again under them (unsent.ts). Replay markers
 * of first messages are kept: they are not keys, and they keep refusing an
 * old first message replayed to the restored device.
 *
 * The contents are written out by backup-format.ts (the encrypted file,
 * version 3, with the files of attachments streamed after them).
 * Payload (the contents, encrypted as one piece):
 *   u32 key file length | key file | u32 entry count | entries... | unsent...
 *   entry:   u8 namespace index | u32 key length | key | u32 value length | value
 *   unsent:  u32 length | an unsent message as unsent.ts encodes it
 * Version 1 (still read) had no entry count and no unsent records, and held
 * every entry of 'outbox', 'messages', 'dedup', 'sessions' and 'contacts':
 * reading it keeps what version 2 would hold and turns its queued outbox
 * entries into unsent messages (their plaintext is in the history).
 */
import { logger } from '@libp2p/logger'
import { NAMESPACES } from '../store/index.js'
import type { BatchOp, Namespace, Store } from '../store/index.js'
import { decodeMessage } from './model/index.js'
import { decodeOutboxEntry, isOutboxEntryKey, isStatusKey } from './outbox.js'
import { messageIndexKey } from './history.js'
import { decodeUnsent, encodeUnsent, unsentKey } from './unsent.js'
import type { UnsentMessage } from './unsent.js'
import { concat, fromHex, toHex, utf8 } from './bytes.js'

const log = logger('starling:messenger:backup')

/** Largest encrypted contents read back (bounds memory on a hostile file; files are streamed apart). */
export const MAX_BACKUP_BYTES = 2 ** 31 - 1

/** Replay markers of first messages in the `sessions` namespace (sessions.ts writes them). */
const REPLAY_PREFIX = utf8('replay/')
/** Unsent messages of a restored device not encrypted yet (unsent.ts). */
const UNSENT_PREFIX = unsentKey(new Uint8Array(0))

/** The backup file cannot be read: wrong passphrase, damaged or not a backup. */
export class BackupError extends Error {
  override readonly name = 'BackupError'
}

/** One store entry. */
export interface BackupEntry {
  namespace: Namespace
  key: Uint8Array
  value: Uint8Array
}

/** What a backup holds. */
export interface BackupContents {
  keyFile: Uint8Array
  /** Contacts, history, de-duplication markers, message states, replay markers: never ratchet states. */
  entries: BackupEntry[]
  /** Messages not yet acknowledged by every device, as plaintext, to encrypt again after restoring. */
  unsent: UnsentMessage[]
}

/** Namespaces a backup reads (relays' envelope stores are not user data). */
const READ: Namespace[] = ['outbox', 'messages', 'dedup', 'sessions', 'contacts']

function startsWith (bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b)
}

/** Reads everything a backup holds from a store. */
export async function collectBackup (store: Store, keyFile: Uint8Array): Promise<BackupContents> {
  const raw: BackupEntry[] = []
  for (const namespace of READ) {
    for await (const [key, value] of store.iterate(namespace)) raw.push({ namespace, key, value })
  }
  return backupOf(keyFile, raw, [])
}

/**
 * What a backup may hold, from a store's entries (or a version 1 backup's):
 * ratchet states and queued ratchet messages are left out; queued content
 * messages become unsent messages, with their plaintext from the history.
 */
function backupOf (keyFile: Uint8Array, raw: BackupEntry[], unsentIn: UnsentMessage[]): BackupContents {
  const entries: BackupEntry[] = []
  const messages = new Map<string, Uint8Array>()
  const index = new Map<string, Uint8Array>()
  const queued = new Map<string, { conversation: string, devices: Set<string> }>()
  const unsent = [...unsentIn]
  for (const e of raw) {
    switch (e.namespace) {
      case 'messages':
        messages.set(toHex(e.key), e.value)
        entries.push(e)
        break
      case 'dedup':
        index.set(toHex(e.key), e.value)
        entries.push(e)
        break
      case 'contacts':
        entries.push(e)
        break
      case 'sessions':
        if (startsWith(e.key, REPLAY_PREFIX)) entries.push(e)
        break
      case 'outbox':
        if (isStatusKey(e.key)) {
          entries.push(e)
        } else if (isOutboxEntryKey(e.key)) {
          const entry = decodeOutboxEntry(e.value)
          // Receipts and attachment chunks carry no plaintext we keep; a contact's resend earns a new receipt.
          if (entry.kind !== 'content') break
          const q = queued.get(entry.messageId) ?? { conversation: entry.conversation, devices: new Set<string>() }
          q.devices.add(entry.device)
          queued.set(entry.messageId, q)
        } else if (startsWith(e.key, UNSENT_PREFIX)) {
          unsent.push(decodeUnsent(e.value))
        }
        break
      case 'relay':
      case 'meta':
        break
    }
  }
  for (const [id, q] of queued) {
    const key = index.get(toHex(messageIndexKey(fromHex(id))))
    const message = key != null ? messages.get(toHex(key)) : undefined
    if (message == null) {
      log('queued message %s is not in the history: left out of the backup', id)
      continue
    }
    unsent.push({ conversation: fromHex(q.conversation), message, devices: [...q.devices] })
  }
  return { keyFile, entries, unsent: unsent.map(({ conversation, message, devices }) => ({ conversation, message, devices })) }
}

/** The contents as one payload, to encrypt (backup-format.ts). */
export function encodeBackupPayload (contents: BackupContents): Uint8Array {
  const parts: Uint8Array[] = [u32(contents.keyFile.length), contents.keyFile, u32(contents.entries.length)]
  for (const e of contents.entries) {
    parts.push(new Uint8Array([NAMESPACES.indexOf(e.namespace)]), u32(e.key.length), e.key, u32(e.value.length), e.value)
  }
  for (const u of contents.unsent) {
    const bytes = encodeUnsent(u)
    parts.push(u32(bytes.length), bytes)
  }
  return concat(...parts)
}

/** Parses a decrypted payload (of a version 1, 2 or 3 file); BackupError when malformed. */
export function parseBackupPayload (payload: Uint8Array, version: number): BackupContents {
  try {
    return parsePayload(payload, version === 1 ? 1 : 2)
  } catch (err) {
    if (err instanceof BackupError) throw err
    throw new BackupError(`backup payload is malformed: ${(err as Error).message}`)
  }
}

function parsePayload (payload: Uint8Array, version: 1 | 2): BackupContents {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  let at = 0
  const take = (n: number): Uint8Array => {
    if (at + n > payload.length) throw new BackupError('backup payload is truncated')
    const out = payload.subarray(at, at + n)
    at += n
    return out
  }
  const len = (): number => {
    take(4)
    return view.getUint32(at - 4)
  }
  const entry = (): BackupEntry => {
    const namespace = NAMESPACES[take(1)[0]]
    if (namespace == null) throw new BackupError('backup names an unknown namespace')
    const key = take(len())
    return { namespace, key, value: take(len()) }
  }
  const keyFile = take(len())
  const entries: BackupEntry[] = []
  const unsent: UnsentMessage[] = []
  if (version === 1) {
    while (at < payload.length) entries.push(entry())
  } else {
    const count = len()
    for (let i = 0; i < count; i++) entries.push(entry())
    while (at < payload.length) unsent.push(decodeUnsent(take(len())))
  }
  return backupOf(keyFile, entries, unsent)
}

/** Writes a backup into an (empty) store, in synced batches; resolves with the number of records written. */
export async function restoreBackup (store: Store, contents: BackupContents): Promise<number> {
  const BATCH = 1000
  const ops: BatchOp[] = contents.entries.map(e => ({ type: 'put', namespace: e.namespace, key: e.key, value: e.value }))
  for (const u of contents.unsent) {
    ops.push({ type: 'put', namespace: 'outbox', key: unsentKey(decodeMessage(u.message).id), value: encodeUnsent(u) })
  }
  for (let i = 0; i < ops.length; i += BATCH) await store.batch(ops.slice(i, i + BATCH), { sync: true })
  return ops.length
}

function u32 (n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}
