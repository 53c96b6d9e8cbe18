/**
 * The daemon's messaging methods on the local API: thin adapters that read
 * JSON params, call the peer (its messenger, and the views and actions of
 * src/peer shared with the web app), and return JSON. Input mistakes throw
 * TypeError with a message naming the parameter.
 */
import { fromHex, toHex } from '../../src/messenger/bytes.js'
import { validateReactionEmoji, validateText } from '../../src/messenger/model/index.js'
import { acceptContact, blockContact, contactsView, historyView, safetyNumberView, sendFiles, trustContact } from '../../src/peer/index.js'
import type { StarlingPeer } from '../../src/peer/index.js'
import type { ApiMethod } from '../api/server.js'
import type { FileBlobStore } from '../blob-store.js'
import { attachmentFile } from './attachment-files.js'

function str (params: Record<string, unknown>, name: string): string {
  const v = params[name]
  if (typeof v !== 'string' || v === '') throw new TypeError(`${name} is required`)
  return v
}

function messageId (params: Record<string, unknown>, name: string): Uint8Array {
  const v = str(params, name)
  if (!/^[0-9a-f]{32}$/i.test(v)) throw new TypeError(`${name} must be a message id (32 hex digits), got ${v}`)
  return fromHex(v.toLowerCase())
}

/** The methods, by name; `backup` writes an encrypted backup to a path. */
export function messagingMethods (peer: StarlingPeer<FileBlobStore>, backup?: (path: string, passphrase: string) => Promise<unknown>): Record<string, ApiMethod> {
  const { messenger, blobs } = peer
  return {
    send: async (p) => {
      const handle = str(p, 'handle')
      // confirm: the user saw the name~tag and fingerprint a bare name resolves to (first contact).
      if (p.confirm === true) await messenger.open(handle, { confirm: true })
      const paths = Array.isArray(p.attachments) ? p.attachments.map(String) : []
      if (paths.length > 0) {
        const files = await Promise.all(paths.map(async path => attachmentFile(path)))
        const caption = typeof p.text === 'string' && p.text !== '' ? validateText(p.text) : undefined
        return await sendFiles(messenger, handle, files, caption)
      }
      const text = validateText(str(p, 'text'))
      if (p.replyTo != null) return messenger.send(handle, { kind: 'reply', target: messageId(p, 'replyTo'), text })
      return messenger.send(handle, { kind: 'text', text })
    },
    react: async (p) => messenger.send(str(p, 'handle'), {
      kind: 'reaction',
      target: messageId(p, 'id'),
      emoji: validateReactionEmoji(p.emoji),
      action: p.remove === true ? 'remove' : 'add'
    }),
    edit: async (p) => messenger.send(str(p, 'handle'), { kind: 'edit', target: messageId(p, 'id'), text: validateText(str(p, 'text')) }),
    delete: async (p) => messenger.send(str(p, 'handle'), { kind: 'delete', target: messageId(p, 'id') }),
    resend: async (p) => messenger.resend(messageId(p, 'id')),
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
      return backup(str(p, 'path'), str(p, 'passphrase'))
    },
    attachment: async (p) => {
      const id = messageId(p, 'id')
      const state = p.download === true ? await messenger.attachments?.download(id) : await messenger.attachments?.state(id)
      if (state == null) throw new TypeError(`no attachment ${toHex(id)}`)
      const save = typeof p.save === 'string' && p.save !== '' ? p.save : undefined
      if (save != null) {
        if (!state.complete) throw new TypeError(`attachment ${toHex(id)} is not complete yet`)
        try {
          await blobs.saveTo(id, save)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new TypeError(`${save} already exists; refusing to overwrite it`, { cause: err })
          throw err
        }
      }
      // Encrypted at rest, the stored file is no file to open: `save` writes the plaintext out.
      const stored = state.complete && !blobs.encrypted ? blobs.completePath(id) : null
      return { ...state, path: save ?? stored, encrypted: blobs.encrypted }
    }
  }
}
