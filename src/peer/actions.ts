/**
 * What a user does to contacts and with files, beyond sending a message,
 * the same from the CLI and the web app: accept or block a message
 * request, accept a contact's new keys, send files with a caption.
 */
import type { AttachmentFile, Contact, Messenger, SendResult } from '../messenger/index.js'
import { MAX_ATTACHMENTS_PER_MESSAGE } from '../messenger/model/index.js'
import { AttachmentsUnavailableError, NotAContactError } from './errors.js'

/** A contact's state after a decision. */
export interface ContactDecision {
  handle: string
  state: Contact['state']
}

/**
 * Accepts a message request (or confirms a contact): its sender may write
 * to us from now on, and the attachments it sent as a request, whose chunks
 * were not kept, are fetched now. NotAContactError when `handle` is neither.
 */
export async function acceptContact (messenger: Messenger, handle: string): Promise<ContactDecision> {
  const c = await messenger.accept(await messenger.accountOf(handle))
  if (c == null) throw new NotAContactError(`${handle} is not a contact or request`)
  return { handle: c.handle, state: c.state }
}

/** Blocks a contact or message request: what it sends is dropped. NotAContactError when `handle` is neither. */
export async function blockContact (messenger: Messenger, handle: string): Promise<ContactDecision> {
  const c = await messenger.contacts.setState(await messenger.accountOf(handle), 'blocked')
  if (c == null) throw new NotAContactError(`${handle} is not a contact or request`)
  return { handle: c.handle, state: c.state }
}

/** Accepts the keys `handle` has now (clears a key-change warning); returns the contact's devices. */
export async function trustContact (messenger: Messenger, handle: string): Promise<{ handle: string, account: string, devices: string[] }> {
  const c = await messenger.trust(handle)
  return { handle: c.handle, account: c.account, devices: Object.keys(c.devices) }
}

/**
 * Sends files to `handle` as one message (an album), the caption with the
 * first file; more than MAX_ATTACHMENTS_PER_MESSAGE go as several messages
 * of up to that many, in order, the caption with the first. Resolves with
 * the first message's result and every message id.
 */
export async function sendFiles (messenger: Messenger, handle: string, files: AttachmentFile[], caption?: string): Promise<SendResult & { ids: string[] }> {
  if (messenger.attachments == null) throw new AttachmentsUnavailableError('this peer does not handle attachments')
  if (files.length === 0) throw new RangeError('no file to send')
  const results: SendResult[] = []
  for (let i = 0; i < files.length; i += MAX_ATTACHMENTS_PER_MESSAGE) {
    results.push(await messenger.attachments.send(handle, files.slice(i, i + MAX_ATTACHMENTS_PER_MESSAGE), i === 0 ? caption : undefined))
  }
  return { ...results[0], ids: results.map(r => r.id) }
}
