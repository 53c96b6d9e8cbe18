/**
 * Messages a restored backup has not delivered yet, kept as plaintext until
 * they are encrypted again (DESIGN.md, Cryptography: backups never hold
 * ratchet states). A backup cannot carry the outbox's ratchet messages: the
 * restored device starts fresh sessions, and a stored ratchet message would
 * need the old session's keys. So it carries each unsent message (the
 * encoded message, as history holds it) and the devices still waiting for
 * it, and the restored device encrypts it again under a fresh session
 * once it knows those devices' prekeys, then delivers it as any other.
 *
 * Stored in the `outbox` namespace under `u/` || message id:
 *   u8 version (1) | u8 conversation length | conversation | u8 device count |
 *   (u8 length | device peer id, UTF-8)* | encoded message
 */
import { logger } from '@libp2p/logger'
import type { BatchOp, Store } from '../store/index.js'
import { prefixRange } from '../store/index.js'
import { decodeMessage } from './model/index.js'
import type { Message } from './model/index.js'
import type { RemoteDevice } from './devices.js'
import { concat, toHex, utf8 } from './bytes.js'

const log = logger('starling:messenger:unsent')

const UNSENT = utf8('u/')
const VERSION = 1
/** Most devices one unsent message can wait for (one account's devices). */
export const MAX_UNSENT_DEVICES = 255
/** Longest wait between two passes while a device stays unknown (they back off from the retry interval). */
export const MAX_UNSENT_RETRY_MS = 10 * 60_000

/**
 * How long to wait before pass `failures + 1` when `failures` passes in a
 * row left messages waiting: the retry interval, doubled each time, at most
 * {@link MAX_UNSENT_RETRY_MS}. A contact's device gone for good costs one
 * lookup per pass, and ever fewer passes, until its messages expire.
 */
export function unsentRetryDelay (retryIntervalMs: number, failures: number): number {
  return Math.min(MAX_UNSENT_RETRY_MS, retryIntervalMs * 2 ** Math.min(failures, 30))
}

/** An unsent message: its conversation, the encoded message, and the devices that have not acknowledged it. */
export interface UnsentMessage {
  conversation: Uint8Array
  message: Uint8Array
  devices: string[]
}

/** The key of an unsent message: `u/` || message id. */
export function unsentKey (messageId: Uint8Array): Uint8Array {
  return concat(UNSENT, messageId)
}

/** Encodes an unsent message (format above). */
export function encodeUnsent (u: UnsentMessage): Uint8Array {
  if (u.conversation.length === 0 || u.conversation.length > 255) throw new RangeError('a conversation id is 1..255 bytes')
  if (u.devices.length === 0 || u.devices.length > MAX_UNSENT_DEVICES) throw new RangeError(`an unsent message waits for 1..${MAX_UNSENT_DEVICES} devices`)
  const devices = u.devices.map(d => utf8(d))
  if (devices.some(d => d.length === 0 || d.length > 255)) throw new RangeError('a device id is 1..255 bytes')
  return concat(
    Uint8Array.of(VERSION, u.conversation.length), u.conversation, Uint8Array.of(devices.length),
    ...devices.flatMap(d => [Uint8Array.of(d.length), d]), u.message)
}

/** Decodes an unsent message; RangeError on anything malformed (the message itself is checked by decodeMessage). */
export function decodeUnsent (bytes: Uint8Array): UnsentMessage & { decoded: Message } {
  let at = 0
  const take = (n: number): Uint8Array => {
    if (at + n > bytes.length) throw new RangeError('unsent message is truncated')
    const out = bytes.subarray(at, at + n)
    at += n
    return out
  }
  if (take(1)[0] !== VERSION) throw new RangeError('unknown unsent message version')
  const conversation = take(take(1)[0])
  const count = take(1)[0]
  const devices: string[] = []
  const decoder = new TextDecoder('utf-8', { fatal: true })
  for (let i = 0; i < count; i++) devices.push(decoder.decode(take(take(1)[0])))
  const message = bytes.slice(at)
  if (conversation.length === 0 || devices.length === 0) throw new RangeError('unsent message without conversation or devices')
  return { conversation: conversation.slice(), devices, message, decoded: decodeMessage(message) }
}

/** What {@link Unsent} needs from the messenger. */
export interface UnsentInit {
  store: Store
  retryIntervalMs: number
  retentionMs: number
  now(): number
  /** A device of the conversation's pinned contact, with the pinned identity key and prekeys to start a session; undefined when not (yet) known. */
  device(peer: string, conversation: Uint8Array): Promise<RemoteDevice | undefined>
  /** Encrypts `message` for `devices` under the current (or fresh) sessions and commits it with `extra`. */
  resend(conversation: Uint8Array, devices: RemoteDevice[], message: Message, extra: BatchOp[]): Promise<void>
  /** The op that marks a message expired, if its state changes. */
  expireOp(message: Message): Promise<BatchOp | undefined>
}

/** Encrypts and queues a restored backup's unsent messages, retrying until every device is known. */
export class Unsent {
  private timer?: ReturnType<typeof setTimeout>
  private pass?: Promise<void>
  private running = false
  /** Passes in a row that left messages waiting. */
  private failures = 0

  constructor (private readonly init: UnsentInit) {}

  start (): void {
    this.running = true
    this.soon()
  }

  stop (): void {
    this.running = false
    clearTimeout(this.timer)
  }

  /** Resolves when the pass under way (if any) is over (for tests and an orderly stop). */
  async settled (): Promise<void> {
    await this.pass
  }

  private soon (): void {
    if (!this.running || this.pass != null) return
    this.pass = this.resendAll()
      .then(remaining => {
        // Devices not known yet (no record in the DHT, nor kept): try again later, less and less often.
        this.failures = remaining > 0 ? this.failures + 1 : 0
        if (remaining > 0 && this.running) this.timer = setTimeout(() => { this.soon() }, unsentRetryDelay(this.init.retryIntervalMs, this.failures - 1))
      })
      .catch(err => { log.error('resending restored messages failed: %s', (err as Error).message) })
      .finally(() => { this.pass = undefined })
  }

  /** One pass over every unsent message; resolves with how many still wait. */
  private async resendAll (): Promise<number> {
    const entries: Array<[Uint8Array, Uint8Array]> = []
    for await (const entry of this.init.store.iterate('outbox', prefixRange(UNSENT))) entries.push(entry)
    let remaining = 0
    // Each device is looked up once per pass, however many messages wait for it.
    const devices = new Map<string, Promise<RemoteDevice | undefined>>()
    const device = async (peer: string, conversation: Uint8Array): Promise<RemoteDevice | undefined> => {
      const id = `${toHex(conversation)}/${peer}`
      let found = devices.get(id)
      if (found == null) {
        found = this.init.device(peer, conversation)
        devices.set(id, found)
      }
      return await found
    }
    for (const [key, value] of entries) {
      if (!this.running) return remaining
      try {
        if (!(await this.resendOne(key, value, device))) remaining++
      } catch (err) {
        log('unsent message %s not sent yet: %s', toHex(key.subarray(UNSENT.length)), (err as Error).message)
        remaining++
      }
    }
    return remaining
  }

  /** Resends one message to the devices now known; true when none is left waiting. */
  private async resendOne (key: Uint8Array, value: Uint8Array, lookup: UnsentInit['device']): Promise<boolean> {
    let unsent: ReturnType<typeof decodeUnsent>
    try {
      unsent = decodeUnsent(value)
    } catch (err) {
      log.error('dropping an unreadable unsent message: %s', (err as Error).message)
      await this.init.store.del('outbox', key, { sync: true })
      return true
    }
    const message = unsent.decoded
    if (this.init.now() - message.timestamp > this.init.retentionMs) {
      const expired = await this.init.expireOp(message)
      await this.init.store.batch([{ type: 'del', namespace: 'outbox', key }, ...(expired != null ? [expired] : [])], { sync: true })
      return true
    }
    const known: RemoteDevice[] = []
    const waiting: string[] = []
    for (const peer of unsent.devices) {
      const device = await lookup(peer, unsent.conversation)
      if (device != null) known.push(device)
      else waiting.push(peer)
    }
    if (known.length === 0) return false
    // The message is queued and its record shrinks (or goes) in the same batch: both happen or neither.
    const rest: BatchOp = waiting.length === 0
      ? { type: 'del', namespace: 'outbox', key }
      : { type: 'put', namespace: 'outbox', key, value: encodeUnsent({ conversation: unsent.conversation, message: unsent.message, devices: waiting }) }
    await this.init.resend(unsent.conversation, known, message, [rest])
    return waiting.length === 0
  }
}
