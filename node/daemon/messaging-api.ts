/**
 * The daemon's messaging methods on the local API: each takes JSON params,
 * calls the messenger, and returns JSON. Input mistakes throw TypeError with
 * a message naming the parameter.
 */
import type { Messenger } from '../../src/messenger/messenger.js'
import { fromHex, toHex } from '../../src/messenger/bytes.js'
import { viewToJson } from '../../src/messenger/json.js'
import { validateReactionEmoji, validateText } from '../../src/messenger/model/index.js'
import { safetyNumber } from '../../src/crypto/safety-number.js'
import type { Crypto } from '../../src/crypto/index.js'
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

/** The methods, by name. */
export function messagingMethods (messenger: Messenger, crypto: Crypto, blobs?: FileBlobStore, backup?: (path: string, passphrase: string) => Promise<unknown>): Record<string, ApiMethod> {
  return {
    send: async (p) => {
      const handle = str(p, 'handle')
      // confirm: the user saw the name~tag and fingerprint a bare name resolves to (first contact).
      if (p.confirm === true) await messenger.open(handle, { confirm: true })
      const paths = Array.isArray(p.attachments) ? p.attachments.map(String) : []
      if (paths.length > 0) {
        if (messenger.attachments == null) throw new TypeError('this daemon does not handle attachments')
        const files = await Promise.all(paths.map(async path => attachmentFile(path)))
        const caption = typeof p.text === 'string' && p.text !== '' ? validateText(p.text) : undefined
        const results = []
        for (const [i, file] of files.entries()) results.push(await messenger.attachments.send(handle, file, i === 0 ? caption : undefined))
        return { ...results[0], ids: results.map(r => r.id) }
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
    history: async (p) => {
      const c = await messenger.conversation(str(p, 'handle'))
      const view = viewToJson(c.view) as { messages: Array<Record<string, unknown>>, waiting: string[] }
      const limit = typeof p.limit === 'number' && p.limit > 0 ? p.limit : undefined
      const messages = await Promise.all(view.messages.map(async m => {
        const attachment = m.attachment as { id: string } | undefined
        const state = attachment != null ? await messenger.attachments?.state(fromHex(attachment.id)) : undefined
        return { ...m, sendState: c.statuses[m.id as string]?.state, relays: c.statuses[m.id as string]?.relays, ...(state != null ? { attachmentState: state } : {}) }
      }))
      return { handle: c.handle, account: c.account, messages: limit != null ? messages.slice(-limit) : messages, waiting: view.waiting }
    },
    open: async (p) => messenger.open(str(p, 'handle'), { confirm: p.confirm === true }),
    read: async (p) => ({ marked: await messenger.markRead(str(p, 'handle')) }),
    typing: async (p) => {
      await messenger.typing(str(p, 'handle'), p.on !== false)
      return {}
    },
    trust: async (p) => {
      const c = await messenger.trust(str(p, 'handle'))
      return { handle: c.handle, account: c.account, devices: Object.keys(c.devices) }
    },
    'safety-number': async (p) => {
      const account = await messenger.accountOf(str(p, 'handle'))
      const fp = safetyNumber(crypto, messenger.init.identity.accountPublicKey, account)
      const contact = await messenger.contacts.get(account)
      return { handle: contact?.handle ?? p.handle, digits: fp.digits, qr: toHex(fp.scannable), keyChange: contact?.keyChange ?? null }
    },
    contacts: async () => (await messenger.contacts.list()).map(c => ({ handle: c.handle, state: c.state, keyChange: c.keyChange ?? null, devices: Object.keys(c.devices) })),
    accept: async (p) => {
      const c = await messenger.contacts.setState(await messenger.accountOf(str(p, 'handle')), 'accepted')
      if (c == null) throw new TypeError(`${String(p.handle)} is not a contact or request`)
      // Attachments it sent as a request were not kept: fetch them now.
      await messenger.attachments?.accepted(fromHex(c.account))
      return { handle: c.handle, state: c.state }
    },
    block: async (p) => {
      const c = await messenger.contacts.setState(await messenger.accountOf(str(p, 'handle')), 'blocked')
      if (c == null) throw new TypeError(`${String(p.handle)} is not a contact or request`)
      return { handle: c.handle, state: c.state }
    },
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
        if (!state.complete || blobs == null) throw new TypeError(`attachment ${toHex(id)} is not complete yet`)
        try {
          await blobs.saveTo(id, save)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new TypeError(`${save} already exists; refusing to overwrite it`, { cause: err })
          throw err
        }
      }
      // Encrypted at rest, the stored file is no file to open: `save` writes the plaintext out.
      const stored = state.complete && blobs != null && !blobs.encrypted ? blobs.completePath(id) : null
      return { ...state, path: save ?? stored, encrypted: blobs?.encrypted === true }
    }
  }
}
