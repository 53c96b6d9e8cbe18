/**
 * Pairwise ratchet sessions, one per remote device identity key, kept in the
 * `sessions` namespace. Work on one session is serialised; the new state is
 * visible to the next operation at once and reaches disk in the same batch
 * as the message it produced or consumed (the caller commits the returned
 * operations), so an acknowledgement is never sent for a state not on disk.
 */
import { decodeSession, encodeSession, resumeSession } from '../crypto/session.js'
import type { Crypto } from '../crypto/index.js'
import type { ReplayGuard, SessionState } from '../crypto/session.js'
import type { BatchOp, Store } from '../store/index.js'
import { toHex, utf8, concat } from './bytes.js'

const SESSION = utf8('session/')
const REPLAY = utf8('replay/')

/** How many replaced sessions with one device are kept to decrypt late messages. */
export const MAX_ARCHIVED_SESSIONS = 4

/**
 * The sessions with one device: the one we send with, and a few older ones.
 * When both sides start a session at the same time, each answers the other's
 * and replaces its own; messages already sent under the replaced one still
 * decrypt with the archive, and the session that decrypts a message becomes
 * the current one, so both sides settle on one session (as Signal's session
 * records do).
 */
export interface SessionRecord {
  current?: SessionState
  archived: SessionState[]
}

function encodeRecord (record: SessionRecord): Uint8Array {
  const parts = [record.current, ...record.archived].filter((s): s is SessionState => s != null).map(encodeSession)
  const out = new Uint8Array(2 + parts.reduce((n, p) => n + 4 + p.length, 0))
  const view = new DataView(out.buffer)
  out[0] = 1
  out[1] = record.current != null ? 1 : 0
  let at = 2
  for (const p of parts) {
    view.setUint32(at, p.length)
    out.set(p, at + 4)
    at += 4 + p.length
  }
  return out
}

function decodeRecord (bytes: Uint8Array): SessionRecord {
  if (bytes[0] !== 1) throw new RangeError('unknown session record version')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const states: SessionState[] = []
  let at = 2
  while (at < bytes.length) {
    const len = view.getUint32(at)
    states.push(decodeSession(bytes.subarray(at + 4, at + 4 + len)))
    at += 4 + len
  }
  return bytes[1] === 1 ? { current: states[0], archived: states.slice(1) } : { archived: states }
}

/** The record with `state` as the current session (the old current archived, bounded). */
export function promote (record: SessionRecord, state: SessionState, replaced?: SessionState): SessionRecord {
  const archived = record.archived.filter(s => s !== replaced)
  if (record.current != null && record.current !== replaced) archived.unshift(record.current)
  return { current: state, archived: archived.slice(0, MAX_ARCHIVED_SESSIONS) }
}

/** Storage key of the session with a remote device. */
export function sessionKey (remoteIdentityKey: Uint8Array): Uint8Array {
  return concat(SESSION, remoteIdentityKey)
}

/** The sessions of this device. */
export class Sessions {
  private readonly cache = new Map<string, SessionRecord>()
  private readonly locks = new Map<string, Promise<unknown>>()
  private readonly pendingReplay = new Set<string>()

  /** `crypto` is needed to resume sessions read back from storage (without it they are used as stored: tests, tools). */
  constructor (private readonly store: Store, private readonly crypto?: Crypto) {}

  /** The sessions with a device (an empty record if none). */
  async get (remoteIdentityKey: Uint8Array): Promise<SessionRecord> {
    const id = toHex(remoteIdentityKey)
    const cached = this.cache.get(id)
    if (cached != null) return cached
    const bytes = await this.store.get('sessions', sessionKey(remoteIdentityKey))
    if (bytes == null) return { archived: [] }
    // Read back from storage (a restart, or a failed commit): every sending
    // chain continues after its reservation, past positions a message may
    // have used before the state reached the disk.
    const stored = decodeRecord(bytes)
    const crypto = this.crypto
    const record = crypto == null
      ? stored
      : { archived: stored.archived.map(state => resumeSession(crypto, state)), ...(stored.current != null ? { current: resumeSession(crypto, stored.current) } : {}) }
    this.cache.set(id, record)
    return record
  }

  /**
   * Runs `fn` alone on this device's sessions. `fn` returns the new record
   * (or none to keep the old one); it is cached at once and the returned ops
   * include it, for the caller to commit with the message. The device stays
   * locked until the caller calls `release`, which it does once its commit
   * is queued (see Messenger.commit) or abandoned: so commits of one
   * device's sessions reach the store in the order the states were made,
   * and a later state is never overwritten by an earlier one.
   */
  async with<T> (remoteIdentityKey: Uint8Array, fn: (record: SessionRecord) => Promise<{ record?: SessionRecord, result: T }>): Promise<{ result: T, ops: BatchOp[], release: () => void }> {
    const id = toHex(remoteIdentityKey)
    const previous = this.locks.get(id) ?? Promise.resolve()
    let unlock: () => void = () => {}
    const held = new Promise<void>(resolve => { unlock = resolve })
    const mine = previous.then(async () => held)
    this.locks.set(id, mine)
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      unlock()
      if (this.locks.get(id) === mine) this.locks.delete(id)
    }
    await previous
    try {
      const { record, result } = await fn(await this.get(remoteIdentityKey))
      const ops: BatchOp[] = []
      if (record != null) {
        this.cache.set(id, record)
        ops.push({ type: 'put', namespace: 'sessions', key: sessionKey(remoteIdentityKey), value: encodeRecord(record) })
      }
      return { result, ops, release }
    } catch (err) {
      release()
      throw err
    }
  }

  /** Forgets the cached state of a device (after a failed commit, re-read from disk). */
  forget (remoteIdentityKey: Uint8Array): void {
    this.cache.delete(toHex(remoteIdentityKey))
  }

  /**
   * A replay guard over the store: `add` only notes the key; `replayOps`
   * returns the writes to commit with the message; `discard` forgets what
   * was noted, once the message is committed (its replay keys are then on
   * disk) or refused (so that the same initial message can still start its
   * session when it comes again, after a failure that was not its fault).
   */
  replayGuard (): ReplayGuard & { replayOps(): BatchOp[], discard(): void } {
    const added: Uint8Array[] = []
    return {
      discard: () => {
        for (const key of added.splice(0)) this.pendingReplay.delete(toHex(key))
      },
      has: async (key) => this.pendingReplay.has(toHex(key)) || (await this.store.get('sessions', concat(REPLAY, key))) != null,
      add: (key) => {
        this.pendingReplay.add(toHex(key))
        added.push(key)
      },
      replayOps: () => added.map(key => ({ type: 'put' as const, namespace: 'sessions' as const, key: concat(REPLAY, key), value: new Uint8Array([1]) }))
    }
  }
}
