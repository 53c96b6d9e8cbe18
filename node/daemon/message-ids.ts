/**
 * Message ids as people type them: the full 32 hex digits, or any unique
 * prefix of at least {@link MIN_ID_PREFIX} digits (history and chat show 8),
 * as git takes a commit. A prefix is looked up in one conversation when the
 * command names a handle, else in every conversation; an attachment matches
 * by its message's id or by its own.
 */
import { fromHex, toHex } from '../../src/messenger/bytes.js'
import type { MessageView } from '../../src/messenger/model/index.js'
import type { Messenger } from '../../src/messenger/index.js'
import { UnknownMessageError } from '../../src/messenger/errors.js'
import { AmbiguousMessageIdError, InvalidMessageIdError } from '../errors.js'

/** Shortest prefix taken: fewer digits would match by accident too often. */
export const MIN_ID_PREFIX = 4
/** Hex digits of a whole message id. */
export const ID_DIGITS = 32
/** What each id-taking command accepts, as help and errors say it. */
export const ID_ACCEPTED = `a message id as history shows it: its first ${MIN_ID_PREFIX}+ hex digits (unique in the conversation) or all ${ID_DIGITS}`

/** A message found by an id or prefix (its view when it is in a history). */
export interface FoundMessage {
  id: Uint8Array
  view?: MessageView
  /** Matched by one file's own id (`attachments`): that file's index in the message. */
  file?: number
}

/**
 * Resolves `input` (a whole id or a unique prefix) to one message of the
 * conversation with `handle`, or of any conversation when `handle` is
 * undefined. A whole id is taken as it is (the daemon's method then says
 * whether it exists). `attachments`: an attachment's own id matches too.
 */
export async function resolveMessageId (messenger: Messenger, input: string, name: string, handle?: string, attachments = false): Promise<FoundMessage> {
  const hex = input.trim().toLowerCase()
  if (!/^[0-9a-f]+$/.test(hex) || hex.length < MIN_ID_PREFIX || hex.length > ID_DIGITS) {
    throw new InvalidMessageIdError(`${name} must be ${ID_ACCEPTED}; got ${input}`)
  }
  const views = await candidates(messenger, handle)
  const matches = new Map<string, { view: MessageView, file?: number }>()
  for (const m of views) {
    if (m.id.startsWith(hex)) {
      matches.set(m.id, { view: m })
      continue
    }
    if (!attachments) continue
    for (const [file, a] of (m.attachments ?? []).entries()) {
      if (toHex(a.id).startsWith(hex)) matches.set(`${m.id}/${file}`, { view: m, file })
    }
  }
  if (hex.length === ID_DIGITS && matches.size === 0) return { id: fromHex(hex) }
  if (matches.size === 1) {
    const [{ view, file }] = matches.values()
    return { id: fromHex(view.id), view, ...(file != null ? { file } : {}) }
  }
  const where = handle != null ? `the conversation with ${handle}` : 'any conversation'
  if (matches.size === 0) throw new UnknownMessageError(`no message ${hex} in ${where} (ids are as history shows them)`)
  const listed = [...matches.keys()].slice(0, 5).map(id => id.slice(0, 12)).join(', ')
  throw new AmbiguousMessageIdError(`${input} matches ${matches.size} messages in ${where} (${listed}${matches.size > 5 ? ', …' : ''}): type more digits`)
}

async function candidates (messenger: Messenger, handle?: string): Promise<MessageView[]> {
  if (handle != null) return (await messenger.conversation(handle)).view.messages
  const out: MessageView[] = []
  for (const c of await messenger.contacts.list()) out.push(...(await messenger.history.view(fromHex(c.account))).messages)
  return out
}
