/**
 * What the messenger tells its host, as one discriminated union on `type`:
 * a message stored (sent or received), a delivery state that moved, a
 * contact typing, a pinned key that changed, an attachment's progress, a
 * relay that refused an envelope for a quota. Plain JSON (bytes as hex), so
 * the daemon's API passes them on as they are and a page can render them.
 */
import type { MessageBody } from './model/index.js'
import type { SendState } from './outbox.js'
import type { AttachmentWait } from './attachment-records.js'

/** A message we sent is stored (in history and outbox). */
export type OutgoingMessageEvent = {
  type: 'message'
  direction: 'out'
  /** The contact's account key, hex. */
  conversation: string
  /** Message id, hex. */
  id: string
  kind: MessageBody['kind']
}

/** A message we received is stored (acknowledged after this). */
export type IncomingMessageEvent = {
  type: 'message'
  direction: 'in'
  via: 'direct' | 'relay'
  /** The sender's `name~tag` (the name as the sender calls itself, the tag from its proven account key). */
  handle: string
  conversation: string
  id: string
  kind: MessageBody['kind']
  lamport: number
  timestamp: number
  /** When it was stored (performance.timeOrigin + performance.now(), ms). */
  storedAt: number
  text?: string
  /** The body with bytes as hex. */
  body: Record<string, unknown>
  /** From a message request (someone not accepted yet). */
  request: boolean
}

/** The delivery state of one of our messages moved. */
export type StatusEvent = {
  type: 'status'
  id: string
  conversation: string
  state: SendState
  /** Relays that hold it (for `relayed`). */
  relays: number
}

/** A contact started or stopped typing. */
export type TypingEvent = {
  type: 'typing'
  handle: string
  on: boolean
}

/** A pinned contact's key changed: sending is blocked until the user trusts the new one. */
export type KeyChangeEvent = {
  type: 'key-change'
  handle: string
  what: string
}

/** An attachment completed, or waits for the user (a budget or the attempts ran out). */
export type AttachmentEvent = {
  type: 'attachment'
  id: string
  fileName: string
  complete: boolean
  waiting?: AttachmentWait
}

/** A relay refused one of our envelopes for a quota; the next relay is tried. */
export type RelayRefusedEvent = {
  type: 'relay-refused'
  id: string
  conversation: string
  relay: string
  quota: string
  reason: string
}

/** Everything the messenger emits. */
export type MessengerEvent =
  | OutgoingMessageEvent
  | IncomingMessageEvent
  | StatusEvent
  | TypingEvent
  | KeyChangeEvent
  | AttachmentEvent
  | RelayRefusedEvent

/** The event types. */
export type MessengerEventType = MessengerEvent['type']

/** The event of one type. */
export type MessengerEventOf<T extends MessengerEventType> = Extract<MessengerEvent, { type: T }>

/** Every event type, for hosts that pass them all on (the daemon's API). */
export const MESSENGER_EVENT_TYPES: readonly MessengerEventType[] = ['message', 'status', 'typing', 'key-change', 'attachment', 'relay-refused']

/** Dispatches `event` on `target` as a CustomEvent whose detail is the event. */
export function emitMessengerEvent (target: EventTarget, event: MessengerEvent): void {
  target.dispatchEvent(new CustomEvent(event.type, { detail: event }))
}

/**
 * Listens for the events of one type on a messenger, typed; returns the
 * function that stops listening.
 *
 * @example
 * ```ts
 * const off = onMessengerEvent(messenger, 'status', (e) => { show(e.id, e.state) })
 * off()
 * ```
 */
export function onMessengerEvent<T extends MessengerEventType> (target: EventTarget, type: T, listener: (event: MessengerEventOf<T>) => void, options?: AddEventListenerOptions): () => void {
  const handler = (evt: Event): void => { listener((evt as CustomEvent<MessengerEventOf<T>>).detail) }
  target.addEventListener(type, handler, options)
  return () => { target.removeEventListener(type, handler, options) }
}
