/**
 * The daemon's messaging methods on the local API: thin adapters that read
 * JSON params, call the peer (its messenger, and the views and actions of
 * src/peer shared with the web app), and return JSON. Input mistakes throw
 * TypeError with a message naming the parameter.
 */
import { toHex } from '../../src/messenger/bytes.js'
import { InvalidEmojiError, isRgiEmoji, validateReactionEmoji, validateText } from '../../src/messenger/model/index.js'
import { acceptContact, blockContact, contactsView, historyView, safetyNumberView, sendFiles, trustContact } from '../../src/peer/index.js'
import type { StarlingPeer } from '../../src/peer/index.js'
import type { ApiMethod } from '../api/server.js'
import type { FileBlobStore } from '../blob-store.js'
import { attachmentFile } from './attachment-files.js'
import { resolveMessageId } from './message-ids.js'
import { CommandError } from '../errors.js'
import { attachmentMethod } from './attachment-api.js'
import { weakBackupPassphrase } from '../backup-passphrase.js'

function str (params: Record<string, unknown>, name: string): string {
  const v = params[name]
  if (typeof v !== 'string' || v === '') throw new TypeError(`${name} is required`)
  return v
}

/**
 * A reaction as typed; a heart and the like typed without their variation
 * selector (U+FE0F, which keyboards and shells often drop) are refused with
 * the emoji they were meant to be.
 */
function reactionEmoji (emoji: unknown): string {
  try {
    return validateReactionEmoji(emoji)
  } catch (err) {
    if (err instanceof InvalidEmojiError && typeof emoji === 'string' && !emoji.includes('\uFE0F') && isRgiEmoji(emoji + '\uFE0F')) {
      throw new InvalidEmojiError(`${err.message}: did you mean ${emoji}\uFE0F (with U+FE0F, the emoji form)?`)
    }
    throw err
  }
}

/**
 * The methods, by name; `backup` writes an encrypted backup to a path
 * (with the files of attachments unless `files` is false);
 * `downloads` is the folder `attachment` saves into when given no other.
 */
export function messagingMethods (peer: StarlingPeer<FileBlobStore>, backup?: (path: string, passphrase: string, files: boolean) => Promise<unknown>, downloads?: string): Record<string, ApiMethod> {
  const { messenger } = peer
  /** A message id or unique prefix given as `name`, in the conversation with `handle` (any when undefined). */
  const messageId = async (params: Record<string, unknown>, name: string, handle?: string): Promise<Uint8Array> =>
    (await resolveMessageId(messenger, str(params, name), name, handle)).id
  /** Every result of a send says who sent it: a command without --data acts as the default profile. */
  const from = <T extends object>(result: T): T & { from: string } => ({ ...result, from: peer.whoami().handle })
  return {
    send: async (p) => {
      const handle = str(p, 'handle')
      // confirm: the user saw the name~tag and fingerprint a bare name resolves to (first contact).
      if (p.confirm === true) await messenger.open(handle, { confirm: true })
      const paths = Array.isArray(p.attachments) ? p.attachments.map(String) : []
      if (paths.length > 0) {
        const files = await Promise.all(paths.map(async path => attachmentFile(path)))
        const caption = typeof p.text === 'string' && p.text !== '' ? validateText(p.text) : undefined
        return from(await sendFiles(messenger, handle, files, caption))
      }
      const text = validateText(str(p, 'text'))
      if (p.replyTo != null) return from(await messenger.send(handle, { kind: 'reply', target: await messageId(p, 'replyTo', handle), text }))
      return from(await messenger.send(handle, { kind: 'text', text }))
    },
    react: async (p) => {
      const handle = str(p, 'handle')
      const emoji = reactionEmoji(p.emoji)
      const target = await resolveMessageId(messenger, str(p, 'id'), 'id', handle)
      const remove = p.remove === true
      if (remove && target.view != null) {
        const me = toHex(messenger.init.identity.accountPublicKey)
        const mine = target.view.reactions.some(r => r.emoji === emoji && r.by.includes(me))
        if (!mine) throw new CommandError(`you have no ${emoji} reaction on message ${target.view.id.slice(0, 8)}: nothing to take back`)
      }
      return from(await messenger.send(handle, { kind: 'reaction', target: target.id, emoji, action: remove ? 'remove' : 'add' }))
    },
    edit: async (p) => {
      const handle = str(p, 'handle')
      return from(await messenger.send(handle, { kind: 'edit', target: await messageId(p, 'id', handle), text: validateText(str(p, 'text')) }))
    },
    delete: async (p) => {
      const handle = str(p, 'handle')
      return from(await messenger.send(handle, { kind: 'delete', target: await messageId(p, 'id', handle) }))
    },
    resend: async (p) => from(await messenger.resend(await messageId(p, 'id'))),
    history: async (p) => await historyView(messenger, str(p, 'handle'), typeof p.limit === 'number' && p.limit > 0 ? p.limit : undefined),
    open: async (p) => messenger.open(str(p, 'handle'), { confirm: p.confirm === true }),
    read: async (p) => ({ marked: await messenger.markRead(str(p, 'handle')) }),
    typing: async (p) => {
      await messenger.typing(str(p, 'handle'), p.on !== false)
      return {}
    },
    trust: async (p) => await trustContact(messenger, str(p, 'handle')),
    'safety-number': async (p) => await safetyNumberView(messenger, peer.crypto, str(p, 'handle')),
    contacts: async () => await contactsView(messenger),
    accept: async (p) => await acceptContact(messenger, str(p, 'handle')),
    block: async (p) => await blockContact(messenger, str(p, 'handle')),
    outbox: async () => ({ pending: messenger.delivery.size }),
    export: async (p) => {
      if (backup == null) throw new TypeError('this daemon cannot export')
      const weak = weakBackupPassphrase(str(p, 'passphrase'))
      if (weak != null) throw new TypeError(weak)
      return from(await backup(str(p, 'path'), str(p, 'passphrase'), p.files !== false) as object)
    },
    attachment: async (p) => await attachmentMethod(peer, {
      id: str(p, 'id'),
      download: p.download === true,
      save: typeof p.save === 'string' ? p.save : undefined,
      saveTo: typeof p.saveTo === 'string' ? p.saveTo : undefined
    }, downloads)
  }
}
